import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { render, type View } from "../render.tsx";
import {
  acceptResetTerms,
  checkResetCall,
  continueReset,
  resetStepPath,
  sendResetPhoneCode,
  setNewPassword,
  showResetStep,
  startPasswordReset,
  verifyResetCode,
  verifyResetSmsCode,
  type ResetState,
  type ResetView,
} from "../../flows/password-reset.ts";
import { FORM_UNREADABLE, readForm } from "../form.ts";
import { requestMeta, stepAnswers } from "./login.tsx";
import { NewPasswordStep, ResetCodeStep, ResetStart } from "../../../templates/password-reset/steps.tsx";
import { EmailVerifiedStep } from "../../../templates/login/email.tsx";
import { TermsStep } from "../../../templates/login/terms.tsx";
import { CallWaiting, PhoneChoice, SmsCodeEntry, type PhoneActions, type StepError } from "../../../templates/phone-factor.tsx";

const PHONE_ACTIONS: PhoneActions = {
  send: "/forgot-password/phone/send",
  call: "/forgot-password/phone/call",
  verify: "/forgot-password/phone/code",
  check: "/forgot-password/phone/call/check",
};

const startSchema = z.object({
  email: z
    .string({ message: "Enter your email address." })
    .trim()
    .min(1, "Enter your email address.")
    .max(320, "Enter an email address of at most 320 characters.")
    .pipe(z.email({ message: "Enter an email address in the form name@example.com." })),
});

const passwordSchema = z.object({
  password: z.string({ message: "Enter a new password." }).min(1, "Enter a new password.").max(4096, "Use at most 256 characters."),
  confirm: z.string({ message: "Type the new password again." }).min(1, "Type the new password again.").max(4096, "Use at most 256 characters."),
});

function resetStepView(deps: AppDeps, view: ResetView, error?: StepError, extra: { notYet?: boolean } = {}): View {
  switch (view.state) {
    case "code":
      return { title: "Enter the verification code", body: <ResetCodeStep email={view.email} codeLifetime={view.codeLifetime} error={error} /> };
    case "verified":
      return { title: "Email verified", body: <EmailVerifiedStep action="/forgot-password/verified" /> };
    case "phone_choose":
      return { title: "Verify your phone", body: <PhoneChoice heading="Verify your phone" maskedPhone={view.maskedPhone} actions={PHONE_ACTIONS} error={error} /> };
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
    case "new_password":
      return { title: "Choose a new password", body: <NewPasswordStep error={error} /> };
    case "terms":
      return { title: "Terms of Use", body: <TermsStep action="/forgot-password/terms" portalName={deps.config.portalName} error={error?.message} /> };
    default:
      return { title: "Forgot your password?", body: <ResetStart email="" /> };
  }
}

export function passwordResetRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const { flowToken, answer, again, unreadable, showStep, postCode, postCallCheck } = stepAnswers<ResetState, ResetView>(deps, { start: "/forgot-password", show: showResetStep, view: resetStepView });

  app.get("/forgot-password", (c) => {
    const expired = c.req.query("expired") === "1";
    return render(c, deps, {
      title: "Forgot your password?",
      body: <ResetStart email="" notice={expired ? "Your password reset was not finished in time, or it was interrupted. Start again." : undefined} />,
    });
  });

  app.post("/forgot-password", async (c) => {
    const form = await readForm(c);
    const parsed = startSchema.safeParse(form ?? {});
    if (!parsed.success) {
      const typed = typeof form?.email === "string" ? form.email.slice(0, 320) : "";
      return render(c, deps, {
        title: "Forgot your password?",
        status: 400,
        body: <ResetStart email={typed} error={{ field: "email", message: form ? parsed.error.issues[0]!.message : FORM_UNREADABLE }} />,
      });
    }
    const result = await startPasswordReset(deps, requestMeta(c, deps), parsed.data);
    if (result.kind === "error") {
      return render(c, deps, {
        title: "Forgot your password?",
        status: result.status,
        body: <ResetStart email={parsed.data.email} error={{ message: result.message, field: result.field }} />,
      });
    }
    return answer(c, result);
  });

  const steps: Array<[string, ResetState]> = [
    ["/forgot-password/code", "code"],
    ["/forgot-password/verified", "verified"],
    ["/forgot-password/phone", "phone_choose"],
    ["/forgot-password/phone/code", "phone_code"],
    ["/forgot-password/phone/call", "phone_call"],
    ["/forgot-password/new-password", "new_password"],
    ["/forgot-password/terms", "terms"],
  ];
  for (const [path, state] of steps) {
    if (resetStepPath(state) !== path) throw new Error(`reset step ${state} is served at ${resetStepPath(state)}, not ${path}`);
    app.get(path, (c) => showStep(c, state));
  }

  app.post("/forgot-password/code", (c) => postCode(c, "code", (code) => verifyResetCode(deps, requestMeta(c, deps), flowToken(c), code)));

  app.post("/forgot-password/verified", async (c) => answer(c, await continueReset(deps, requestMeta(c, deps), flowToken(c))));

  app.post("/forgot-password/phone/send", async (c) => answer(c, await sendResetPhoneCode(deps, requestMeta(c, deps), flowToken(c), "sms")));
  app.post("/forgot-password/phone/call", async (c) => answer(c, await sendResetPhoneCode(deps, requestMeta(c, deps), flowToken(c), "voice")));

  app.post("/forgot-password/phone/code", (c) => postCode(c, "phone_code", (code) => verifyResetSmsCode(deps, requestMeta(c, deps), flowToken(c), code)));

  app.post("/forgot-password/phone/call/check", (c) => postCallCheck(c, () => checkResetCall(deps, requestMeta(c, deps), flowToken(c))));

  app.post("/forgot-password/new-password", async (c) => {
    const form = await readForm(c);
    if (!form) return unreadable(c, ["new_password"]);
    const parsed = passwordSchema.safeParse(form);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return again(c, ["new_password"], { field: String(issue.path[0] ?? "password"), message: issue.message });
    }
    return answer(c, await setNewPassword(deps, requestMeta(c, deps), flowToken(c), parsed.data));
  });

  app.post("/forgot-password/terms", async (c) => {
    const form = await readForm(c);
    if (!form) return unreadable(c, ["terms"]);
    // Only the checkbox's own value agrees; an empty or forged value is not a tick.
    return answer(c, await acceptResetTerms(deps, requestMeta(c, deps), flowToken(c), form.agree === "on"));
  });

  return app;
}
