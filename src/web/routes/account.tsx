import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { redirectTo, render, type View } from "../render.tsx";
import { jsonBodyGuard, validForm, validJson, type FormProblem } from "../form.ts";
import { answer, flowToken, requestMeta, showAgain, type C, type StepExtra, type StepPages } from "../steps.tsx";
import { authenticationSchema, codeSchema, pollSchema, wrongShown } from "../fields.ts";
import {
  changePassword,
  checkConfirmationApp,
  checkConfirmationCall,
  checkConfirmationCode,
  checkConfirmationPasskey,
  checkConfirmationRecovery,
  checkPhoneChangeCall,
  checkPhoneChangeCode,
  endSessions,
  guardFactorChange,
  loadAccountOverview,
  openChange,
  resendPhoneChange,
  sendConfirmation,
  showConfirmStep,
  showPhoneProof,
  startConfirmationPasskey,
  startPhoneChange,
  type AccountResult,
  type AccountState,
  type AccountView,
  type ConfirmFor,
  type FactorChange,
  type PasskeyConfirmResult,
  type Signed,
  accountStepPath,
} from "../../flows/account.ts";
import { clearCookie, writeCookie } from "../cookies.ts";
import type { AuthenticationResponseJSON } from "../../flows/factors/passkey.ts";
import { recoverySchema } from "../fields.ts";
import type { RecentAuthGuard } from "./account-factors.tsx";
import { AccountPage, ChangePasswordPage, ChangePhonePage, ConfirmPage, DONE_MESSAGES, PhoneProofPage, type DoneMessage } from "../../../templates/account/pages.tsx";
import type { StepError } from "../../../templates/phone-factor.tsx";

/** The account page (product.md §8), mounted at /account: only for someone signed in. */

const passwordSchema = z.object({
  current: z.string({ message: "Enter your current password." }).min(1, "Enter your current password.").max(4096, "The password is too long."),
  password: z.string({ message: "Enter a new password." }).min(1, "Enter a new password.").max(4096, "Use at most 256 characters."),
  confirm: z.string({ message: "Type the new password again." }).min(1, "Type the new password again.").max(4096, "Use at most 256 characters."),
});

const phoneSchema = z.object({
  phone: z.string({ message: "Enter your new phone number." }).max(40, "Enter a 10-digit US phone number, such as (202) 555-0143."),
  channel: z.enum(["sms", "voice"], { message: "Choose Send Code or Call Me." }),
});

const sessionSchema = z.object({
  session: z
    .string({ message: "Choose a session to sign out." })
    .min(1, "Choose a session to sign out.")
    .max(100, "That session has already ended.")
    .refine((id) => id !== "others", "That session has already ended."),
});

function isDone(code: string | undefined): code is DoneMessage {
  return !!code && Object.hasOwn(DONE_MESSAGES, code);
}

/** The change a Confirm it's you page was opened for (?for=), before its flow exists. */
function confirmFor(c: C): ConfirmFor | undefined {
  const change = c.req.query("for");
  return change === "password" || change === "phone" || change === "factors" ? change : undefined;
}

function signed(c: C): Signed {
  return { user: c.get("user")!, session: c.get("session")! };
}

function stepView(_deps: AppDeps, view: AccountView, error?: StepError, extra: StepExtra = {}): View {
  switch (view.page) {
    case "password":
      return { title: "Change password", body: <ChangePasswordPage error={error} /> };
    case "phone":
      return { title: "Change phone number", body: <ChangePhonePage phone={view.phone} error={error} /> };
    case "confirm":
      // Confirm with a passkey (static/passkey.js) when the person has one.
      return { title: "Confirm it's you", passkeys: view.passkey, body: <ConfirmPage view={view} error={error} notYet={extra.notYet} wrongTries={extra.wrongTries} /> };
    case "phone_proof":
      return { title: view.state === "phone_call" ? "Answer the call" : "Enter the verification code", body: <PhoneProofPage view={view} error={error} notYet={extra.notYet} wrongTries={extra.wrongTries} /> };
    case "overview":
      // Drawn by showOverview, which loads what the page lists; respond() sends such results there.
      throw new Error("the account overview is drawn by showOverview");
  }
}

const PAGES: StepPages<AccountView> = {
  start: "/account",
  view: stepView,
  // The flow keeps the keypad code, so a Continue that finds the call pending answers with a 303 to the call page (post/redirect/get).
  waitingPath: (view) =>
    view.page === "confirm" && view.state === "confirm_call" ? accountStepPath("confirm_call") : view.page === "phone_proof" && view.state === "phone_call" ? accountStepPath("phone_call") : null,
};

async function showOverview(c: C, deps: AppDeps, options: { error?: string; status?: View["status"] } = {}): Promise<Response> {
  const overview = await loadAccountOverview(deps, signed(c));
  const done = c.req.query("done");
  const error = options.error ?? (c.req.query("expired") === "1" ? "That step was not finished in time, or it was interrupted. Start again." : undefined);
  return render(c, deps, {
    title: "Account",
    // The Sign-in methods section's Add a passkey (static/passkey.js).
    passkeys: true,
    status: options.status,
    body: <AccountPage overview={overview} done={!options.error && isDone(done) ? done : undefined} error={error} />,
  });
}

/** The flow's result as the answer; a refusal about the overview (a session that already ended) is the overview again. */
async function respond(c: C, deps: AppDeps, result: AccountResult, extra: { poll?: boolean; wrongShown?: number } = {}): Promise<Response> {
  if (result.kind === "error" && result.view.page === "overview") return showOverview(c, deps, { error: result.message, status: result.status });
  return answer(c, deps, PAGES, result, extra);
}

/** A form that did not pass: the step again with its message (the password and phone pages have nothing to load). */
async function again(c: C, deps: AppDeps, shown: AccountResult | AccountView, problem: FormProblem): Promise<Response> {
  const result: AccountResult = "kind" in shown ? shown : { kind: "show", view: shown };
  if (result.kind === "show" && result.view.page === "overview") {
    return showOverview(c, deps, { error: Object.values(problem.errors)[0] ?? "Check the form and try again.", status: 400 });
  }
  return showAgain(c, deps, PAGES, result, problem);
}

/** Which change of the Sign-in methods section a POST under /account/factors is, to come back to after Confirm it's you. */
function factorChangeOf(path: string): FactorChange {
  const rest = path.replace(/^\/account\/factors/, "");
  if (rest === "/app") return { do: "app" };
  if (rest === "/recovery-codes/new") return { do: "recovery" };
  if (rest.startsWith("/passkey/")) return { do: "passkey" };
  const remove = /^\/([0-9a-f-]{36})\/remove$/i.exec(rest);
  if (remove) return { do: "remove", factor: remove[1]! };
  return { do: "list" };
}

/**
 * Confirm it's you in front of every POST of the Sign-in methods section (src/app.tsx gives it to
 * accountFactorsRoutes): a session whose last second factor is older than REAUTH_TTL changes
 * nothing and is sent to confirm, then back to the change. The passkey script's JSON calls get
 * the address to go to as JSON.
 */
export function factorChangeGuard(deps: AppDeps): RecentAuthGuard {
  return async (c, next) => {
    const who = signed(c);
    const result = await guardFactorChange(deps, requestMeta(c, deps), who, factorChangeOf(c.req.path));
    if (!result) return next();
    if (factorChangeOf(c.req.path).do === "passkey") {
      if (result.kind === "next" && result.token) writeCookie(c, deps.config, "flow", result.token);
      const message = result.kind === "error" ? result.message : "Confirm it's you first.";
      return c.json(result.kind === "next" ? { redirect: result.path, message } : { message }, 403);
    }
    return respond(c, deps, result);
  };
}

/* ── Confirm with a passkey (JavaScript only: static/passkey.js speaks JSON to these two) ── */

const PASSKEY_JSON_REFUSED = "That passkey answer could not be read. Try again.";
const jsonBody = (c: C, next: () => Promise<void>) => jsonBodyGuard(c, next, PASSKEY_JSON_REFUSED);

/** The flow's answer as JSON: the options, the address the confirmed change goes on at, or a message. */
function answerJson(c: C, deps: AppDeps, result: PasskeyConfirmResult): Response {
  if (result.kind === "refused") return c.json(result.redirect ? { message: result.message, redirect: result.redirect } : { message: result.message }, result.status);
  if (result.token) writeCookie(c, deps.config, "flow", result.token);
  else if (result.kind === "redirect" && result.token === null) clearCookie(c, deps.config, "flow");
  return c.json(result.kind === "options" ? { options: result.options } : { redirect: result.path });
}

export function accountRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const meta = (c: C) => requestMeta(c, deps);
  const token = (c: C) => flowToken(c, deps);

  // Only for someone signed in: a page asked for comes back after the sign-in.
  app.use(async (c, next) => {
    if (c.get("user") && c.get("session")) return next();
    return redirectTo(c, c.req.method === "GET" ? `/login?rd=${encodeURIComponent(c.req.path)}` : "/login");
  });

  app.get("/", (c) => showOverview(c, deps));

  app.get("/password", async (c) => respond(c, deps, await openChange(deps, signed(c), "password")));
  app.post(
    "/password",
    validForm(passwordSchema, (c: C, problem) => again(c, deps, { page: "password" }, problem)),
    async (c) => respond(c, deps, await changePassword(deps, meta(c), signed(c), c.req.valid("form"))),
  );

  app.get("/phone", async (c) => respond(c, deps, await openChange(deps, signed(c), "phone")));
  app.post(
    "/phone",
    validForm(phoneSchema, (c: C, problem) => again(c, deps, { page: "phone", phone: (problem.fields.phone ?? "").slice(0, 40) }, problem)),
    async (c) => respond(c, deps, await startPhoneChange(deps, meta(c), signed(c), c.req.valid("form"))),
  );
  const proofStates: Array<[string, AccountState]> = [
    ["/phone/code", "phone_code"],
    ["/phone/call", "phone_call"],
  ];
  for (const [path, state] of proofStates) app.get(path, async (c) => respond(c, deps, await showPhoneProof(deps, signed(c), token(c), [state])));
  app.post("/phone/send", async (c) => respond(c, deps, await resendPhoneChange(deps, meta(c), signed(c), token(c), "sms")));
  app.post("/phone/call", async (c) => respond(c, deps, await resendPhoneChange(deps, meta(c), signed(c), token(c), "voice")));
  app.post(
    "/phone/code",
    validForm(codeSchema, async (c: C, problem) => again(c, deps, await showPhoneProof(deps, signed(c), token(c), ["phone_code"]), problem)),
    async (c) => respond(c, deps, await checkPhoneChangeCode(deps, meta(c), signed(c), token(c), c.req.valid("form").code)),
  );
  app.post(
    "/phone/call/check",
    validForm(pollSchema, async (c: C, problem) => again(c, deps, await showPhoneProof(deps, signed(c), token(c), ["phone_call"]), problem)),
    async (c) => respond(c, deps, await checkPhoneChangeCall(deps, meta(c), signed(c), token(c)), { poll: c.req.valid("form").poll === "1", wrongShown: wrongShown(c.req.valid("form")) }),
  );

  const confirmStates: Array<[string, AccountState]> = [
    ["/confirm", "confirm"],
    ["/confirm/code", "confirm_code"],
    ["/confirm/call", "confirm_call"],
  ];
  for (const [path, state] of confirmStates) app.get(path, async (c) => respond(c, deps, await showConfirmStep(deps, signed(c), token(c), [state], confirmFor(c))));
  app.post("/confirm/email/send", async (c) => respond(c, deps, await sendConfirmation(deps, meta(c), signed(c), token(c), "email", confirmFor(c))));
  app.post("/confirm/phone/send", async (c) => respond(c, deps, await sendConfirmation(deps, meta(c), signed(c), token(c), "sms", confirmFor(c))));
  app.post("/confirm/phone/call", async (c) => respond(c, deps, await sendConfirmation(deps, meta(c), signed(c), token(c), "voice", confirmFor(c))));
  app.post(
    "/confirm/code",
    validForm(codeSchema, async (c: C, problem) => again(c, deps, await showConfirmStep(deps, signed(c), token(c), ["confirm_code"]), problem)),
    async (c) => respond(c, deps, await checkConfirmationCode(deps, meta(c), signed(c), token(c), c.req.valid("form").code)),
  );
  app.post(
    "/confirm/app",
    validForm(codeSchema, async (c: C, problem) => again(c, deps, await showConfirmStep(deps, signed(c), token(c), ["confirm", "confirm_code"], confirmFor(c)), problem)),
    async (c) => respond(c, deps, await checkConfirmationApp(deps, meta(c), signed(c), token(c), c.req.valid("form").code, confirmFor(c))),
  );
  app.get("/confirm/recovery", async (c) => respond(c, deps, await showConfirmStep(deps, signed(c), token(c), ["confirm", "confirm_code"], confirmFor(c), "recovery")));
  app.post(
    "/confirm/recovery",
    validForm(recoverySchema, async (c: C, problem) => again(c, deps, await showConfirmStep(deps, signed(c), token(c), ["confirm", "confirm_code"], confirmFor(c), "recovery"), problem)),
    async (c) => respond(c, deps, await checkConfirmationRecovery(deps, meta(c), signed(c), token(c), c.req.valid("form").code, confirmFor(c))),
  );
  app.post("/confirm/passkey/options", jsonBody, async (c) => answerJson(c, deps, await startConfirmationPasskey(deps, meta(c), signed(c), token(c), confirmFor(c))));
  app.post("/confirm/passkey/verify", jsonBody, validJson(authenticationSchema, PASSKEY_JSON_REFUSED), async (c) =>
    answerJson(c, deps, await checkConfirmationPasskey(deps, meta(c), signed(c), token(c), c.req.valid("json") as AuthenticationResponseJSON)),
  );
  app.post(
    "/confirm/call/check",
    validForm(pollSchema, async (c: C, problem) => again(c, deps, await showConfirmStep(deps, signed(c), token(c), ["confirm_call"]), problem)),
    async (c) => respond(c, deps, await checkConfirmationCall(deps, meta(c), signed(c), token(c)), { poll: c.req.valid("form").poll === "1", wrongShown: wrongShown(c.req.valid("form")) }),
  );

  app.post(
    "/sessions/end",
    validForm(sessionSchema, (c: C, problem) => again(c, deps, { page: "overview" }, problem)),
    async (c) => respond(c, deps, await endSessions(deps, meta(c), signed(c), c.req.valid("form").session)),
  );
  app.post("/sessions/end-others", async (c) => respond(c, deps, await endSessions(deps, meta(c), signed(c), "others")));

  return app;
}
