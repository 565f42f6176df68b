import { describeDuration, emailLoginCode, emailVerificationCode, passwordResetCode } from "../../delivery/messages.ts";
import type { Db } from "../../db/client.ts";
import type { FlowDeps, RequestMeta } from "../steps.ts";
import { checkTypedCode, sendCode, type CheckInput, type CheckOutcome, type FactorModule, type SendInput, type StartOutcome } from "./code.ts";

/**
 * The emailed code as a second factor (Login with Email) and as the proof of an address
 * (registration, password reset): a 6-digit code to the account's own address, typed back.
 * NIST 800-63B-4 does not count email as out-of-band; the guide requires it (see the README).
 */

/** Which email the code comes in: the words differ, the code does not. */
export type EmailWording = "login" | "verification" | "password_reset";

const WORDINGS = { login: emailLoginCode, verification: emailVerificationCode, password_reset: passwordResetCode };

export interface EmailStartInput extends Pick<SendInput, "flow" | "userId" | "purpose" | "ttlMs" | "move" | "event" | "detail" | "perAddress"> {
  /** The account's own address: codes never go anywhere a form names. */
  email: string;
  wording: EmailWording;
}

function startEmailCode(deps: FlowDeps, meta: RequestMeta, input: EmailStartInput): Promise<StartOutcome> {
  const lifetime = describeDuration(input.ttlMs);
  return sendCode(deps, meta, {
    ...input,
    channel: "email",
    destination: input.email,
    message: ({ code }) => ({ channel: "email", to: input.email, ...WORDINGS[input.wording](code, lifetime, deps.config.portalName) }),
  });
}

function checkEmailCode(deps: FlowDeps, meta: RequestMeta, input: CheckInput & { code: string }, db?: Db): Promise<CheckOutcome> {
  return checkTypedCode(deps, meta, { ...input, channel: "email" }, db);
}

/** What the page and the audit say of this factor; `amr` is what passing it proves (RFC 8176). */
function describeEmailCode(email: string): { kind: "email"; label: string; shown: string; amr: "email" } {
  return { kind: "email", label: "Email", shown: email, amr: "email" };
}

export const emailCode = {
  start: startEmailCode,
  check: checkEmailCode,
  describe: describeEmailCode,
} satisfies FactorModule<EmailStartInput, CheckInput & { code: string }, [email: string]>;
