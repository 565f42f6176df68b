import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, redirectTo, render } from "../render.tsx";
import { clearCookie, readCookie, writeCookie } from "../cookies.ts";
import { startSession } from "../sign-in.ts";
import { parseForm } from "../form.ts";
import type { FieldErrors } from "../../../templates/components.tsx";
import { maskPhone } from "../../auth/users.ts";
import { describeDuration } from "../../delivery/messages.ts";
import { LOCKOUT_MS } from "../../auth/lockout.ts";
import {
  acceptTerms,
  checkCall,
  chooseMethod,
  createPassword,
  currentStep,
  loadRegistration,
  openRegistrationLink,
  requestRegistrationReset,
  requestResumeLink,
  sendEmailCode,
  sendPhoneCode,
  startCall,
  verifyEmailCode,
  verifyPhoneCode,
  type Registration,
  type Requester,
  type Step,
} from "../../flows/registration.ts";
import { MethodStep } from "../../../templates/registration/method.tsx";
import { EmailStep } from "../../../templates/registration/email.tsx";
import { PhoneStep } from "../../../templates/registration/phone.tsx";
import { CallStep } from "../../../templates/registration/call.tsx";
import { TermsStep } from "../../../templates/registration/terms.tsx";
import { RegistrationError, ResetSent, type RegistrationErrorReason } from "../../../templates/registration/error.tsx";
import { TroubleForm, TroubleSent } from "../../../templates/registration/trouble.tsx";

type C = Context<AppEnv>;

/** Where each step lives. A request for any other step's URL is sent here (303). */
const STEP_PATHS: Record<Step, string> = {
  method: "/register/method",
  email: "/register/email",
  phone: "/register/phone",
  terms: "/register/terms",
  done: "/home",
  error: "/register/error?reason=session",
};

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
    poll: z.literal("1").optional(),
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

/** The first message of a set of field errors, for the summary at the top of the step. */
function summary(errors: FieldErrors): string {
  return Object.values(errors).find(Boolean) ?? "Check the form and try again.";
}

/* ───────────── routes ───────────── */

export function registerRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const who = (c: C): Requester => ({ ip: c.get("ip"), userAgent: c.get("userAgent") });
  const resetTtl = describeDuration(deps.config.ttl.registrationResetLink);

  /** The registration this browser holds, or a 303 to the Registration error page. */
  async function held(c: C): Promise<Registration | Response> {
    const loaded = await loadRegistration(deps, readCookie(c, deps.config, "flow"));
    if (loaded.ok) return loaded.registration;
    // Back to a wizard page after finishing: the flow cookie went with the sign-in; home is where they belong.
    return redirectTo(c, c.get("user") ? "/home" : STEP_PATHS.error);
  }

  /** The registration, if it is on `step`; otherwise a 303 to the step it is on. */
  async function on(c: C, step: Step): Promise<Registration | Response> {
    const reg = await held(c);
    if (reg instanceof Response) return reg;
    const at = currentStep(reg.flow);
    return at === step ? reg : redirectTo(c, STEP_PATHS[at]);
  }

  /** After a refusal that says "someone moved the flow": show whatever step it is on now. */
  async function toCurrentStep(c: C): Promise<Response> {
    const reg = await held(c);
    if (reg instanceof Response) return reg;
    return redirectTo(c, STEP_PATHS[currentStep(reg.flow)]);
  }

  function tooMany(c: C, retryAfterSeconds: number): string {
    c.header("Retry-After", String(retryAfterSeconds));
    const minutes = Math.ceil(retryAfterSeconds / 60);
    return `Too many requests. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
  }
  const LOCKED = `Too many wrong attempts: your account is locked for ${describeDuration(LOCKOUT_MS)}. Try again later, or ask your portal administrator to unlock it.`;

  const codeMessages = {
    wrong: "That code is not right. Check the code and try again.",
    expired: "That code has expired. Select Send New Code for a new one.",
    exhausted: "Too many wrong tries for this code. Select Send New Code for a new one.",
    none: "There is no code to check. Select Send New Code for a new one.",
  } as const;

  /** A typed code's answer (email or SMS): the step it leads to, or `page` again saying why it did not pass. */
  function afterCode(
    c: C,
    result: Awaited<ReturnType<typeof verifyEmailCode | typeof verifyPhoneCode>>,
    page: (extra: { errors?: FieldErrors; problem: string; code: 403 | 422 | 429 }) => Response,
  ): Response | Promise<Response> {
    if (result.ok) return redirectTo(c, STEP_PATHS[currentStep(result.registration.flow)]);
    switch (result.reason) {
      case "out_of_order":
        return toCurrentStep(c);
      case "rate_limited":
        return page({ problem: tooMany(c, result.retryAfterSeconds), code: 429 });
      case "locked":
        return page({ problem: LOCKED, code: 403 });
      default:
        return page({ errors: { code: codeMessages[result.reason] }, problem: codeMessages[result.reason], code: 422 });
    }
  }

  /* ── the emailed link ── */

  app.get("/register/link/:token", async (c) => {
    // The token must not leak through Referer to anything this page or the next one loads.
    c.header("Referrer-Policy", "no-referrer");
    const result = await openRegistrationLink(deps, c.req.param("token"), who(c));
    if (!result.ok) {
      if (result.flowToken) writeCookie(c, deps.config, "flow", result.flowToken);
      else clearCookie(c, deps.config, "flow");
      return redirectTo(c, `/register/error?reason=${result.reason}`);
    }
    writeCookie(c, deps.config, "flow", result.flowToken);
    return redirectTo(c, STEP_PATHS[currentStep(result.registration.flow)]);
  });

  app.get("/register", async (c) => {
    const reg = await held(c);
    if (reg instanceof Response) return reg;
    return redirectTo(c, STEP_PATHS[currentStep(reg.flow)]);
  });

  /* ── step 1: Phone or Email ── */

  app.get("/register/method", async (c) => {
    const reg = await on(c, "method");
    if (reg instanceof Response) return reg;
    return render(c, deps, { title: "Choose a method", body: <MethodStep mfaReset={reg.data.mode === "mfa_reset"} /> });
  });

  app.post("/register/method", async (c) => {
    const reg = await held(c);
    if (reg instanceof Response) return reg;
    const form = await parseForm(c, schemas.method);
    if (!form.ok) {
      if (currentStep(reg.flow) !== "method") return redirectTo(c, STEP_PATHS[currentStep(reg.flow)]);
      return render(c, deps, { title: "Choose a method", status: 400, body: <MethodStep mfaReset={reg.data.mode === "mfa_reset"} error={summary(form.errors)} /> });
    }
    const result = await chooseMethod(deps, reg, form.data.method, who(c));
    if (!result.ok) return toCurrentStep(c);
    return redirectTo(c, STEP_PATHS.email);
  });

  /* ── step 2: the email address, then the password ── */

  function emailPage(c: C, reg: Registration, extra: { errors?: FieldErrors; problem?: string; status?: string; code?: 200 | 400 | 403 | 422 | 429 } = {}) {
    const stage = reg.flow.state === "email_verified" ? "verified" : reg.data.emailCodeSent ? "verify" : "send";
    return render(c, deps, {
      title: stage === "verified" ? "Create a password" : "Verify your email address",
      status: extra.code ?? 200,
      body: <EmailStep email={reg.user.email} stage={stage} errors={extra.errors} problem={extra.problem} status={extra.status} />,
    });
  }

  app.get("/register/email", async (c) => {
    const reg = await on(c, "email");
    if (reg instanceof Response) return reg;
    const sent = c.req.query("sent");
    const status = sent === "new" ? "We sent a new code. The code sent before no longer works." : sent === "1" ? `We sent a verification code to ${reg.user.email}.` : undefined;
    return emailPage(c, reg, { status });
  });

  app.post("/register/email/send", async (c) => {
    const reg = await on(c, "email");
    if (reg instanceof Response) return reg;
    const result = await sendEmailCode(deps, reg, who(c));
    if (result.ok) return redirectTo(c, `/register/email?sent=${result.resent ? "new" : "1"}`);
    if (result.reason === "rate_limited") return emailPage(c, reg, { problem: tooMany(c, result.retryAfterSeconds), code: 429 });
    return toCurrentStep(c);
  });

  app.post("/register/email/verify", async (c) => {
    const reg = await on(c, "email");
    if (reg instanceof Response) return reg;
    if (reg.flow.state !== "method_chosen") return redirectTo(c, STEP_PATHS.email);
    const form = await parseForm(c, schemas.code);
    if (!form.ok) return emailPage(c, reg, { errors: form.errors, problem: summary(form.errors), code: 400 });
    return afterCode(c, await verifyEmailCode(deps, reg, form.data.code, who(c)), (extra) => emailPage(c, reg, extra));
  });

  app.post("/register/password", async (c) => {
    const reg = await on(c, "email");
    if (reg instanceof Response) return reg;
    if (reg.flow.state !== "email_verified") return redirectTo(c, STEP_PATHS.email);
    const form = await parseForm(c, schemas.password);
    if (!form.ok) return emailPage(c, reg, { errors: form.errors, problem: summary(form.errors), code: 400 });
    const result = await createPassword(deps, reg, form.data, who(c));
    if (result.ok) return redirectTo(c, STEP_PATHS[currentStep(result.registration.flow)]);
    if (result.reason === "invalid") return emailPage(c, reg, { errors: { [result.field]: result.message }, problem: result.message, code: 422 });
    return toCurrentStep(c);
  });

  /* ── step 3 (phone method): the phone ── */

  function phonePage(c: C, reg: Registration, extra: { phone?: string; errors?: FieldErrors; problem?: string; status?: string; code?: 200 | 400 | 403 | 422 | 429 } = {}) {
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

  app.get("/register/phone", async (c) => {
    const reg = await on(c, "phone");
    if (reg instanceof Response) return reg;
    const status = c.req.query("sent") === "1" && reg.data.phone ? `We sent a verification code by text message to ${maskPhone(reg.data.phone)}.` : undefined;
    return phonePage(c, reg, { status });
  });

  app.post("/register/phone/send", async (c) => {
    const reg = await on(c, "phone");
    if (reg instanceof Response) return reg;
    const form = await parseForm(c, schemas.phone);
    if (!form.ok) return phonePage(c, reg, { errors: form.errors, problem: summary(form.errors), code: 400 });
    const { phone, channel } = form.data;
    const result = channel === "sms" ? await sendPhoneCode(deps, reg, phone, who(c)) : await startCall(deps, reg, phone, who(c));
    if (!result.ok) {
      switch (result.reason) {
        case "invalid_phone":
          return phonePage(c, reg, { phone, errors: { phone: result.message }, problem: result.message, code: 422 });
        case "rate_limited":
          return phonePage(c, reg, { phone, problem: tooMany(c, result.retryAfterSeconds), code: 429 });
        default:
          return toCurrentStep(c);
      }
    }
    if (result.channel === "sms") return redirectTo(c, "/register/phone?sent=1");
    // The keypad code exists only here (the database keeps its HMAC), so this answer shows it
    // directly instead of redirecting; Continue carries it along to show it again.
    return render(c, deps, { title: "Answer the call", body: <CallStep keypadCode={result.keypadCode!} maskedPhone={maskPhone(result.e164)} /> });
  });

  app.post("/register/phone/verify", async (c) => {
    const reg = await on(c, "phone");
    if (reg instanceof Response) return reg;
    const form = await parseForm(c, schemas.code);
    if (!form.ok) return phonePage(c, reg, { errors: form.errors, problem: summary(form.errors), code: 400 });
    return afterCode(c, await verifyPhoneCode(deps, reg, form.data.code, who(c)), (extra) => phonePage(c, reg, extra));
  });

  // The call page is only ever the answer to Call Me; asked for directly it goes back to the phone step.
  app.get("/register/phone/call", (c) => redirectTo(c, STEP_PATHS.phone));

  app.post("/register/phone/call/check", async (c) => {
    const reg = await on(c, "phone");
    if (reg instanceof Response) return reg;
    const form = await parseForm(c, schemas.check);
    const poll = form.ok && form.data.poll === "1";
    const keypad = form.ok ? form.data.keypad : undefined;
    const result = await checkCall(deps, reg, who(c));
    if (result.ok) return redirectTo(c, STEP_PATHS[currentStep(result.registration.flow)]);
    if (result.reason === "out_of_order") return toCurrentStep(c);
    // A pending poll changes nothing on screen.
    if (poll && result.reason === "pending") return c.body(null, 204);
    const masked = maskPhone(reg.data.phone ?? null);
    if (result.reason === "pending" && keypad) {
      return render(c, deps, { title: "Answer the call", status: 200, body: <CallStep keypadCode={keypad} maskedPhone={masked} notYet /> });
    }
    const problem =
      result.reason === "pending"
        ? "The call has not confirmed the code yet. Select Call Me to be called again."
        : result.reason === "rate_limited"
          ? tooMany(c, result.retryAfterSeconds)
          : result.reason === "locked"
            ? LOCKED
            : result.reason === "exhausted"
              ? "The code was keyed in wrong too many times. Select Call Me for a new call, or Send Code for a text message."
              : "The call ended without confirming the code, or its time ran out. Select Call Me for a new call, or Send Code for a text message.";
    return phonePage(c, reg, { problem, code: result.reason === "pending" ? 200 : 422 });
  });

  /* ── the last step: Terms of Use ── */

  app.get("/register/terms", async (c) => {
    const reg = await on(c, "terms");
    if (reg instanceof Response) return reg;
    return render(c, deps, { title: "Terms of Use", body: <TermsStep portalName={deps.config.portalName} /> });
  });

  app.post("/register/terms", async (c) => {
    const reg = await on(c, "terms");
    if (reg instanceof Response) return reg;
    const form = await parseForm(c, schemas.terms);
    const result = await acceptTerms(deps, reg, form.ok, who(c));
    if (result.ok) {
      await startSession(c, deps, result.user, result.method);
      return goToPage(c, "/home");
    }
    if (result.reason === "not_agreed") {
      const error = form.ok ? "Check the box to agree to the Terms of Use." : summary(form.errors);
      return render(c, deps, { title: "Terms of Use", status: 400, body: <TermsStep portalName={deps.config.portalName} error={error} problem={error} /> });
    }
    if (result.reason === "unavailable") return redirectTo(c, "/register/error?reason=unavailable");
    return toCurrentStep(c);
  });

  /* ── Registration error → Reset ── */

  app.get("/register/error", (c) => {
    const asked = c.req.query("reason");
    const reason: RegistrationErrorReason = (ERROR_REASONS as readonly string[]).includes(asked ?? "") ? (asked as RegistrationErrorReason) : "session";
    return render(c, deps, { title: "Registration error", body: <RegistrationError reason={reason} resetTtl={resetTtl} /> });
  });

  app.post("/register/reset", async (c) => {
    await requestRegistrationReset(deps, readCookie(c, deps.config, "flow"), who(c));
    return redirectTo(c, "/register/reset/sent");
  });

  app.get("/register/reset/sent", (c) => render(c, deps, { title: "Check your email", body: <ResetSent resetTtl={resetTtl} /> }));

  /* ── Having trouble logging in? ── */

  const resumeTtl = describeDuration(deps.config.ttl.resumeLink);

  app.get("/trouble", (c) => render(c, deps, { title: "Having trouble logging in?", body: <TroubleForm /> }));

  app.post("/trouble", async (c) => {
    const form = await parseForm(c, schemas.trouble);
    if (!form.ok) {
      const email = (form.fields.email ?? "").slice(0, 254);
      return render(c, deps, { title: "Having trouble logging in?", status: 400, body: <TroubleForm email={email} errors={form.errors} problem={summary(form.errors)} /> });
    }
    const result = await requestResumeLink(deps, form.data, who(c));
    if (!result.ok) {
      return render(c, deps, {
        title: "Having trouble logging in?",
        status: 429,
        body: <TroubleForm email={form.data.email} problem={tooMany(c, result.retryAfterSeconds)} />,
      });
    }
    return redirectTo(c, "/trouble/sent");
  });

  app.get("/trouble/sent", (c) => render(c, deps, { title: "Check your email", body: <TroubleSent ttl={resumeTtl} /> }));

  return app;
}

/** +12025550143 → (202) 555-0143, for the Phone Number field. */
function nationalFormat(e164: string | undefined): string {
  if (!e164 || !/^\+1\d{10}$/.test(e164)) return "";
  return `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}`;
}
