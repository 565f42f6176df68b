/**
 * npm run application -- add --name NAME --redirect-uri URI [--redirect-uri URI…]
 *                            [--post-logout-redirect-uri URI…] [--backchannel-logout-uri URI]
 *                            [--public]                                        (an OIDC client)
 * npm run application -- add --name NAME --forward-auth-url URL [--group GROUP] (an app behind a proxy)
 * npm run application -- list
 * npm run application -- remove CLIENT_ID|ID
 * npm run application -- rotate-secret CLIENT_ID
 * npm run application -- rotate-keys
 *
 * The result is the LAST line, as JSON: {"client_id","client_secret"} (no secret for --public),
 * {"id"} for a forward-auth application, the list as an array, {"kid","retired"} for rotate-keys.
 * Works with a real Postgres and the embedded one, whether or not the server runs (like invite).
 * Exit status 1 with a one-line reason for bad input.
 */
import { loadConfigOrFail, readArguments } from "./args.ts";
import { openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";
import { systemClock } from "../clock.ts";
import {
  createForwardAuthApplication,
  createOidcApplication,
  listApplications,
  removeApplication,
  rotateClientSecret,
  type Application,
} from "../apps/registry.ts";
import { rotateSigningKeys, loadSigningKeys, RETIRED_KEY_KEEP_MS } from "../apps/keys.ts";
import { describeDuration } from "../delivery/messages.ts";

const USAGE = `Usage:
  npm run application -- add --name NAME --redirect-uri URI [--redirect-uri URI...] [--post-logout-redirect-uri URI] [--backchannel-logout-uri URI] [--public]
  npm run application -- add --name NAME --forward-auth-url URL [--group GROUP]
  npm run application -- list
  npm run application -- remove CLIENT_ID|ID
  npm run application -- rotate-secret CLIENT_ID
  npm run application -- rotate-keys`;

class UsageError extends Error {}

function describe(app: Application): string {
  if (app.kind === "oidc") {
    const backchannel = app.backchannelLogoutUri ? `, back-channel logout ${app.backchannelLogoutUri}` : "";
    return `${app.name}: OIDC client ${app.clientId} (${app.confidential ? "confidential" : "public"}), redirect URIs ${app.redirectUris.join(" ")}${backchannel}`;
  }
  return `${app.name}: forward-auth ${app.forwardAuthUrl}${app.allowedGroup ? ` (group ${app.allowedGroup})` : " (everyone signed in)"}, id ${app.id}`;
}

function publicView(app: Application) {
  return {
    id: app.id,
    name: app.name,
    kind: app.kind,
    ...(app.kind === "oidc"
      ? {
          client_id: app.clientId,
          public: !app.confidential,
          redirect_uris: app.redirectUris,
          post_logout_redirect_uris: app.postLogoutRedirectUris,
          backchannel_logout_uri: app.backchannelLogoutUri,
        }
      : { forward_auth_url: app.forwardAuthUrl, group: app.allowedGroup }),
  };
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === "--help" || command === "-h") {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  const { values, positionals } = readArguments(
    USAGE,
    {
      name: { type: "string" },
      "redirect-uri": { type: "string", multiple: true },
      "post-logout-redirect-uri": { type: "string", multiple: true },
      "backchannel-logout-uri": { type: "string" },
      public: { type: "boolean", default: false },
      "forward-auth-url": { type: "string" },
      group: { type: "string" },
    },
    { args: rest, positionals: true },
  );
  const config = loadConfigOrFail();
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(db.sql);
    switch (command) {
      case "add": {
        if (!values.name) throw new UsageError("--name is required.");
        const redirects = values["redirect-uri"] ?? [];
        const forward = values["forward-auth-url"];
        if (forward && redirects.length) throw new UsageError("Give either --redirect-uri (an OIDC client) or --forward-auth-url (an app behind a proxy), not both.");
        if (forward) {
          if (values.public || values["post-logout-redirect-uri"] || values["backchannel-logout-uri"] !== undefined) {
            throw new UsageError("--public, --post-logout-redirect-uri and --backchannel-logout-uri are for OIDC clients.");
          }
          const result = await createForwardAuthApplication(db.sql, { name: values.name, url: forward, group: values.group });
          if (!result.ok) return refuse(result.reason);
          console.log(`Added ${describe(result.value)}.`);
          console.log(JSON.stringify({ id: result.value.id }));
          return 0;
        }
        if (!redirects.length) throw new UsageError("Give --redirect-uri (an OIDC client) or --forward-auth-url (an app behind a proxy).");
        if (values.group) throw new UsageError("--group is for forward-auth applications.");
        const result = await createOidcApplication(db.sql, {
          name: values.name,
          redirectUris: redirects,
          postLogoutRedirectUris: values["post-logout-redirect-uri"],
          backchannelLogoutUri: values["backchannel-logout-uri"],
          public: values.public,
        });
        if (!result.ok) return refuse(result.reason);
        console.log(`Added ${describe(result.value.application)}.`);
        console.log(`Issuer: ${config.publicUrl} (discovery at ${config.publicUrl}/.well-known/openid-configuration).`);
        if (result.value.clientSecret) console.log("The client secret is shown this once; the portal keeps only its hash.");
        console.log(JSON.stringify(result.value.clientSecret ? { client_id: result.value.clientId, client_secret: result.value.clientSecret } : { client_id: result.value.clientId }));
        return 0;
      }
      case "list": {
        const apps = await listApplications(db.sql);
        if (!apps.length) console.log("No applications registered.");
        for (const app of apps) console.log(describe(app));
        console.log(JSON.stringify(apps.map(publicView)));
        return 0;
      }
      case "remove": {
        const target = positionals[0];
        if (!target || positionals.length > 1) throw new UsageError("Name one application: remove CLIENT_ID|ID.");
        const removed = await removeApplication(db.sql, target);
        if (!removed) return refuse(`No application ${target}.`);
        console.log(`Removed ${describe(removed)}; what it was issued no longer works.`);
        console.log(JSON.stringify({ removed: removed.clientId ?? removed.id }));
        return 0;
      }
      case "rotate-secret": {
        const target = positionals[0];
        if (!target || positionals.length > 1) throw new UsageError("Name one client: rotate-secret CLIENT_ID.");
        const result = await rotateClientSecret(db.sql, target, systemClock.now());
        if (!result.ok) {
          return refuse(
            { not_found: `No application ${target}.`, public_client: `${target} is a public client: it has no secret.`, forward_auth: `${target} is a forward-auth application: it has no secret.` }[result.reason],
          );
        }
        console.log("New client secret, shown this once; the old one stopped working.");
        console.log(JSON.stringify({ client_id: result.clientId, client_secret: result.clientSecret }));
        return 0;
      }
      case "rotate-keys": {
        if (positionals.length) throw new UsageError("rotate-keys takes no arguments.");
        await loadSigningKeys(db.sql, config.secretKey, systemClock); // a first key, if there is none yet
        const result = await rotateSigningKeys(db.sql, config.secretKey, systemClock);
        console.log(
          `New signing key ${result.kid}; running servers sign with it within a minute. ` +
            `Retired keys stay published for ${describeDuration(RETIRED_KEY_KEEP_MS)} so tokens they signed still verify.`,
        );
        console.log(JSON.stringify(result));
        return 0;
      }
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } finally {
    await db.close();
  }
}

function refuse(reason: string): number {
  console.error(reason);
  return 1;
}

try {
  process.exit(await main());
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(1);
  }
  throw error;
}
