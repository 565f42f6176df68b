import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { redirectTo, render, type View } from "../render.tsx";
import { jsonBodyGuard, validForm, validJson, type FormProblem } from "../form.ts";
import { codeSchema } from "../fields.ts";
import { writeCookie, clearCookie } from "../cookies.ts";
import { answer, flowToken, requestMeta, showAgain, type C, type StepPages } from "../steps.tsx";
import type { StepError } from "../../../templates/phone-factor.tsx";
import {
  confirmSetupRecoveryCodes,
  finishPasskeySetup,
  generateRecoveryCodes,
  showAccountFactors,
  showAppSetup,
  showSetupRecoveryCodes,
  startAppSetup,
  startPasskeySetup,
  verifyAppSetup,
  type AccountFactorsView,
} from "../../flows/account-factors.ts";
import type { RegistrationResponseJSON } from "../../flows/factors/passkey.ts";
import type { User } from "../../auth/users.ts";
import { AccountFactors } from "../../../templates/account-factors/index.tsx";
import { AppSetup } from "../../../templates/authenticator-app.tsx";
import { RecoveryCodesStep } from "../../../templates/recovery-codes.tsx";

/**
 * The account page's stronger factors, mounted at /account/factors (a signed-in session only):
 * the list, Add an authenticator app, Add a passkey (JSON for static/passkey.js), Generate new
 * recovery codes. The account page's re-authentication (Confirm it's you) goes in front of every
 * POST here when the account area is merged: `requireRecentAuth` below is that seam.
 */

const STATUSES: Record<string, string> = { "1": "The sign-in method was added.", saved: "Your new recovery codes are saved." };

function factorsView(_deps: AppDeps, view: AccountFactorsView, error?: StepError): View {
  switch (view.page) {
    case "list":
      return { title: "Sign-in methods", passkeys: true, body: <AccountFactors factors={view.factors} recoveryLeft={view.recoveryLeft} error={error?.message} /> };
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

async function showList(c: C, deps: AppDeps): Promise<Response> {
  const view = await showAccountFactors(deps, me(c));
  const status = STATUSES[c.req.query("added") ?? ""] ?? STATUSES[c.req.query("saved") ? "saved" : ""];
  return render(c, deps, { title: "Sign-in methods", passkeys: true, body: <AccountFactors factors={view.page === "list" ? view.factors : []} recoveryLeft={view.page === "list" ? view.recoveryLeft : 0} status={status} /> });
}

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

export function accountFactorsRoutes(deps: AppDeps, requireRecentAuth: (c: C, next: () => Promise<void>) => Promise<Response | void> = async (_c, next) => next()) {
  const app = new Hono<AppEnv>();
  const meta = (c: C) => requestMeta(c, deps);
  const token = (c: C) => flowToken(c, deps);

  // Signed in only: someone else is sent to sign in and brought back here.
  app.use("*", async (c, next) => {
    if (!c.get("user")) return redirectTo(c, `/login?rd=${encodeURIComponent(c.req.path)}`);
    await next();
  });
  app.post("*", requireRecentAuth);

  app.get("/", (c) => showList(c, deps));
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
  return app;
}
