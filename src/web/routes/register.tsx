import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { redirectTo, render } from "../render.tsx";
import { clearCookie, writeCookie } from "../cookies.ts";
import { completeSignIn } from "../sign-in.ts";
import { summary, validForm, type FormProblem } from "../form.ts";
import { flowToken, requestMeta, type C } from "../steps.tsx";
import type { FieldErrors } from "../../../templates/components.tsx";
import { maskPhone } from "../../auth/users.ts";
import { describeDuration } from "../../delivery/messages.ts";
import { LOCKOUT_MS } from "../../auth/lockout.ts";
import { checkReturnTo } from "../../flows/return-to.ts";
import { CODE_MESSAGES } from "../../flows/factors/code.ts";
import {
  acceptRegistrationTerms,
  checkRegistrationCall,
  chooseMethod,
  createPassword,
  currentStep,
  loadRegistration,
  openRegistrationLink,
  registrationStepPath,
  requestRegistrationReset,
  requestResumeLink,
  sendEmailCode,
  sendToPhone,
  stepPath,
  verifyEmailCode,
  verifyPhoneCode,
  type Registration,
  type Step,
} from "../../flows/registration.ts";
import { MethodStep } from "../../../templates/registration/method.tsx";
import { EmailStep } from "../../../templates/registration/email.tsx";
import { PhoneStep } from "../../../templates/registration/phone.tsx";
import { CallStep } from "../../../templates/registration/call.tsx";
import { RegistrationTermsStep } from "../../../templates/registration/terms.tsx";
import { RegistrationError, ResetSent, type RegistrationErrorReason } from "../../../templates/registration/error.tsx";
import { TroubleForm, TroubleSent } from "../../../templates/registration/trouble.tsx";

/** Registration, mounted at /register (the emailed link, the wizard, the error page and its Reset). */

const ERROR_REASONS = ["expired", "used", "invalid", "unavailable", "completed", "session"] as const;

/* ───────────── form parsing at the edge ───────────── */

const codeField = z
  .string({ error: "Enter the verification code." })
  .max(40, "Enter the 6-digit code.")
  .transform((v) => v.replace(/[\s-]/g, ""))
  .pipe(z.string().min(1, "Enter the verification code.").regex(/^\d{6}$/, "Enter the 6-digit code, numbers only."));

const schemas = {
  method: z.object({ method: z.enum(["phone", "email"], { error: "Select Phone or Email." }) }),
  code: z.object({ code: codeField }),
  password: z.object({
    password: z.string({ error: "Enter a new password." }).min(1, "Enter a new password."),
    confirm: z.string({ error: "Enter the new password again." }).min(1, "Enter the new password again."),
  }),
  phone: z.object({
    phone: z.string({ error: "Enter your phone number." }).max(40, "Enter a 10-digit US phone number, such as (202) 555-0143."),
    channel: z.enum(["sms", "voice"], { error: "Select Send Code or Call Me." }),
  }),
  check: z.object({
    poll: z.literal("1").optional().catch(undefined),
    keypad: z.string().regex(/^\d{6}$/).optional().catch(undefined),
  }),
  terms: z.object({
    agree: z.literal("on", { error: "Check the box to agree to the Terms of Use." }),
  }),
  trouble: z.object({
    email: z.string({ error: "Enter your email address." }).trim().min(1, "Enter your email address.").max(254, "Enter a valid email address.").pipe(z.email("Enter a valid email address, like name@example.com.")),
    password: z.string({ error: "Enter your password." }).min(1, "Enter your password.").max(1024, "Enter the password you created."),
  }),
};

/* ───────────── what every step shares ───────────── */

type Status = 200 | 400 | 403 | 422 | 429;

/** The registration this browser holds, or a 303 to the Registration error page. */
async function held(c: C, deps: AppDeps): Promise<Registration | Response> {
  const loaded = await loadRegistration(deps, flowToken(c, deps));
  if (loaded.ok) return loaded.registration;
  // Back to a wizard page after finishing: the flow cookie went with the sign-in; home is where they belong.
  return redirectTo(c, c.get("user") ? "/home" : stepPath("error"));
}

/** The registration, if it is on `step`; otherwise a 303 to the step it is on. */
async function on(c: C, deps: AppDeps, step: Step): Promise<Registration | Response> {
  const reg = await held(c, deps);
  if (reg instanceof Response) return reg;
  return currentStep(reg.flow) === step ? reg : redirectTo(c, registrationStepPath(reg.flow));
}

/** After a refusal that says "someone moved the flow": show whatever step it is on now. */
async function toCurrentStep(c: C, deps: AppDeps): Promise<Response> {
  const reg = await held(c, deps);
  if (reg instanceof Response) return reg;
  return redirectTo(c, registrationStepPath(reg.flow));
}

function tooMany(c: C, retryAfterSeconds: number): string {
  c.header("Retry-After", String(retryAfterSeconds));
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return `Too many requests. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}

const LOCKED = `Too many wrong attempts: your account is locked for ${describeDuration(LOCKOUT_MS)}. Try again later, or ask your portal administrator to unlock it.`;
const SEND_NEW = "Select Send New Code for a new one.";

/** A typed code's refusal in registration's words (the one table of code messages, and this step's way on). */
function codeRefusal(reason: keyof typeof CODE_MESSAGES): string {
  return reason === "wrong" ? "That code is not right. Check the code and try again." : `${CODE_MESSAGES[reason]} ${SEND_NEW}`;
}

/** A typed code's answer (email or SMS): the step it leads to, or `page` again saying why it did not pass. */
function afterCode(
  c: C,
  deps: AppDeps,
  result: Awaited<ReturnType<typeof verifyEmailCode | typeof verifyPhoneCode>>,
  page: (extra: { errors?: FieldErrors; problem: string; code: Status }) => Response,
): Response | Promise<Response> {
  if (result.ok) return redirectTo(c, registrationStepPath(result.registration.flow));
  switch (result.reason) {
    case "out_of_order":
      return toCurrentStep(c, deps);
    case "rate_limited":
      return page({ problem: tooMany(c, result.retryAfterSeconds), code: 429 });
    case "locked":
      return page({ problem: LOCKED, code: 403 });
    default: {
      const message = codeRefusal(result.reason);
      return page({ errors: { code: message }, problem: message, code: 422 });
    }
  }
}

/* ───────────── the emailed link ───────────── */

async function openLink(c: C, deps: AppDeps): Promise<Response> {
  // The token must not leak through Referer to anything this page or the next one loads.
  c.header("Referrer-Policy", "no-referrer");
  const returnTo = await checkReturnTo(deps, c.req.query("rd"));
  const result = await openRegistrationLink(deps, c.req.param("token") ?? "", requestMeta(c, deps), returnTo);
  if (!result.ok) {
    if (result.flowToken) writeCookie(c, deps.config, "flow", result.flowToken);
    else clearCookie(c, deps.config, "flow");
    return redirectTo(c, `/register/error?reason=${result.reason}`);
  }
  writeCookie(c, deps.config, "flow", result.flowToken);
  return redirectTo(c, registrationStepPath(result.registration.flow));
}

/* ───────────── step 1: Phone or Email ───────────── */

function methodPage(c: C, deps: AppDeps, reg: Registration, error?: string) {
  return render(c, deps, { title: "Choose a method", status: error ? 400 : 200, body: <MethodStep mfaReset={reg.data.mode === "mfa_reset"} error={error} /> });
}

async function showMethod(c: C, deps: AppDeps): Promise<Response> {
  const reg = await on(c, deps, "method");
  return reg instanceof Response ? reg : methodPage(c, deps, reg);
}

async function methodAgain(c: C, deps: AppDeps, problem: FormProblem): Promise<Response> {
  const reg = await on(c, deps, "method");
  return reg instanceof Response ? reg : methodPage(c, deps, reg, summary(problem.errors));
}

async function postMethod(c: C, deps: AppDeps, form: z.output<typeof schemas.method>): Promise<Response> {
  const reg = await held(c, deps);
  if (reg instanceof Response) return reg;
  const result = await chooseMethod(deps, reg, form.method, requestMeta(c, deps));
  if (!result.ok) return toCurrentStep(c, deps);
  return redirectTo(c, stepPath("email"));
}

/* ───────────── step 2: the email address, then the password ───────────── */

function emailPage(c: C, deps: AppDeps, reg: Registration, extra: { errors?: FieldErrors; problem?: string; status?: string; code?: Status } = {}) {
  const stage = reg.flow.state === "email_verified" ? "verified" : reg.data.emailCodeSent ? "verify" : "send";
  return render(c, deps, {
    title: stage === "verified" ? "Create a password" : "Verify your email address",
    status: extra.code ?? 200,
    body: <EmailStep email={reg.user.email} stage={stage} errors={extra.errors} problem={extra.problem} status={extra.status} />,
  });
}

async function showEmail(c: C, deps: AppDeps): Promise<Response> {
  const reg = await on(c, deps, "email");
  if (reg instanceof Response) return reg;
  const sent = c.req.query("sent");
  const status = sent === "new" ? "We sent a new code. The code sent before no longer works." : sent === "1" ? `We sent a verification code to ${reg.user.email}.` : undefined;
  return emailPage(c, deps, reg, { status });
}

async function postEmailSend(c: C, deps: AppDeps): Promise<Response> {
  const reg = await on(c, deps, "email");
  if (reg instanceof Response) return reg;
  const result = await sendEmailCode(deps, reg, requestMeta(c, deps));
  if (result.ok) return redirectTo(c, `/register/email?sent=${result.resent ? "new" : "1"}`);
  if (result.reason === "rate_limited") return emailPage(c, deps, reg, { problem: tooMany(c, result.retryAfterSeconds), code: 429 });
  return toCurrentStep(c, deps);
}

/** The email step, if the flow is in `state` of it (the code, or the password after it); otherwise where it belongs. */
async function onEmail(c: C, deps: AppDeps, state: "method_chosen" | "email_verified"): Promise<Registration | Response> {
  const reg = await on(c, deps, "email");
  if (reg instanceof Response) return reg;
  return reg.flow.state === state ? reg : redirectTo(c, stepPath("email"));
}

const emailAgain = (state: "method_chosen" | "email_verified") => async (c: C, deps: AppDeps, problem: FormProblem) => {
  const reg = await onEmail(c, deps, state);
  return reg instanceof Response ? reg : emailPage(c, deps, reg, { errors: problem.errors, problem: summary(problem.errors), code: 400 });
};

async function postEmailVerify(c: C, deps: AppDeps, form: z.output<typeof schemas.code>): Promise<Response> {
  const reg = await onEmail(c, deps, "method_chosen");
  if (reg instanceof Response) return reg;
  return afterCode(c, deps, await verifyEmailCode(deps, reg, form.code, requestMeta(c, deps)), (extra) => emailPage(c, deps, reg, extra));
}

async function postPassword(c: C, deps: AppDeps, form: z.output<typeof schemas.password>): Promise<Response> {
  const reg = await onEmail(c, deps, "email_verified");
  if (reg instanceof Response) return reg;
  const result = await createPassword(deps, reg, form, requestMeta(c, deps));
  if (result.ok) return redirectTo(c, registrationStepPath(result.registration.flow));
  if (result.reason === "invalid") return emailPage(c, deps, reg, { errors: { [result.field]: result.message }, problem: result.message, code: 422 });
  return toCurrentStep(c, deps);
}

/* ───────────── step 3 (phone method): the phone ───────────── */

/** +12025550143 → (202) 555-0143, for the Phone Number field. */
function nationalFormat(e164: string | undefined): string {
  if (!e164 || !/^\+1\d{10}$/.test(e164)) return "";
  return `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}`;
}

function phonePage(c: C, deps: AppDeps, reg: Registration, extra: { phone?: string; errors?: FieldErrors; problem?: string; status?: string; code?: Status } = {}) {
  const smsSent = reg.data.phoneChannel === "sms" && !!reg.data.phone;
  return render(c, deps, {
    title: "Verify your phone",
    status: extra.code ?? 200,
    body: (
      <PhoneStep
        phone={extra.phone ?? nationalFormat(reg.data.phone)}
        smsSent={smsSent}
        maskedPhone={maskPhone(reg.data.phone ?? null)}
        errors={extra.errors}
        problem={extra.problem}
        status={extra.status}
      />
    ),
  });
}

async function showPhone(c: C, deps: AppDeps): Promise<Response> {
  const reg = await on(c, deps, "phone");
  if (reg instanceof Response) return reg;
  const status = c.req.query("sent") === "1" && reg.data.phone ? `We sent a verification code by text message to ${maskPhone(reg.data.phone)}.` : undefined;
  return phonePage(c, deps, reg, { status });
}

async function phoneAgain(c: C, deps: AppDeps, problem: FormProblem): Promise<Response> {
  const reg = await on(c, deps, "phone");
  return reg instanceof Response ? reg : phonePage(c, deps, reg, { errors: problem.errors, problem: summary(problem.errors), code: 400 });
}

async function postPhoneSend(c: C, deps: AppDeps, form: z.output<typeof schemas.phone>): Promise<Response> {
  const reg = await on(c, deps, "phone");
  if (reg instanceof Response) return reg;
  const { phone, channel } = form;
  const result = await sendToPhone(deps, reg, phone, channel, requestMeta(c, deps));
  if (!result.ok) {
    switch (result.reason) {
      case "invalid_phone":
        return phonePage(c, deps, reg, { phone, errors: { phone: result.message }, problem: result.message, code: 422 });
      case "rate_limited":
        return phonePage(c, deps, reg, { phone, problem: tooMany(c, result.retryAfterSeconds), code: 429 });
      default:
        return toCurrentStep(c, deps);
    }
  }
  if (result.channel === "sms") return redirectTo(c, "/register/phone?sent=1");
  // The keypad code exists only here (the database keeps its HMAC), so this answer shows it
  // directly instead of redirecting; Continue carries it along to show it again.
  return render(c, deps, { title: "Answer the call", body: <CallStep keypadCode={result.keypadCode!} maskedPhone={maskPhone(result.e164)} /> });
}

async function postPhoneVerify(c: C, deps: AppDeps, form: z.output<typeof schemas.code>): Promise<Response> {
  const reg = await on(c, deps, "phone");
  if (reg instanceof Response) return reg;
  return afterCode(c, deps, await verifyPhoneCode(deps, reg, form.code, requestMeta(c, deps)), (extra) => phonePage(c, deps, reg, extra));
}

const CALL_PROBLEMS = {
  pending: "The call has not confirmed the code yet. Select Call Me to be called again.",
  exhausted: "The code was keyed in wrong too many times. Select Call Me for a new call, or Send Code for a text message.",
  ended: "The call ended without confirming the code, or its time ran out. Select Call Me for a new call, or Send Code for a text message.",
} as const;

/** The call page's poll (every 2 s with htmx) or its Continue (without JavaScript). */
async function postCallCheck(c: C, deps: AppDeps, form: z.output<typeof schemas.check>): Promise<Response> {
  const reg = await on(c, deps, "phone");
  if (reg instanceof Response) return reg;
  const result = await checkRegistrationCall(deps, reg, requestMeta(c, deps));
  if (result.ok) return redirectTo(c, registrationStepPath(result.registration.flow));
  if (result.reason === "out_of_order") return toCurrentStep(c, deps);
  // A pending poll changes nothing on screen.
  if (form.poll === "1" && result.reason === "pending") return c.body(null, 204);
  const masked = maskPhone(reg.data.phone ?? null);
  if (result.reason === "pending" && form.keypad) {
    return render(c, deps, { title: "Answer the call", status: 200, body: <CallStep keypadCode={form.keypad} maskedPhone={masked} notYet /> });
  }
  const problem =
    result.reason === "pending"
      ? CALL_PROBLEMS.pending
      : result.reason === "rate_limited"
        ? tooMany(c, result.retryAfterSeconds)
        : result.reason === "locked"
          ? LOCKED
          : result.reason === "exhausted"
            ? CALL_PROBLEMS.exhausted
            : CALL_PROBLEMS.ended;
  return phonePage(c, deps, reg, { problem, code: result.reason === "pending" ? 200 : 422 });
}

/* ───────────── the last step: Terms of Use ───────────── */

function termsPage(c: C, deps: AppDeps, error?: string) {
  return render(c, deps, {
    title: "Terms of Use",
    status: error ? 400 : 200,
    body: <RegistrationTermsStep portalName={deps.config.portalName} error={error} problem={error} />,
  });
}

async function showTerms(c: C, deps: AppDeps): Promise<Response> {
  const reg = await on(c, deps, "terms");
  return reg instanceof Response ? reg : termsPage(c, deps);
}

async function termsAgain(c: C, deps: AppDeps, problem: FormProblem): Promise<Response> {
  const reg = await on(c, deps, "terms");
  return reg instanceof Response ? reg : termsPage(c, deps, summary(problem.errors));
}

async function postTerms(c: C, deps: AppDeps): Promise<Response> {
  const reg = await on(c, deps, "terms");
  if (reg instanceof Response) return reg;
  const result = await acceptRegistrationTerms(deps, reg, true, requestMeta(c, deps));
  if (result.ok) {
    return completeSignIn(c, deps, {
      user: result.user,
      option: result.method,
      amr: result.amr,
      authenticatedAt: deps.clock.now(),
      rememberToken: null,
      returnTo: result.returnTo,
    });
  }
  if (result.reason === "not_agreed") return termsPage(c, deps, "Check the box to agree to the Terms of Use.");
  if (result.reason === "unavailable") return redirectTo(c, "/register/error?reason=unavailable");
  return toCurrentStep(c, deps);
}

/* ───────────── Registration error → Reset ───────────── */

function showError(c: C, deps: AppDeps): Response {
  const asked = c.req.query("reason");
  const reason: RegistrationErrorReason = (ERROR_REASONS as readonly string[]).includes(asked ?? "") ? (asked as RegistrationErrorReason) : "session";
  return render(c, deps, { title: "Registration error", body: <RegistrationError reason={reason} resetTtl={describeDuration(deps.config.ttl.registrationResetLink)} /> });
}

async function postReset(c: C, deps: AppDeps): Promise<Response> {
  await requestRegistrationReset(deps, flowToken(c, deps), requestMeta(c, deps));
  return redirectTo(c, "/register/reset/sent");
}

/* ───────────── the routes ───────────── */

export function registerRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const again = (page: (c: C, deps: AppDeps, problem: FormProblem) => Promise<Response>) => (c: C, problem: FormProblem) => page(c, deps, problem);

  app.get("/link/:token", (c) => openLink(c, deps));
  app.get("/", (c) => toCurrentStep(c, deps));

  app.get("/method", (c) => showMethod(c, deps));
  app.post("/method", validForm(schemas.method, again(methodAgain)), (c) => postMethod(c, deps, c.req.valid("form")));

  app.get("/email", (c) => showEmail(c, deps));
  app.post("/email/send", (c) => postEmailSend(c, deps));
  app.post("/email/verify", validForm(schemas.code, again(emailAgain("method_chosen"))), (c) => postEmailVerify(c, deps, c.req.valid("form")));
  app.post("/password", validForm(schemas.password, again(emailAgain("email_verified"))), (c) => postPassword(c, deps, c.req.valid("form")));

  app.get("/phone", (c) => showPhone(c, deps));
  app.post("/phone/send", validForm(schemas.phone, again(phoneAgain)), (c) => postPhoneSend(c, deps, c.req.valid("form")));
  app.post("/phone/verify", validForm(schemas.code, again(phoneAgain)), (c) => postPhoneVerify(c, deps, c.req.valid("form")));
  // The call page is only ever the answer to Call Me; asked for directly it goes back to the phone step.
  app.get("/phone/call", (c) => redirectTo(c, stepPath("phone")));
  // A check form that does not pass (repeated fields, a file) is a Continue without a keypad code: the schema's catch never fails.
  app.post("/phone/call/check", validForm(schemas.check, again(phoneAgain)), (c) => postCallCheck(c, deps, c.req.valid("form")));

  app.get("/terms", (c) => showTerms(c, deps));
  app.post("/terms", validForm(schemas.terms, again(termsAgain)), (c) => postTerms(c, deps));

  app.get("/error", (c) => showError(c, deps));
  app.post("/reset", (c) => postReset(c, deps));
  app.get("/reset/sent", (c) => render(c, deps, { title: "Check your email", body: <ResetSent resetTtl={describeDuration(deps.config.ttl.registrationResetLink)} /> }));

  return app;
}

/* ───────────── Having trouble logging in?, mounted at /trouble ───────────── */

function troublePage(c: C, deps: AppDeps, props: { email?: string; errors?: FieldErrors; problem?: string; status?: 200 | 400 | 429 } = {}) {
  return render(c, deps, { title: "Having trouble logging in?", status: props.status, body: <TroubleForm email={props.email} errors={props.errors} problem={props.problem} /> });
}

async function postTrouble(c: C, deps: AppDeps, form: z.output<typeof schemas.trouble>): Promise<Response> {
  const result = await requestResumeLink(deps, form, requestMeta(c, deps));
  if (!result.ok) return troublePage(c, deps, { email: form.email, problem: tooMany(c, result.retryAfterSeconds), status: 429 });
  return redirectTo(c, "/trouble/sent");
}

export function troubleRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => troublePage(c, deps));
  app.post(
    "/",
    validForm(schemas.trouble, (c: C, problem) => troublePage(c, deps, { email: (problem.fields.email ?? "").slice(0, 254), errors: problem.errors, problem: summary(problem.errors), status: 400 })),
    (c) => postTrouble(c, deps, c.req.valid("form")),
  );
  app.get("/sent", (c) => render(c, deps, { title: "Check your email", body: <TroubleSent ttl={describeDuration(deps.config.ttl.resumeLink)} /> }));
  return app;
}
