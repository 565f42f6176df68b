import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, render, redirectTo, wantsFragment, type View } from "../render.tsx";
import { clearCookie, readCookie, writeCookie } from "../cookies.ts";
import { startSession } from "../sign-in.ts";
import { fieldErrors, FORM_UNREADABLE, readForm } from "../form.ts";
import {
  acceptLoginTerms,
  checkLoginCall,
  continueAfterEmail,
  loginStepPath,
  sendLoginEmailCode,
  sendLoginPhoneCode,
  showLoginStep,
  startLogin,
  submitCredentials,
  switchToEmail,
  verifyLoginEmailCode,
  verifyLoginSmsCode,
  type LoginState,
  type LoginView,
  type RequestMeta,
  type StepResult,
} from "../../flows/login.ts";
import type { LoginOption, User } from "../../auth/users.ts";
import { describeDuration } from "../../delivery/messages.ts";
import { discoverStaffRealm } from "../../flows/staff-sign-in.ts";
import { SignInPage } from "../../../templates/login/sign-in.tsx";
import { CredentialsStep, UseEmailStep } from "../../../templates/login/credentials.tsx";
import { EmailCodeStep, EmailSendStep, EmailVerifiedStep } from "../../../templates/login/email.tsx";
import { TermsStep } from "../../../templates/login/terms.tsx";
import type { FieldErrors } from "../../../templates/components.tsx";
import { CallWaiting, PhoneChoice, SmsCodeEntry, type PhoneActions, type StepError } from "../../../templates/phone-factor.tsx";

type C = Context<AppEnv>;

/** A typed one-time code: spaces and dashes people copy along are dropped. */
export const codeSchema = z.object({
  code: z
    .string({ message: "Enter the 6-digit code." })
    .max(40, "Enter the 6-digit code.")
    .transform((v) => v.replace(/[\s-]/g, ""))
    .pipe(z.string().regex(/^\d{6}$/, "Enter the 6-digit code.")),
});

const startSchema = z.object({
  option: z.enum(["phone", "email"]),
  // The checkbox sends "on" when checked and nothing otherwise; any other value is no box of ours.
  remember: z.literal("on").optional(),
});

const credentialsSchema = z.object({
  email: z
    .string({ message: "Enter your email address." })
    .trim()
    .min(1, "Enter your email address.")
    .max(320, "Enter an email address of at most 320 characters.")
    .pipe(z.email({ message: "Enter an email address in the form name@example.com." })),
  password: z.string({ message: "Enter your password." }).min(1, "Enter your password.").max(4096, "The password is too long."),
});

export function requestMeta(c: C, deps: AppDeps): RequestMeta {
  return { ip: c.get("ip"), userAgent: c.get("userAgent"), rememberToken: readCookie(c, deps.config, "remember") };
}

/** Starts the session of a completed sign-in and keeps (or forgets) the Remember Me cookie. */
export async function completeSignIn(
  c: C,
  deps: AppDeps,
  result: { user: User; option: LoginOption; rememberToken: string | null; clearRemember?: boolean },
): Promise<Response> {
  await startSession(c, deps, result.user, result.option);
  if (result.rememberToken) writeCookie(c, deps.config, "remember", result.rememberToken);
  else if (result.clearRemember) clearCookie(c, deps.config, "remember");
  return goToPage(c, "/home");
}

/** How the routes of a stepped flow (sign-in, password reset) show it. */
export interface StepPages<S extends string, V> {
  /** The flow's first page: where a gone or expired flow sends the browser (with ?expired=1). */
  start: string;
  show(deps: AppDeps, token: string | undefined, states: S[]): Promise<{ kind: "show"; view: V } | { kind: "moved"; path: string; expired?: boolean }>;
  view(deps: AppDeps, view: V, error?: StepError, extra?: { notYet?: boolean }): View;
}

/** The answers every step of sign-in and of the password reset gives, for that flow's pages. */
export function stepAnswers<S extends string, V>(deps: AppDeps, pages: StepPages<S, V>) {
  const flowToken = (c: C) => readCookie(c, deps.config, "flow");

  /** Turns a flow function's result into the answer: a redirect, the step again, or the session. */
  async function answer(c: C, result: StepResult<V>, extra: { poll?: boolean } = {}): Promise<Response> {
    switch (result.kind) {
      case "moved":
        return redirectTo(c, result.expired ? `${pages.start}?expired=1` : result.path);
      case "next":
        if (result.token) writeCookie(c, deps.config, "flow", result.token);
        if (result.clearRemember) clearCookie(c, deps.config, "remember");
        return redirectTo(c, result.path);
      case "error":
        return render(c, deps, { ...pages.view(deps, result.view, { message: result.message, field: result.field }), status: result.status });
      case "pending":
        // The poll: nothing changed, so nothing on screen should (htmx does not swap a 204).
        if (extra.poll) return c.body(null, 204);
        return render(c, deps, pages.view(deps, result.view, undefined, { notYet: true }));
      case "signed_in":
        return completeSignIn(c, deps, result);
    }
  }

  /** The step again, as a 400, with a message for a field or (no field) for the form. */
  async function again(c: C, states: S[], error: StepError): Promise<Response> {
    const shown = await pages.show(deps, flowToken(c), states);
    if (shown.kind === "moved") return answer(c, shown);
    return render(c, deps, { ...pages.view(deps, shown.view, error), status: 400 });
  }

  /** The step again when the posted body could not be read. */
  const unreadable = (c: C, states: S[]) => again(c, states, { message: FORM_UNREADABLE });

  /** A GET of a step: its page while the flow is on it; otherwise a 303 to the step it is on. */
  async function showStep(c: C, state: S): Promise<Response> {
    const shown = await pages.show(deps, flowToken(c), [state]);
    if (shown.kind === "moved") return answer(c, shown);
    return render(c, deps, pages.view(deps, shown.view));
  }

  /** A typed one-time code on `state`: an unreadable form or a malformed code shows the step again; else `verify` decides. */
  async function postCode(c: C, state: S, verify: (code: string) => Promise<StepResult<V>>): Promise<Response> {
    const form = await readForm(c);
    if (!form) return unreadable(c, [state]);
    const parsed = codeSchema.safeParse(form);
    if (!parsed.success) return again(c, [state], { field: "code", message: parsed.error.issues[0]!.message });
    return answer(c, await verify(parsed.data.code));
  }

  /** Call Me's check: the poll (poll=1, every 2 s with htmx: a 204 while the call is pending) or Continue (without JavaScript). */
  async function postCallCheck(c: C, check: () => Promise<StepResult<V>>): Promise<Response> {
    const form = (await readForm(c)) ?? {};
    return answer(c, await check(), { poll: form.poll === "1" });
  }

  return { flowToken, answer, again, unreadable, showStep, postCode, postCallCheck };
}

const PHONE_ACTIONS: PhoneActions = {
  send: "/login/phone/send",
  call: "/login/phone/call",
  verify: "/login/phone/code",
  check: "/login/phone/call/check",
};

/** The page of a step, from the flow's view (the state picks the template). */
export function loginStepView(deps: AppDeps, view: LoginView, error?: StepError, extra: { notYet?: boolean; fieldErrors?: FieldErrors } = {}): View {
  const state = view.state;
  switch (state) {
    case "credentials":
      return {
        title: view.option === "phone" ? "Login with Phone" : "Login with Email",
        body: <CredentialsStep option={view.option} email={view.email} error={error} fieldErrors={extra.fieldErrors} />,
      };
    case "use_email":
      return { title: "Use Login with Email", body: <UseEmailStep /> };
    case "phone_choose":
      return { title: "Confirm your phone", body: <PhoneChoice heading="Confirm your phone" maskedPhone={view.maskedPhone} actions={PHONE_ACTIONS} error={error} /> };
    case "phone_code":
      return {
        title: "Enter the verification code",
        body: <SmsCodeEntry heading="Enter the verification code" maskedPhone={view.maskedPhone} actions={PHONE_ACTIONS} error={error} sent />,
      };
    case "phone_call":
      return {
        title: "Answer the call",
        body: <CallWaiting heading="Answer the call" maskedPhone={view.maskedPhone} keypadCode={view.keypadCode ?? ""} actions={PHONE_ACTIONS} notYet={extra.notYet} />,
      };
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
      return { title: "Terms of Use", body: <TermsStep action="/login/terms" portalName={deps.config.portalName} error={error?.message} /> };
    default:
      return { title: "Sign in", body: <SignInPage rememberEnabled={false} rememberHours="" /> };
  }
}

export function loginRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const { flowToken, answer, unreadable, showStep, postCode, postCallCheck } = stepAnswers<LoginState, LoginView>(deps, { start: "/login", show: showLoginStep, view: loginStepView });
  const rememberEnabled = deps.config.ttl.rememberMe > 0;

  const signInPage = (c: C, options: { notice?: string; status?: View["status"]; signedOut?: boolean } = {}) =>
    render(c, deps, {
      title: "Sign in",
      status: options.status,
      body: (
        <SignInPage
          rememberEnabled={rememberEnabled}
          rememberHours={describeDuration(deps.config.ttl.rememberMe)}
          notice={options.notice}
          signedOut={options.signedOut}
          staffEnabled={deps.config.staffOidc !== null}
        />
      ),
    });

  app.get("/", (c) => redirectTo(c, c.get("user") ? "/home" : "/login"));

  app.get("/login", (c) => {
    if (c.get("user")) return redirectTo(c, "/home");
    const expired = c.req.query("expired") === "1";
    return signInPage(c, {
      notice: expired ? "Your sign-in was not finished in time, or it was interrupted. Start again." : undefined,
      signedOut: c.req.query("signed-out") === "1",
    });
  });

  app.post("/login", async (c) => {
    if (c.get("user")) return redirectTo(c, "/home");
    const form = await readForm(c);
    const parsed = startSchema.safeParse(form ?? {});
    if (!parsed.success) return signInPage(c, { notice: "Select Login with Phone or Login with Email.", status: 400 });
    const result = await startLogin(deps, requestMeta(c, deps), {
      option: parsed.data.option,
      remember: parsed.data.remember !== undefined,
    });
    if (result.kind === "start_limited") {
      c.header("Retry-After", String(result.retryAfterSeconds));
      return signInPage(c, { notice: result.message, status: 429 });
    }
    return answer(c, result);
  });

  // Every step's page: shown only while the flow is on that step; otherwise the step it is on.
  const steps: Array<[string, LoginState]> = [
    ["/login/credentials", "credentials"],
    ["/login/use-email", "use_email"],
    ["/login/phone", "phone_choose"],
    ["/login/phone/code", "phone_code"],
    ["/login/phone/call", "phone_call"],
    ["/login/email", "email_send"],
    ["/login/email/code", "email_code"],
    ["/login/email/verified", "email_verified"],
    ["/login/terms", "terms"],
  ];
  for (const [path, state] of steps) {
    if (loginStepPath(state) !== path) throw new Error(`login step ${state} is served at ${loginStepPath(state)}, not ${path}`);
    app.get(path, (c) => (c.get("user") ? redirectTo(c, "/home") : showStep(c, state)));
  }

  app.post("/login/credentials", async (c) => {
    const form = await readForm(c);
    if (!form) return unreadable(c, ["credentials"]);
    // Home realm discovery: a staff address goes to Staff Login, before any password is asked for.
    const staffLogin = await discoverStaffRealm(deps, requestMeta(c, deps), form.email);
    if (staffLogin) return goToPage(c, staffLogin);
    const parsed = credentialsSchema.safeParse(form);
    if (!parsed.success) {
      const shown = await showLoginStep(deps, flowToken(c), ["credentials"]);
      if (shown.kind === "moved") return answer(c, shown);
      const view = { ...shown.view, email: typeof form.email === "string" ? form.email.slice(0, 320) : "" };
      return render(c, deps, { ...loginStepView(deps, view, undefined, { fieldErrors: fieldErrors(parsed.error) }), status: 400 });
    }
    return answer(c, await submitCredentials(deps, requestMeta(c, deps), flowToken(c), parsed.data));
  });

  app.post("/login/use-email", async (c) => answer(c, await switchToEmail(deps, requestMeta(c, deps), flowToken(c))));

  app.post("/login/phone/send", async (c) => answer(c, await sendLoginPhoneCode(deps, requestMeta(c, deps), flowToken(c), "sms")));
  app.post("/login/phone/call", async (c) => answer(c, await sendLoginPhoneCode(deps, requestMeta(c, deps), flowToken(c), "voice")));

  app.post("/login/phone/code", (c) => postCode(c, "phone_code", (code) => verifyLoginSmsCode(deps, requestMeta(c, deps), flowToken(c), code)));

  app.post("/login/phone/call/check", (c) => postCallCheck(c, () => checkLoginCall(deps, requestMeta(c, deps), flowToken(c))));

  app.post("/login/email/send", async (c) => answer(c, await sendLoginEmailCode(deps, requestMeta(c, deps), flowToken(c))));

  app.post("/login/email/code", (c) => postCode(c, "email_code", (code) => verifyLoginEmailCode(deps, requestMeta(c, deps), flowToken(c), code)));

  app.post("/login/email/verified", async (c) => answer(c, await continueAfterEmail(deps, requestMeta(c, deps), flowToken(c))));

  app.post("/login/terms", async (c) => {
    const form = await readForm(c);
    if (!form) return unreadable(c, ["terms"]);
    // Only the checkbox's own value agrees; an empty or forged value is not a tick.
    return answer(c, await acceptLoginTerms(deps, requestMeta(c, deps), flowToken(c), form.agree === "on"));
  });

  return app;
}
