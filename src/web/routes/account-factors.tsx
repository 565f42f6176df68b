import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { redirectTo, type View } from "../render.tsx";
import { jsonBodyGuard, validForm, validJson, type FormProblem } from "../form.ts";
import { codeSchema } from "../fields.ts";
import { writeCookie, clearCookie } from "../cookies.ts";
import { answer, flowToken, requestMeta, showAgain, type C, type StepPages } from "../steps.tsx";
import type { StepError } from "../../../templates/phone-factor.tsx";
import {
  confirmSetupRecoveryCodes,
  finishPasskeySetup,
  generateRecoveryCodes,
  removeFactor,
  showAppSetup,
  showRemoval,
  showSetupRecoveryCodes,
  startAppSetup,
  startPasskeySetup,
  verifyAppSetup,
  SIGN_IN_METHODS,
  type AccountFactorsView,
} from "../../flows/account-factors.ts";
import type { RegistrationResponseJSON } from "../../flows/factors/passkey.ts";
import type { User } from "../../auth/users.ts";
import { RemoveFactorPage, SignInMethodsPage } from "../../../templates/account/sign-in-methods.tsx";
import { AppSetup } from "../../../templates/authenticator-app.tsx";
import { RecoveryCodesStep } from "../../../templates/recovery-codes.tsx";

/**
 * The steps of the account page's Sign-in methods section, mounted at /account/factors (a
 * signed-in session only): Add an authenticator app, Add a passkey (JSON for static/passkey.js),
 * Generate new recovery codes, Remove (a page of its own, then the POST). The list is the account
 * page's section (GET /account/factors goes there). The account page's Confirm it's you guards
 * every POST here: `requireRecentAuth`, given by src/app.tsx (account.tsx's factorChangeGuard).
 */

function factorsView(_deps: AppDeps, view: AccountFactorsView, error?: StepError): View {
  switch (view.page) {
    case "list":
      return { title: "Sign-in methods", passkeys: true, body: <SignInMethodsPage factors={view.factors} recoveryLeft={view.recoveryLeft} email={view.email} error={error?.message} /> };
    case "remove":
      return {
        title: view.factor ? (view.factor.kind === "totp" ? "Remove the authenticator app?" : "Remove the passkey?") : "Sign-in method not found",
        body: <RemoveFactorPage factor={view.factor} last={view.last} error={error?.message} />,
      };
    case "app":
      return {
        title: "Set up an authenticator app",
        body: <AppSetup action="/account/factors/app/verify" secret={view.secret} qrSvg={view.qrSvg} error={error?.field === "code" ? error.message : undefined} problem={error?.message} />,
      };
    case "recovery":
      return { title: "Save your recovery codes", body: <RecoveryCodesStep action="/account/factors/recovery-codes" codes={view.codes} error={error?.message} /> };
  }
}

const PAGES: StepPages<AccountFactorsView> = { start: "/account/factors", view: factorsView };

const savedSchema = z.object({ saved: z.string().max(10).optional().catch(undefined) });
const passkeyStartSchema = z.object({ name: z.string().trim().max(60, "Name the passkey in at most 60 characters.").default("") });
const b64url = z.string().max(16384).regex(/^[A-Za-z0-9_-]*={0,2}$/);
const registrationSchema = z.object({
  id: b64url,
  rawId: b64url,
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    transports: z.array(z.string().max(32)).max(10).optional(),
    authenticatorData: b64url.optional(),
    publicKey: b64url.optional(),
    publicKeyAlgorithm: z.number().int().optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
});

const JSON_REFUSED = "The passkey answer could not be read. Try again.";
const jsonBody = (c: C, next: () => Promise<void>) => jsonBodyGuard(c, next, JSON_REFUSED);

/** The signed-in person (the area's guard ran first). */
const me = (c: C): User => c.get("user")!;

async function postPasskeyOptions(c: C, deps: AppDeps, form: z.output<typeof passkeyStartSchema>): Promise<Response> {
  const started = await startPasskeySetup(deps, requestMeta(c, deps), me(c), form.name);
  writeCookie(c, deps.config, "flow", started.token);
  return c.json({ options: started.options });
}

async function postPasskeyVerify(c: C, deps: AppDeps, response: z.output<typeof registrationSchema>): Promise<Response> {
  const result = await finishPasskeySetup(deps, requestMeta(c, deps), flowToken(c, deps), me(c), response as RegistrationResponseJSON);
  if (result.kind === "next") {
    if (result.token === null) clearCookie(c, deps.config, "flow");
    return c.json({ redirect: result.path });
  }
  if (result.kind === "error") return c.json({ message: result.message }, result.status);
  return c.json({ message: "Adding the passkey took too long or was interrupted. Select Add a passkey to try again." }, 409);
}

/** Confirm it's you before a change (required: without it a stale session could change its factors). */
export type RecentAuthGuard = (c: C, next: () => Promise<void>) => Promise<Response | void>;

export function accountFactorsRoutes(deps: AppDeps, requireRecentAuth: RecentAuthGuard) {
  const app = new Hono<AppEnv>();
  const meta = (c: C) => requestMeta(c, deps);
  const token = (c: C) => flowToken(c, deps);

  // Signed in only: someone else is sent to sign in and brought back here.
  app.use("*", async (c, next) => {
    if (!c.get("user")) return redirectTo(c, `/login?rd=${encodeURIComponent(c.req.path)}`);
    await next();
  });
  app.post("*", requireRecentAuth);

  // One list, the account page's: this address (the old one of the list) goes there.
  app.get("/", (c) => redirectTo(c, SIGN_IN_METHODS));
  app.post("/app", async (c) => answer(c, deps, PAGES, await startAppSetup(deps, meta(c), me(c))));
  app.get("/app", async (c) => answer(c, deps, PAGES, await showAppSetup(deps, token(c), me(c))));
  app.post(
    "/app/verify",
    validForm(codeSchema, async (c: C, problem: FormProblem) => showAgain(c, deps, PAGES, await showAppSetup(deps, token(c), me(c)), problem)),
    async (c) => answer(c, deps, PAGES, await verifyAppSetup(deps, meta(c), token(c), me(c), c.req.valid("form").code)),
  );
  app.post("/passkey/options", jsonBody, validJson(passkeyStartSchema, JSON_REFUSED), (c) => postPasskeyOptions(c, deps, c.req.valid("json")));
  app.post("/passkey/verify", jsonBody, validJson(registrationSchema, JSON_REFUSED), (c) => postPasskeyVerify(c, deps, c.req.valid("json")));
  app.post("/recovery-codes/new", async (c) => answer(c, deps, PAGES, await generateRecoveryCodes(deps, meta(c), me(c))));
  app.get("/recovery-codes", async (c) => answer(c, deps, PAGES, await showSetupRecoveryCodes(deps, token(c), me(c))));
  app.post(
    "/recovery-codes",
    validForm(savedSchema, async (c: C, problem: FormProblem) => showAgain(c, deps, PAGES, await showSetupRecoveryCodes(deps, token(c), me(c)), problem)),
    async (c) => answer(c, deps, PAGES, await confirmSetupRecoveryCodes(deps, meta(c), token(c), me(c), c.req.valid("form").saved === "on")),
  );
  app.get("/:factor/remove", async (c) => answer(c, deps, PAGES, await showRemoval(deps, me(c), c.req.param("factor"))));
  app.post("/:factor/remove", async (c) => answer(c, deps, PAGES, await removeFactor(deps, meta(c), me(c), c.req.param("factor"))));
  return app;
}
