/**
 * Applications behind the portal, in Chromium with JavaScript on and off (issue 12's "Must show"):
 * - a real nginx (Debian's package, unprivileged, own prefix, free port) running the README's
 *   auth_request snippet in front of a small upstream app: signed out → the portal's sign-in
 *   (Login with Email: credentials, the emailed code) → back at the app with Remote-User set;
 *   a person outside the application's group → 403 from nginx;
 * - a small OpenID Connect relying party on openid-client v6 (code + PKCE) whose sign-in goes
 *   through the portal's pages; its ID token's amr holds pwd, mfa and email.
 * Both applications are registered with `npm run application -- add` against the e2e app's database.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import * as client from "openid-client";
import { e2e, e2eSuite, path } from "./support/e2e.ts";
import { ROOT, type RunningApp } from "./support/app.ts";
import { registeredByEmail, type Person } from "./support/steps.ts";
import type { Journey } from "./support/journey.ts";
import { freePort, startNginx, type RunningNginx } from "../support/nginx.ts";

const s = e2eSuite("e2e: applications behind the portal");

const escape = (text: string) => text.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A small accessible page, so the application's own pages pass the same axe and reflow checks. */
function page(res: ServerResponse, title: string, body: string, status = 200) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`);
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number): Promise<Server> {
  const server = createServer((req, res) =>
    Promise.resolve(handler(req, res)).catch((error) => {
      console.error("applications-flow test app:", error);
      if (!res.headersSent) page(res, "Test app error", `<p>${escape(String(error))}</p>`, 500);
    }),
  );
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

/** `npm run application -- …` against the running app's database; its last line is JSON. */
function application(app: RunningApp, args: string[]): Promise<Record<string, string>> {
  return new Promise((done, fail) => {
    const child = spawn("npm", ["run", "--silent", "application", "--", ...args], { cwd: ROOT, env: app.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("close", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        done(JSON.parse(last));
      } catch (error) {
        fail(new Error(`npm run application -- ${args.join(" ")} failed (${String(error)}):\n${out}\n${err}`));
      }
    });
  });
}

/** The nginx block from the README, between its marker and the end of the code fence. */
function readmeSnippet(): string {
  const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("<!-- nginx-snippet -->");
  const fence = readme.indexOf("```nginx\n", start) + "```nginx\n".length;
  const snippet = readme.slice(fence, readme.indexOf("```", fence));
  if (!snippet.includes("127.0.0.1:3000") || !snippet.includes("127.0.0.1:8080")) throw new Error("the README's nginx snippet no longer names 127.0.0.1:3000 and 127.0.0.1:8080");
  return snippet;
}

const amrOf = (idToken: client.IDToken): string[] => (Array.isArray(idToken.amr) ? idToken.amr.map(String) : []);

interface Fixtures {
  nginx: RunningNginx;
  rpUrl: string;
  /** The ID token claims of each completed relying-party sign-in, by the email in them. */
  claims: Map<string, client.IDToken>;
  servers: Server[];
}

let fixtures: Promise<Fixtures> | null = null;

function setUp(): Promise<Fixtures> {
  fixtures ??= (async () => {
    const { app } = await e2e();
    const servers: Server[] = [];
    // The upstream app behind nginx shows who nginx says is signed in.
    const upstreamPort = await freePort();
    servers.push(
      await listen((req, res) => {
        const user = String(req.headers["remote-user"] ?? "");
        page(res, "Clinic app", `<p>Signed in as <output name="remote-user">${escape(user)}</output></p><p>Groups: <output name="remote-groups">${escape(String(req.headers["remote-groups"] ?? ""))}</output></p><p>Path: ${escape(req.url ?? "")}</p>`);
      }, upstreamPort),
    );
    const portal = new URL(app.url).host;
    const snippet = readmeSnippet();
    const nginx = await startNginx(() => snippet.replaceAll("127.0.0.1:3000", portal).replaceAll("127.0.0.1:8080", `127.0.0.1:${upstreamPort}`));
    await application(app, ["add", "--name", "Clinic app", "--forward-auth-url", `${nginx.url}/`]);
    await application(app, ["add", "--name", "Reports", "--forward-auth-url", `${nginx.url}/reports/`, "--group", "admin"]);

    // The relying party: its own port, registered as a confidential client.
    const rpPort = await freePort();
    const rpUrl = `http://127.0.0.1:${rpPort}`;
    const redirectUri = `${rpUrl}/callback`;
    const created = await application(app, ["add", "--name", "Demo", "--redirect-uri", redirectUri]);
    if (!created.client_id || !created.client_secret) throw new Error(`application add printed ${JSON.stringify(created)}`);
    const config = await client.discovery(new URL(app.url), created.client_id, created.client_secret, undefined, { execute: [client.allowInsecureRequests] });
    const pending = new Map<string, string>(); // state → PKCE verifier
    const claims = new Map<string, client.IDToken>();
    servers.push(
      await listen(async (req, res) => {
        const url = new URL(req.url ?? "/", rpUrl);
        if (url.pathname === "/") return page(res, "Demo", `<p><a href="/signin">Sign in with the portal</a></p>`);
        if (url.pathname === "/signin") {
          const verifier = client.randomPKCECodeVerifier();
          const state = client.randomState();
          pending.set(state, verifier);
          const to = client.buildAuthorizationUrl(config, {
            redirect_uri: redirectUri,
            scope: "openid email profile",
            code_challenge: await client.calculatePKCECodeChallenge(verifier),
            code_challenge_method: "S256",
            state,
          });
          res.writeHead(302, { location: to.href }).end();
          return;
        }
        if (url.pathname === "/callback") {
          const state = url.searchParams.get("state") ?? "";
          const verifier = pending.get(state);
          if (!verifier) return page(res, "Unknown sign-in", "<p>No sign-in was started with this state.</p>", 400);
          pending.delete(state);
          const tokens = await client.authorizationCodeGrant(config, url, { pkceCodeVerifier: verifier, expectedState: state });
          const idToken = tokens.claims()!;
          const info = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
          claims.set(String(info.email).toLowerCase(), idToken);
          return page(res, "Signed in to Demo", `<p>Email: <output name="email">${escape(String(info.email))}</output></p><p>amr: <output name="amr">${escape(amrOf(idToken).join(" "))}</output></p>`);
        }
        page(res, "Not found", "<p>No such page.</p>", 404);
      }, rpPort),
    );
    return { nginx, rpUrl, claims, servers };
  })();
  return fixtures;
}

s.after(async () => {
  if (!fixtures) return;
  const f = await fixtures.catch(() => null);
  if (!f) return;
  await f.nginx.stop();
  for (const server of f.servers) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

/** At the sign-in page the application sent the browser to: Login with Email to the end. */
async function signInByEmail(j: Journey, person: Person, done: ReturnType<Journey["heading"]>) {
  await j.press("Login with Email", "Login with Email: credentials", j.field("Password"));
  await j.fill("Email Address", person.email);
  await j.fill("Password", person.password!);
  await j.press("Sign in", "password accepted", j.button("Send Verification Code"));
  await j.press("Send Verification Code", "email code sent", j.field("Verification Code"));
  await j.fill("Verification Code", await person.inbox.code("email"));
  await j.press("Verify Code", "email verified", j.button("Continue"));
  // The portal hands the browser back (the continue page's refresh goes on to the application).
  await j.press("Continue", "signed in: back at the application", done);
}

path(s, "nginx auth_request: signed out → the portal's sign-in → the app with Remote-User; outside the group → 403", async (j) => {
  const { nginx } = await setUp();
  const person = await registeredByEmail(j, { tag: "nginx" });
  const original = `${nginx.url}/charts/7?tab=notes`;
  await j.goto(original, "signed out: nginx sends the browser to the portal's sign-in", j.button("Login with Email"));
  const at = new URL(j.url);
  if (at.origin !== j.env.app.url || at.pathname !== "/login" || at.searchParams.get("rd") !== original) throw new Error(`nginx sent the browser to ${j.url}, not the portal's /login?rd=${original}`);
  await signInByEmail(j, person, j.heading("Clinic app"));
  if (j.url !== original) throw new Error(`after the sign-in the browser is at ${j.url}, not back at ${original}`);
  const user = await j.page.locator('output[name="remote-user"]').textContent();
  if (user?.toLowerCase() !== person.email.toLowerCase()) throw new Error(`the app saw Remote-User "${user}", not ${person.email}`);

  // Reports is for the admin group only: nginx answers 403 and the app is never asked.
  const denied = await j.page.goto(`${nginx.url}/reports/q3`, { waitUntil: "load" });
  if (denied?.status() !== 403) throw new Error(`a person outside Reports' group got ${denied?.status()} from nginx, not 403`);
  if ((await j.page.locator('output[name="remote-user"]').count()) > 0) throw new Error("the app behind nginx answered a person outside its group");
});

path(s, "OpenID Connect relying party (openid-client, code + PKCE) signs in through the portal's pages", async (j) => {
  const { rpUrl, claims } = await setUp();
  const person = await registeredByEmail(j, { tag: "oidc" });
  await j.goto(rpUrl, "the relying party", j.link("Sign in with the portal"));
  await j.follow("Sign in with the portal", "the portal's sign-in for the relying party", j.button("Login with Email"));
  const at = new URL(j.url);
  if (at.origin !== j.env.app.url || at.pathname !== "/login" || !/^\/interaction\/[^/]+\/signed-in$/.test(at.searchParams.get("rd") ?? "")) {
    throw new Error(`the authorization request led to ${j.url}, not the portal's /login?rd=/interaction/…/signed-in`);
  }
  await signInByEmail(j, person, j.heading("Signed in to Demo"));
  if (!j.url.startsWith(`${rpUrl}/callback`)) throw new Error(`the sign-in ended at ${j.url}, not the relying party's callback`);
  const idToken = claims.get(person.email.toLowerCase());
  if (!idToken) throw new Error(`the relying party holds no ID token for ${person.email}`);
  for (const method of ["pwd", "mfa", "email"]) {
    if (!amrOf(idToken).includes(method)) throw new Error(`the ID token's amr is ${JSON.stringify(idToken.amr)}: no "${method}"`);
  }
  const shown = await j.page.locator('output[name="email"]').textContent();
  if (shown?.toLowerCase() !== person.email.toLowerCase()) throw new Error(`userinfo gave the relying party "${shown}", not ${person.email}`);
});

s.run();
