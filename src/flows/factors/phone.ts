import { describeDuration, smsCode, voiceCallIntro } from "../../delivery/messages.ts";
import type { Db } from "../../db/client.ts";
import { codeDestination, takeConfirmedVoiceCode } from "../../auth/codes.ts";
import { isLocked, recordSuccess } from "../../auth/lockout.ts";
import { maskPhone } from "../../auth/users.ts";
import { audit, type FlowDeps, type RequestMeta } from "../steps.ts";
import { checkTypedCode, sendCode, type CheckInput, type CheckOutcome, type FactorModule, type SendInput, type StartOutcome } from "./code.ts";

/**
 * The phone as a second factor: Send Code (an SMS with a code typed back) or Call Me (a call that
 * asks for the code shown on screen, then #: the person proves they hold both the phone and this
 * browser; an approve-only call invites a reflexive "#" from a victim). US direct lines only
 * (auth/phone.ts parses them before anything is sent).
 */
export type PhoneChannel = "sms" | "voice";

export interface PhoneStartInput extends Pick<SendInput, "flow" | "userId" | "purpose" | "move" | "withCode" | "event" | "detail" | "perAddress"> {
  channel: PhoneChannel;
  /** E.164, already parsed: the account's phone, or the number being proved at registration. */
  phone: string;
}

/** Sends the SMS or places the call (through the outbox). For a call, `keypadCode` is the code to show on screen. */
async function startPhone(deps: FlowDeps, meta: RequestMeta, input: PhoneStartInput): Promise<StartOutcome> {
  const ttlMs = input.channel === "sms" ? deps.config.ttl.smsCode : deps.config.ttl.voiceCall;
  const sent = await sendCode(deps, meta, {
    ...input,
    ttlMs,
    destination: input.phone,
    message: (code) =>
      input.channel === "sms"
        ? { channel: "sms", to: input.phone, ...smsCode(code.code, describeDuration(ttlMs), deps.config.portalName) }
        : { channel: "voice", to: input.phone, codeId: code.id, ...voiceCallIntro(deps.config.portalName) },
  });
  if (sent.kind !== "sent") return sent;
  return input.channel === "voice" ? { kind: "sent", flow: sent.flow, keypadCode: sent.code } : { kind: "sent", flow: sent.flow };
}

/**
 * Checks the phone: for SMS the typed code; for a call, whether the call confirmed its code (the
 * browser's poll or Continue). A call that is still ringing is pending; one that ended without
 * the code is a failure that counts nothing (the keyed digits were the call's to judge).
 */
async function checkPhone(deps: FlowDeps, meta: RequestMeta, input: CheckInput & { channel: PhoneChannel }, db?: Db): Promise<CheckOutcome> {
  if (input.channel === "sms") return checkTypedCode(deps, meta, { ...input, channel: "sms", code: input.code ?? "" }, db);
  if (input.respectLock && isLocked(input.user, deps.clock)) return { kind: "locked" };
  const taken = await takeConfirmedVoiceCode(db ?? deps.sql, deps.clock, { flowId: input.flow.id, purpose: input.purpose });
  if (taken.ok) {
    // A passed factor restarts the failure count, as a typed code's check does.
    const [destination] = await Promise.all([codeDestination(db ?? deps.sql, taken.codeId), recordSuccess(db ?? deps.sql, input.user.id)]);
    return { kind: "passed", destination };
  }
  if (taken.reason === "pending") return { kind: "pending", wrongTries: taken.wrongTries };
  await audit(deps, meta, "code.failed", input.user.id, { purpose: input.purpose, channel: "voice", reason: taken.reason }, db);
  return { kind: "failed", reason: taken.reason, locked: false };
}

/** What the page and the audit say of this factor; `amr` is what passing it proves (RFC 8176: sms, or tel for a call). */
function describePhone(channel: PhoneChannel, phone: string): { kind: "phone"; label: string; shown: string; amr: "sms" | "tel"; last4: string } {
  return { kind: "phone", label: `Phone ending ${phone.slice(-4)}`, shown: maskPhone(phone), amr: channel === "sms" ? "sms" : "tel", last4: phone.slice(-4) };
}

/**
 * What the call page says once a wrong code was keyed on the call (it asks again while tries
 * are left; Call Me places a new call with a new code).
 */
export const KEYED_WRONG_MESSAGE = "The code you entered on the phone was not correct. Key in the code shown on this page when the call asks again, or press Call Me to try again.";

export const phone = {
  start: startPhone,
  check: checkPhone,
  describe: describePhone,
} satisfies FactorModule<PhoneStartInput, CheckInput & { channel: PhoneChannel }, [channel: PhoneChannel, phone: string]>;
