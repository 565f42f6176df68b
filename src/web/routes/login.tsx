import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, redirectTo, render, type View } from "../render.tsx";
import { jsonBodyGuard, validForm, validJson, type FormProblem } from "../form.ts";
import { agreeSchema, authenticationSchema, codeSchema, emailField, pollSchema, recoverySchema, wrongShown } from "../fields.ts";
import { answer, flowToken, requestMeta, showAgain, phoneStepView, type C, type StepExtra, type StepPages } from "../steps.tsx";
import {
  acceptLoginTerms,
  checkLoginCall,
  continueAfterEmail,
  loginReturnTo,
  loginStepPath,
  sendLoginEmailCode,
  sendLoginPhoneCode,
  showLoginStep,
  startLogin,
  submitCredentials,
  switchToEmail,
  verifyLoginEmailCode,
  verifyLoginSmsCode,
  verifyLoginAppCode,
  verifyLoginRecoveryCode,
  showRecoveryStep,
  startPasskeySignIn,
  finishPasskeySignIn,
  SECOND_FACTOR_STATES,
  type LoginState,
  type LoginView,
} from "../../flows/login.ts";
import { checkApplicationUrl, checkReturnTo } from "../../flows/return-to.ts";
import { ContinuePage } from "../../../templates/applications/oidc.tsx";
import type { AuthenticationResponseJSON } from "../../flows/factors/passkey.ts";
import { clearCookie, writeCookie } from "../cookies.ts";
import { startSession } from "../sign-in.ts";
import { describeDuration } from "../../delivery/messages.ts";
import { discoverStaffRealm } from "../../flows/staff-sign-in.ts";
import { isRememberTokenLive } from "../../auth/remember-me.ts";
import { readCookie } from "../cookies.ts";
import { SignInPage } from "../../../templates/login/sign-in.tsx";
import { CredentialsStep, OPTION_NAMES, UseEmailStep } from "../../../templates/login/credentials.tsx";
import { AppCodeStep, NoAppStep, PasskeyRefusedStep } from "../../../templates/login/app.tsx";
import { RecoveryCodeEntry, UseRecoveryCodeLink } from "../../../templates/recovery-codes.tsx";
import { EmailCodeStep, EmailSendStep, EmailVerifiedStep } from "../../../templates/login/email.tsx";
import { TermsAgainStep } from "../../../templates/login/terms.tsx";
import type { PhoneActions, StepError } from "../../../templates/phone-factor.tsx";

/**
 * Sign-in, mounted at /login. `rd` (product.md §5) names where a finished sign-in goes; it is
 * checked by return-to.ts and carried in the flow. Someone signed in who opens /login?rd=X goes
 * straight to X; with prompt=login the sign-in page is shown anyway and finishing it replaces
 * the session.
 */

const startSchema = z.object({
  option: z.enum(["phone", "email", "totp"]),
  // The checkbox sends "on" when checked and nothing otherwise; any other value is no box of ours.
  remember: z.literal("on").optional(),
  rd: z.string().max(2048).optional(),
  prompt: z.literal("login").optional(),
});

const credentialsSchema = z.object({
  email: emailField,
  password: z.string({ message: "Enter your password." }).min(1, "Enter your password.").max(4096, "The password is too long."),
});

const PHONE_ACTIONS: PhoneActions = {
  send: "/login/phone/send",
  call: "/login/phone/call",
  verify: "/login/phone/code",
  check: "/login/phone/call/check",
};

/** The page of a step, from the flow's view (the state picks the template). */
function loginStepView(deps: AppDeps, view: LoginView, error?: StepError, extra: StepExtra = {}): View {
  const page = stepPage(deps, view, error, extra);
  // Every second-factor step offers a recovery code instead (product.md §8).
  if (!SECOND_FACTOR_STATES.includes(view.state)) return page;
  return { ...page, body: <>{page.body}<UseRecoveryCodeLink href="/login/recovery" /></> };
}

function stepPage(deps: AppDeps, view: LoginView, error?: StepError, extra: StepExtra = {}): View {
  switch (view.state) {
    case "credentials":
      return {
        title: OPTION_NAMES[view.option],
        body: <CredentialsStep option={view.option} email={view.email} error={error} fieldErrors={extra.fieldErrors} />,
      };
    case "use_email":
      return { title: "Use Login with Email", body: <UseEmailStep /> };
    case "no_app":
      return { title: "No authenticator app on this account", body: <NoAppStep /> };
    case "passkey":
    case "passkey_checked":
      return { title: "Sign in with a passkey", body: <PasskeyRefusedStep message={error?.message} /> };
    case "app_code":
      return { title: "Enter the code from your authenticator app", body: <AppCodeStep error={error} /> };
    case "recovery":
      return {
        title: "Use a recovery code",
        body: <RecoveryCodeEntry action="/login/recovery" back={view.back ?? "/login"} error={error?.field === "code" ? error.message : undefined} problem={error?.message} />,
      };
    case "phone_choose":
    case "phone_code":
    case "phone_call": {
      const page = view.state === "phone_choose" ? "choose" : view.state === "phone_code" ? "code" : "call";
      return phoneStepView(page, { chooseHeading: "Confirm your phone", maskedPhone: view.maskedPhone, keypadCode: view.keypadCode, actions: PHONE_ACTIONS, error, notYet: extra.notYet, wrongTries: extra.wrongTries });
    }
    case "email_send":
      return { title: "Login with Email", body: <EmailSendStep email={view.email} codeLifetime={view.codeLifetime} error={error} /> };
    case "email_code":
      return {
        title: "Enter the verification code",
        body: <EmailCodeStep email={view.email} secondsLeft={view.secondsLeft ?? 0} codeLifetime={view.codeLifetime} error={error} sent />,
      };
    case "email_verified":
      return { title: "Email verified", body: <EmailVerifiedStep action="/login/email/verified" /> };
    case "terms":
      return { title: "Terms of Use", body: <TermsAgainStep action="/login/terms" portalName={deps.config.portalName} error={error?.message} /> };
  }
}

const PAGES: StepPages<LoginView> = {
  start: "/login",
  view: loginStepView,
  // The flow keeps the keypad code, so the call page can be a GET of its own.
  waitingPath: (view) => (view.state === "phone_call" ? loginStepPath("phone_call") : null),
};

/* ── handlers ── */

async function signInPage(c: C, deps: AppDeps, options: { notice?: string; status?: View["status"]; signedOut?: boolean; returnTo?: string | null; prompt?: boolean } = {}) {
  const enabled = deps.config.ttl.rememberMe > 0;
  // product.md §9: the box stands checked while this browser holds a live token.
  const remembered = enabled && (await isRememberTokenLive(deps.sql, deps.clock, readCookie(c, deps.config, "remember")));
  return render(c, deps, {
    title: "Sign in",
    status: options.status,
    passkeys: "on-demand",
    body: (
      <SignInPage
        rememberEnabled={enabled}
        remembered={remembered}
        rememberHours={describeDuration(deps.config.ttl.rememberMe)}
        notice={options.notice}
        signedOut={options.signedOut}
        returnTo={options.returnTo ?? undefined}
        prompt={options.prompt}
        staffEnabled={deps.config.staffOidc !== null}
      />
    ),
  });
}

/** GET /login: the sign-in page; someone signed in goes straight to where `rd` points (or home), unless prompt=login. */
async function showSignIn(c: C, deps: AppDeps): Promise<Response> {
  const returnTo = await checkReturnTo(deps, c.req.query("rd"));
  const prompt = c.req.query("prompt") === "login";
  if (c.get("user") && !prompt) return redirectTo(c, returnTo ?? "/home");
  const expired = c.req.query("expired") === "1";
  return signInPage(c, deps, {
    notice: expired ? "Your sign-in was not finished in time, or it was interrupted. Start again." : undefined,
    signedOut: c.req.query("signed-out") === "1",
    returnTo,
    prompt,
  });
}

/** After a sign-in, on to a registered application (see CONTINUE_PATH): a new navigation, not the form's redirect. */
async function showContinue(c: C, deps: AppDeps): Promise<Response> {
  const href = await checkApplicationUrl(deps, c.req.query("rd"));
  if (!href) return redirectTo(c, "/home");
  return render(c, deps, { title: "Continue", body: <ContinuePage href={href} name={null} /> });
}

/** No Login button of ours was pressed: the page again, keeping where the sign-in was to end. */
const startInvalid = (deps: AppDeps) => async (c: C, problem: FormProblem) =>
  signInPage(c, deps, {
    notice: "Select Login with Phone, Login with Email or Login with Authenticator App.",
    status: 400,
    returnTo: await checkReturnTo(deps, problem.fields.rd),
    prompt: problem.fields.prompt === "login",
  });

/** Login with Phone / Login with Email pressed. */
async function postStart(c: C, deps: AppDeps, form: z.output<typeof startSchema>): Promise<Response> {
  const returnTo = await checkReturnTo(deps, form.rd);
  if (c.get("user") && !form.prompt) return redirectTo(c, returnTo ?? "/home");
  const result = await startLogin(deps, requestMeta(c, deps), { option: form.option, remember: form.remember !== undefined, returnTo });
  if (result.kind === "start_limited") {
    c.header("Retry-After", String(result.retryAfterSeconds));
    return signInPage(c, deps, { notice: result.message, status: 429, returnTo, prompt: !!form.prompt });
  }
  return answer(c, deps, PAGES, result);
}

/**
 * A GET of a step: its page while the flow is on it; otherwise a 303 to the step it is on.
 * Someone signed in with no sign-in under way (no prompt=login) belongs at home.
 */
async function showStep(c: C, deps: AppDeps, state: LoginState): Promise<Response> {
  const shown = await showLoginStep(deps, flowToken(c, deps), [state]);
  if (c.get("user") && shown.kind === "moved" && shown.path === PAGES.start) return redirectTo(c, "/home");
  return answer(c, deps, PAGES, shown);
}

/** The step again with the messages of its form. */
async function again(c: C, deps: AppDeps, state: LoginState, problem: FormProblem, perField = false): Promise<Response> {
  const shown = await showLoginStep(deps, flowToken(c, deps), [state]);
  // The credentials step shows the address as typed (the password never).
  const edit = (view: LoginView) => ({ ...view, email: (problem.fields.email ?? "").slice(0, 320) });
  return showAgain(c, deps, PAGES, shown, problem, perField ? { perField, edit } : {});
}

/** Home realm discovery: a staff address goes to Staff Login, before any password is asked for (or checked). */
async function staffRealm(c: C, deps: AppDeps, email: unknown): Promise<Response | null> {
  // Staff Login carries where this sign-in was to end; its returnTo is read only for a staff address.
  const path = await discoverStaffRealm(deps, requestMeta(c, deps), email, async () => loginReturnTo(deps, flowToken(c, deps)));
  return path ? goToPage(c, path) : null;
}

async function postCredentials(c: C, deps: AppDeps, form: z.output<typeof credentialsSchema>): Promise<Response> {
  const staff = await staffRealm(c, deps, form.email);
  if (staff) return staff;
  return answer(c, deps, PAGES, await submitCredentials(deps, requestMeta(c, deps), flowToken(c, deps), form));
}

async function postCallCheck(c: C, deps: AppDeps, form: z.output<typeof pollSchema>): Promise<Response> {
  return answer(c, deps, PAGES, await checkLoginCall(deps, requestMeta(c, deps), flowToken(c, deps)), { poll: form.poll === "1", wrongShown: wrongShown(form) });
}

/* ── Sign in with a passkey (JavaScript only: static/passkey.js speaks JSON to these two) ── */

const passkeyStartSchema = z.object({ rd: z.string().max(2048).optional() });

const JSON_REFUSED = "That passkey answer could not be read. Try again.";
const jsonBody = (c: C, next: () => Promise<void>) => jsonBodyGuard(c, next, JSON_REFUSED);

async function postPasskeyOptions(c: C, deps: AppDeps, form: z.output<typeof passkeyStartSchema>): Promise<Response> {
  const returnTo = await checkReturnTo(deps, form.rd);
  const started = await startPasskeySignIn(deps, requestMeta(c, deps), returnTo);
  if (started.kind === "start_limited") {
    c.header("Retry-After", String(started.retryAfterSeconds));
    return c.json({ message: started.message }, 429);
  }
  writeCookie(c, deps.config, "flow", started.token);
  return c.json({ options: started.options });
}

async function postPasskeyVerify(c: C, deps: AppDeps, response: z.output<typeof authenticationSchema>): Promise<Response> {
  const result = await finishPasskeySignIn(deps, requestMeta(c, deps), flowToken(c, deps), response as AuthenticationResponseJSON);
  switch (result.kind) {
    case "signed_in":
      await startSession(c, deps, result.user, result.option, { amr: result.amr, authenticatedAt: result.authenticatedAt }, result.started);
      return c.json({ redirect: result.returnTo ?? "/home" });
    case "next":
      return c.json({ redirect: result.path });
    case "error":
      clearCookie(c, deps.config, "flow");
      return c.json({ message: result.message }, result.status);
    default:
      return c.json({ message: "Your sign-in was not finished in time, or it was interrupted. Start again." }, 409);
  }
}

/* ── the routes ── */

const STEPS: Array<[string, LoginState]> = [
  ["/credentials", "credentials"],
  ["/use-email", "use_email"],
  ["/phone", "phone_choose"],
  ["/phone/code", "phone_code"],
  ["/phone/call", "phone_call"],
  ["/email", "email_send"],
  ["/email/code", "email_code"],
  ["/email/verified", "email_verified"],
  ["/app", "app_code"],
  ["/no-app", "no_app"],
  ["/terms", "terms"],
];

export function loginRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const meta = (c: C) => requestMeta(c, deps);
  const token = (c: C) => flowToken(c, deps);
  const onStep = (state: LoginState, perField = false) => (c: C, problem: FormProblem) => again(c, deps, state, problem, perField);

  app.get("/", (c) => showSignIn(c, deps));
  app.get("/continue", (c) => showContinue(c, deps));
  app.post("/", validForm(startSchema, startInvalid(deps)), (c) => postStart(c, deps, c.req.valid("form")));

  // Every step's page: shown only while the flow is on that step; otherwise the step it is on.
  for (const [path, state] of STEPS) {
    if (loginStepPath(state) !== `/login${path}`) throw new Error(`login step ${state} is served at ${loginStepPath(state)}, not /login${path}`);
    app.get(path, (c) => showStep(c, deps, state));
  }

  app.post("/credentials", validForm(credentialsSchema, async (c: C, problem: FormProblem) => (await staffRealm(c, deps, problem.fields.email)) ?? again(c, deps, "credentials", problem, true)), (c) => postCredentials(c, deps, c.req.valid("form")));
  app.post("/use-email", async (c) => answer(c, deps, PAGES, await switchToEmail(deps, meta(c), token(c))));
  app.post("/phone/send", async (c) => answer(c, deps, PAGES, await sendLoginPhoneCode(deps, meta(c), token(c), "sms")));
  app.post("/phone/call", async (c) => answer(c, deps, PAGES, await sendLoginPhoneCode(deps, meta(c), token(c), "voice")));
  app.post("/phone/code", validForm(codeSchema, onStep("phone_code")), async (c) =>
    answer(c, deps, PAGES, await verifyLoginSmsCode(deps, meta(c), token(c), c.req.valid("form").code)),
  );
  app.post("/phone/call/check", validForm(pollSchema, onStep("phone_call")), (c) => postCallCheck(c, deps, c.req.valid("form")));
  app.post("/email/send", async (c) => answer(c, deps, PAGES, await sendLoginEmailCode(deps, meta(c), token(c))));
  app.post("/email/code", validForm(codeSchema, onStep("email_code")), async (c) =>
    answer(c, deps, PAGES, await verifyLoginEmailCode(deps, meta(c), token(c), c.req.valid("form").code)),
  );
  app.post("/email/verified", async (c) => answer(c, deps, PAGES, await continueAfterEmail(deps, meta(c), token(c))));
  app.post("/app", validForm(codeSchema, onStep("app_code")), async (c) =>
    answer(c, deps, PAGES, await verifyLoginAppCode(deps, meta(c), token(c), c.req.valid("form").code)),
  );
  app.get("/recovery", async (c) => answer(c, deps, PAGES, await showRecoveryStep(deps, token(c))));
  app.post(
    "/recovery",
    validForm(recoverySchema, async (c: C, problem: FormProblem) => showAgain(c, deps, PAGES, await showRecoveryStep(deps, token(c)), problem)),
    async (c) => answer(c, deps, PAGES, await verifyLoginRecoveryCode(deps, meta(c), token(c), c.req.valid("form").code)),
  );
  app.post("/passkey/options", jsonBody, validJson(passkeyStartSchema, JSON_REFUSED), (c) => postPasskeyOptions(c, deps, c.req.valid("json")));
  app.post("/passkey/verify", jsonBody, validJson(authenticationSchema, JSON_REFUSED), (c) => postPasskeyVerify(c, deps, c.req.valid("json")));
  app.post("/terms", validForm(agreeSchema, onStep("terms")), async (c) =>
    answer(c, deps, PAGES, await acceptLoginTerms(deps, meta(c), token(c), c.req.valid("form").agree === "on")),
  );

  return app;
}
