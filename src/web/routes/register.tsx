import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { redirectTo, render, type View } from "../render.tsx";
import { FORM_UNREADABLE, summary, validForm, type FormProblem } from "../form.ts";
import { pollSchema, wrongShown } from "../fields.ts";
import { answer, flowToken, requestMeta, type C, type StepExtra, type StepPages } from "../steps.tsx";
import { StepIndicator, type FieldErrors } from "../../../templates/components.tsx";
import type { StepError } from "../../../templates/phone-factor.tsx";
import { maskPhone } from "../../auth/users.ts";
import { describeDuration } from "../../delivery/messages.ts";
import { checkReturnTo } from "../../flows/return-to.ts";
import {
  acceptRegistrationTerms,
  checkRegistrationCall,
  confirmRecoveryCodesSaved,
  verifyAppCode,
  chooseMethod,
  createPassword,
  openRegistrationLink,
  REGISTRATION_CALL_PATH,
  REGISTRATION_GONE,
  requestRegistrationReset,
  requestResumeLink,
  sendEmailCode,
  sendToPhone,
  showRegistrationCall,
  showRegistrationStep,
  verifyEmailCode,
  verifyPhoneCode,
  type RegistrationResult,
  type RegistrationStep,
  type RegistrationView,
  type Step,
} from "../../flows/registration.ts";
import { MethodStep } from "../../../templates/registration/method.tsx";
import { EmailStep } from "../../../templates/registration/email.tsx";
import { PhoneStep } from "../../../templates/registration/phone.tsx";
import { CallStep } from "../../../templates/registration/call.tsx";
import { AppSetup } from "../../../templates/authenticator-app.tsx";
import { RecoveryCodesStep } from "../../../templates/recovery-codes.tsx";
import { RegistrationTermsStep } from "../../../templates/registration/terms.tsx";
import { RESET_REASONS, RegistrationError, ResetSent, type RegistrationErrorReason } from "../../../templates/registration/error.tsx";
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
  method: z.object({ method: z.enum(["phone", "email", "totp"], { error: "Select Phone, Email or Authenticator App." }) }),
  code: z.object({ code: codeField }),
  password: z.object({
    password: z.string({ error: "Enter a new password." }).min(1, "Enter a new password."),
    confirm: z.string({ error: "Enter the new password again." }).min(1, "Enter the new password again."),
  }),
  phone: z.object({
    phone: z.string({ error: "Enter your phone number." }).max(40, "Enter a 10-digit US phone number, such as (202) 555-0143."),
    channel: z.enum(["sms", "voice"], { error: "Select Send Code or Call Me." }),
  }),
  check: pollSchema,
  terms: z.object({
    agree: z.literal("on", { error: "Check the box to agree to the Terms of Use." }),
  }),
  saved: z.object({ saved: z.string().max(10).optional().catch(undefined) }),
  trouble: z.object({
    email: z.string({ error: "Enter your email address." }).trim().min(1, "Enter your email address.").max(254, "Enter a valid email address.").pipe(z.email("Enter a valid email address, like name@example.com.")),
    password: z.string({ error: "Enter your password." }).min(1, "Enter your password.").max(1024, "Enter the password you created."),
  }),
};

/* ───────────── the pages ───────────── */

/** +12025550143 → (202) 555-0143, for the Phone Number field. */
function nationalFormat(e164: string | null): string {
  if (!e164 || !/^\+1\d{10}$/.test(e164)) return "";
  return `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}`;
}

/** A status line for the page after a send (`?sent=`), from the flow's view. */
function sentStatus(view: RegistrationView, sent: string | undefined): string | undefined {
  if (view.step === "email") return sent === "new" ? "We sent a new code. The code sent before no longer works." : sent === "1" ? `We sent a verification code to ${view.email}.` : undefined;
  if (view.step === "phone" && sent === "1" && view.phone) return `We sent a verification code by text message to ${maskPhone(view.phone)}.`;
  return undefined;
}

/**
 * "Step 2 of 5": where the person is among the pages they will see. The email method skips the
 * phone step, an MFA reset keeps the password (so no password step); before the method is chosen
 * the count is the phone method's, the longer one.
 */
export function registrationProgress(view: RegistrationView): { step: number; of: number } {
  const steps = ["method", "email", ...(view.mfaReset ? [] : ["password"]), ...(view.method === "email" ? [] : ["phone"]), "terms"];
  const at = view.step === "email" && view.emailStage === "verified" ? "password" : view.step;
  return { step: steps.indexOf(at) + 1, of: steps.length };
}

/** The page of a step, from the flow's view, under its step indicator (which also says whose account this is). */
function registrationStepView(deps: AppDeps, view: RegistrationView, error?: StepError, extra: StepExtra & { status?: string } = {}): View {
  const page = registrationStepPage(deps, view, error, extra);
  const progress = registrationProgress(view);
  return { ...page, body: <StepIndicator {...progress} email={view.email}>{page.body}</StepIndicator> };
}

/** The page of a step, from the flow's view: the error's message is the summary, and the field's own. */
function registrationStepPage(deps: AppDeps, view: RegistrationView, error?: StepError, extra: StepExtra & { status?: string } = {}): View {
  const errors: FieldErrors = extra.fieldErrors ?? (error?.field ? { [error.field]: error.message } : {});
  const problem = error?.message ?? view.problem;
  switch (view.step) {
    case "method":
      return { title: "Choose a method", body: <MethodStep mfaReset={view.mfaReset} error={problem} /> };
    case "email":
      return {
        title: view.emailStage === "verified" ? "Create a password" : "Verify your email address",
        body: <EmailStep email={view.email} stage={view.emailStage} errors={errors} problem={problem} status={extra.status} />,
      };
    case "phone":
      if (view.call) {
        return {
          title: "Answer the call",
          body: <CallStep keypadCode={view.call.keypadCode} phone={view.phone ?? ""} maskedPhone={maskPhone(view.phone)} notYet={extra.notYet} problem={error?.message} wrongTries={extra.wrongTries} />,
        };
      }
      return {
        title: "Verify your phone",
        body: (
          <PhoneStep phone={view.typed ?? nationalFormat(view.phone)} smsSent={view.smsSent} maskedPhone={maskPhone(view.phone)} errors={errors} problem={problem} status={extra.status} />
        ),
      };
    case "app":
      return {
        title: "Set up an authenticator app",
        body: <AppSetup action="/register/app/verify" secret={view.totp?.secret ?? ""} qrSvg={view.totp?.qrSvg ?? ""} error={errors.code} problem={problem} />,
      };
    case "terms":
      return { title: "Terms of Use", body: <RegistrationTermsStep portalName={deps.config.portalName} error={problem} /> };
    case "recovery":
      return { title: "Save your recovery codes", body: <RecoveryCodesStep action="/register/recovery-codes" codes={view.recoveryCodes ?? []} error={problem} /> };
  }
}

const PAGES: StepPages<RegistrationView> = {
  start: REGISTRATION_GONE,
  view: registrationStepView,
  // The flow keeps the keypad code, so the call page is a GET of its own (post/redirect/get).
  waitingPath: (view) => (view.call ? REGISTRATION_CALL_PATH : null),
};

/* ───────────── handlers ───────────── */

/** A flow result's answer; back at a wizard page after finishing (the flow cookie went with the sign-in), home is where they belong. */
function reply(c: C, deps: AppDeps, result: RegistrationResult, extra: { poll?: boolean; wrongShown?: number } = {}): Promise<Response> {
  if (result.kind === "moved" && result.path === REGISTRATION_GONE && c.get("user")) return Promise.resolve(redirectTo(c, "/home"));
  return answer(c, deps, PAGES, result, extra);
}

async function openLink(c: C, deps: AppDeps): Promise<Response> {
  // The token must not leak through Referer to anything this page or the next one loads.
  c.header("Referrer-Policy", "no-referrer");
  const returnTo = await checkReturnTo(deps, c.req.query("rd"));
  return reply(c, deps, await openRegistrationLink(deps, requestMeta(c, deps), c.req.param("token") ?? "", returnTo));
}

/** A GET of a page: shown while the flow is on it (with the line a send left), else where the flow is. */
async function showStep(c: C, deps: AppDeps, step: Step | null): Promise<Response> {
  const shown = await showRegistrationStep(deps, flowToken(c, deps), step);
  if (shown.kind !== "show") return reply(c, deps, shown);
  return render(c, deps, registrationStepView(deps, shown.view, undefined, { status: sentStatus(shown.view, c.req.query("sent")) }));
}

/** The step again with its form's messages (validForm's `again`), when the flow is on it. */
const again = (deps: AppDeps, step: Step, states?: RegistrationStep[]) => async (c: C, problem: FormProblem) => {
  const shown = await showRegistrationStep(deps, flowToken(c, deps), step, states);
  if (shown.kind !== "show") return reply(c, deps, shown);
  const message = problem.unreadable && !Object.keys(problem.errors).some((name) => name !== "form") ? FORM_UNREADABLE : summary(problem.errors);
  return render(c, deps, { ...registrationStepView(deps, shown.view, { message }, { fieldErrors: problem.errors }), status: 400 });
};

async function postCallCheck(c: C, deps: AppDeps, form: z.output<typeof schemas.check>): Promise<Response> {
  return reply(c, deps, await checkRegistrationCall(deps, requestMeta(c, deps), flowToken(c, deps)), { poll: form.poll === "1", wrongShown: wrongShown(form) });
}

async function postReset(c: C, deps: AppDeps): Promise<Response> {
  await requestRegistrationReset(deps, flowToken(c, deps), requestMeta(c, deps));
  return redirectTo(c, "/register/reset/sent");
}

function showError(c: C, deps: AppDeps): Response {
  const asked = c.req.query("reason");
  const reason: RegistrationErrorReason = (ERROR_REASONS as readonly string[]).includes(asked ?? "") ? (asked as RegistrationErrorReason) : "session";
  // Reset emails whoever the browser's flow names; without one, or for a finished registration, it would do nothing.
  const resetOffered = RESET_REASONS.includes(reason) && flowToken(c, deps) !== undefined;
  return render(c, deps, {
    title: "Registration error",
    body: <RegistrationError reason={reason} resetTtl={describeDuration(deps.config.ttl.registrationResetLink)} resetOffered={resetOffered} supportContact={deps.config.supportContact} />,
  });
}

/* ───────────── the routes ───────────── */

export function registerRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const meta = (c: C) => requestMeta(c, deps);
  const token = (c: C) => flowToken(c, deps);

  app.get("/link/:token", (c) => openLink(c, deps));
  app.get("/", (c) => showStep(c, deps, null));

  app.get("/method", (c) => showStep(c, deps, "method"));
  app.post("/method", validForm(schemas.method, again(deps, "method")), async (c) => reply(c, deps, await chooseMethod(deps, meta(c), token(c), c.req.valid("form").method)));

  app.get("/email", (c) => showStep(c, deps, "email"));
  app.post("/email/send", async (c) => reply(c, deps, await sendEmailCode(deps, meta(c), token(c))));
  app.post("/email/verify", validForm(schemas.code, again(deps, "email", ["method_chosen"])), async (c) =>
    reply(c, deps, await verifyEmailCode(deps, meta(c), token(c), c.req.valid("form").code)),
  );
  app.post("/password", validForm(schemas.password, again(deps, "email", ["email_verified"])), async (c) =>
    reply(c, deps, await createPassword(deps, meta(c), token(c), c.req.valid("form"))),
  );

  app.get("/phone", (c) => showStep(c, deps, "phone"));
  app.post("/phone/send", validForm(schemas.phone, again(deps, "phone")), async (c) => reply(c, deps, await sendToPhone(deps, meta(c), token(c), c.req.valid("form"))));
  app.post("/phone/verify", validForm(schemas.code, again(deps, "phone")), async (c) => reply(c, deps, await verifyPhoneCode(deps, meta(c), token(c), c.req.valid("form").code)));
  // The call page while a call placed by Call Me waits; otherwise the phone step.
  app.get("/phone/call", async (c) => reply(c, deps, await showRegistrationCall(deps, token(c))));
  app.post("/phone/call/check", validForm(schemas.check, again(deps, "phone")), (c) => postCallCheck(c, deps, c.req.valid("form")));

  app.get("/app", (c) => showStep(c, deps, "app"));
  app.post("/app/verify", validForm(schemas.code, again(deps, "app")), async (c) => reply(c, deps, await verifyAppCode(deps, meta(c), token(c), c.req.valid("form").code)));

  app.get("/recovery-codes", (c) => showStep(c, deps, "recovery"));
  app.post("/recovery-codes", validForm(schemas.saved, again(deps, "recovery")), async (c) =>
    reply(c, deps, await confirmRecoveryCodesSaved(deps, meta(c), token(c), c.req.valid("form").saved === "on")),
  );

  app.get("/terms", (c) => showStep(c, deps, "terms"));
  app.post("/terms", validForm(schemas.terms, again(deps, "terms")), async (c) => reply(c, deps, await acceptRegistrationTerms(deps, meta(c), token(c), true)));

  app.get("/error", (c) => showError(c, deps));
  app.post("/reset", (c) => postReset(c, deps));
  app.get("/reset/sent", (c) => render(c, deps, { title: "Check your email", body: <ResetSent resetTtl={describeDuration(deps.config.ttl.registrationResetLink)} /> }));

  return app;
}

/* ───────────── Having trouble logging in?, mounted at /trouble ───────────── */

function troublePage(c: C, deps: AppDeps, props: { email?: string; errors?: FieldErrors; problem?: string; status?: 200 | 400 | 429 } = {}) {
  return render(c, deps, { title: "Having trouble logging in?", status: props.status, body: <TroubleForm email={props.email} errors={props.errors} problem={props.problem} supportContact={deps.config.supportContact} /> });
}

async function postTrouble(c: C, deps: AppDeps, form: z.output<typeof schemas.trouble>): Promise<Response> {
  const result = await requestResumeLink(deps, form, requestMeta(c, deps));
  if (!result.ok) {
    c.header("Retry-After", String(result.retryAfterSeconds));
    const minutes = Math.ceil(result.retryAfterSeconds / 60);
    return troublePage(c, deps, { email: form.email, problem: `Too many requests. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, status: 429 });
  }
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
