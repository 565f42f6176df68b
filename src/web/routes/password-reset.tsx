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
  verifyResetAppCode,
  showResetRecoveryStep,
  verifyResetRecoveryCode,
  RESET_SECOND_FACTOR_STATES,
  type ResetState,
  type ResetView,
} from "../../flows/password-reset.ts";
import { validForm, type FormProblem } from "../form.ts";
import { answer, flowToken, requestMeta, showAgain, phoneStepView, type C, type StepExtra, type StepPages } from "../steps.tsx";
import { agreeSchema, codeSchema, emailField, pollSchema, recoverySchema, wrongShown } from "../fields.ts";
import { NewPasswordStep, ResetCodeStep, ResetStart } from "../../../templates/password-reset/steps.tsx";
import { EmailVerifiedStep } from "../../../templates/login/email.tsx";
import { TermsAgainStep } from "../../../templates/login/terms.tsx";
import { AppCodeStep } from "../../../templates/login/app.tsx";
import { RecoveryCodeEntry, UseRecoveryCodeLink } from "../../../templates/recovery-codes.tsx";
import type { PhoneActions, StepError } from "../../../templates/phone-factor.tsx";

/** Forgot your password?, mounted at /forgot-password. */

const PHONE_ACTIONS: PhoneActions = {
  send: "/forgot-password/phone/send",
  call: "/forgot-password/phone/call",
  verify: "/forgot-password/phone/code",
  check: "/forgot-password/phone/call/check",
};

const startSchema = z.object({ email: emailField });

const passwordSchema = z.object({
  password: z.string({ message: "Enter a new password." }).min(1, "Enter a new password.").max(4096, "Use at most 256 characters."),
  confirm: z.string({ message: "Type the new password again." }).min(1, "Type the new password again.").max(4096, "Use at most 256 characters."),
});

function resetStepView(deps: AppDeps, view: ResetView, error?: StepError, extra: StepExtra = {}): View {
  const page = stepPage(deps, view, error, extra);
  // Every second-factor step offers a recovery code instead (product.md §8), as sign-in does.
  if (!RESET_SECOND_FACTOR_STATES.includes(view.state)) return page;
  return { ...page, body: <>{page.body}<UseRecoveryCodeLink href="/forgot-password/recovery" /></> };
}

function stepPage(deps: AppDeps, view: ResetView, error?: StepError, extra: StepExtra = {}): View {
  switch (view.state) {
    case "code":
      return { title: "Enter the verification code", body: <ResetCodeStep email={view.email} codeLifetime={view.codeLifetime} error={error} /> };
    case "verified":
      return { title: "Email verified", body: <EmailVerifiedStep action="/forgot-password/verified" /> };
    case "phone_choose":
    case "phone_code":
    case "phone_call": {
      const page = view.state === "phone_choose" ? "choose" : view.state === "phone_code" ? "code" : "call";
      return phoneStepView(page, { chooseHeading: "Verify your phone", maskedPhone: view.maskedPhone, keypadCode: view.keypadCode, actions: PHONE_ACTIONS, error, notYet: extra.notYet, wrongTries: extra.wrongTries });
    }
    case "app_code":
      return { title: "Enter the code from your authenticator app", body: <AppCodeStep error={error} action="/forgot-password/app" /> };
    case "recovery":
      return {
        title: "Use a recovery code",
        body: <RecoveryCodeEntry action="/forgot-password/recovery" back={view.back ?? "/forgot-password"} error={error?.field === "code" ? error.message : undefined} problem={error?.message} />,
      };
    case "new_password":
      return { title: "Choose a new password", body: <NewPasswordStep error={error} fieldErrors={extra.fieldErrors} /> };
    case "terms":
      return { title: "Terms of Use", body: <TermsAgainStep action="/forgot-password/terms" portalName={deps.config.portalName} error={error?.message} /> };
  }
}

const PAGES: StepPages<ResetView> = {
  start: "/forgot-password",
  view: resetStepView,
  waitingPath: (view) => (view.state === "phone_call" ? resetStepPath("phone_call") : null),
};

/* ── handlers ── */

function startPage(c: C, deps: AppDeps, props: { email: string; error?: StepError; notice?: string; status?: View["status"] }) {
  return render(c, deps, { title: "Forgot your password?", status: props.status, body: <ResetStart email={props.email} error={props.error} notice={props.notice} /> });
}

function showStart(c: C, deps: AppDeps): Response {
  const expired = c.req.query("expired") === "1";
  return startPage(c, deps, { email: "", notice: expired ? "Your password reset was not finished in time, or it was interrupted. Start again." : undefined });
}

function startInvalid(c: C, deps: AppDeps, problem: FormProblem): Response {
  const message = problem.errors.email ?? problem.errors.form ?? "Enter your email address.";
  return startPage(c, deps, { email: (problem.fields.email ?? "").slice(0, 320), error: { field: "email", message }, status: 400 });
}

async function postStart(c: C, deps: AppDeps, form: z.output<typeof startSchema>): Promise<Response> {
  const result = await startPasswordReset(deps, requestMeta(c, deps), form);
  if (result.kind === "error") return startPage(c, deps, { email: form.email, error: { message: result.message, field: result.field }, status: result.status });
  return answer(c, deps, PAGES, result);
}

async function showStep(c: C, deps: AppDeps, state: ResetState): Promise<Response> {
  return answer(c, deps, PAGES, await showResetStep(deps, flowToken(c, deps), [state]));
}

async function again(c: C, deps: AppDeps, state: ResetState, problem: FormProblem): Promise<Response> {
  return showAgain(c, deps, PAGES, await showResetStep(deps, flowToken(c, deps), [state]), problem);
}

/* ── the routes ── */

const STEPS: Array<[string, ResetState]> = [
  ["/code", "code"],
  ["/verified", "verified"],
  ["/phone", "phone_choose"],
  ["/phone/code", "phone_code"],
  ["/phone/call", "phone_call"],
  ["/app", "app_code"],
  ["/new-password", "new_password"],
  ["/terms", "terms"],
];

export function passwordResetRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const meta = (c: C) => requestMeta(c, deps);
  const token = (c: C) => flowToken(c, deps);
  const onStep = (state: ResetState) => (c: C, problem: FormProblem) => again(c, deps, state, problem);

  app.get("/", (c) => showStart(c, deps));
  app.post("/", validForm(startSchema, (c: C, problem) => startInvalid(c, deps, problem)), (c) => postStart(c, deps, c.req.valid("form")));

  for (const [path, state] of STEPS) {
    if (resetStepPath(state) !== `/forgot-password${path}`) throw new Error(`reset step ${state} is served at ${resetStepPath(state)}, not /forgot-password${path}`);
    app.get(path, (c) => showStep(c, deps, state));
  }

  app.post("/code", validForm(codeSchema, onStep("code")), async (c) => answer(c, deps, PAGES, await verifyResetCode(deps, meta(c), token(c), c.req.valid("form").code)));
  app.post("/verified", async (c) => answer(c, deps, PAGES, await continueReset(deps, meta(c), token(c))));
  app.post("/phone/send", async (c) => answer(c, deps, PAGES, await sendResetPhoneCode(deps, meta(c), token(c), "sms")));
  app.post("/phone/call", async (c) => answer(c, deps, PAGES, await sendResetPhoneCode(deps, meta(c), token(c), "voice")));
  app.post("/phone/code", validForm(codeSchema, onStep("phone_code")), async (c) =>
    answer(c, deps, PAGES, await verifyResetSmsCode(deps, meta(c), token(c), c.req.valid("form").code)),
  );
  app.post("/phone/call/check", validForm(pollSchema, onStep("phone_call")), async (c) =>
    answer(c, deps, PAGES, await checkResetCall(deps, meta(c), token(c)), { poll: c.req.valid("form").poll === "1", wrongShown: wrongShown(c.req.valid("form")) }),
  );
  app.post("/app", validForm(codeSchema, onStep("app_code")), async (c) => answer(c, deps, PAGES, await verifyResetAppCode(deps, meta(c), token(c), c.req.valid("form").code)));
  app.get("/recovery", async (c) => answer(c, deps, PAGES, await showResetRecoveryStep(deps, token(c))));
  app.post(
    "/recovery",
    validForm(recoverySchema, async (c: C, problem: FormProblem) => showAgain(c, deps, PAGES, await showResetRecoveryStep(deps, token(c)), problem)),
    async (c) => answer(c, deps, PAGES, await verifyResetRecoveryCode(deps, meta(c), token(c), c.req.valid("form").code)),
  );
  app.post("/new-password", validForm(passwordSchema, onStep("new_password")), async (c) =>
    answer(c, deps, PAGES, await setNewPassword(deps, meta(c), token(c), c.req.valid("form"))),
  );
  app.post("/terms", validForm(agreeSchema, onStep("terms")), async (c) =>
    answer(c, deps, PAGES, await acceptResetTerms(deps, meta(c), token(c), c.req.valid("form").agree === "on")),
  );

  return app;
}
