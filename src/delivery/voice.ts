import type { Clock } from "../clock.ts";
import type { Db } from "../db/client.ts";
import { codeHasTriesLeft, confirmVoiceCode } from "../auth/codes.ts";
import { gatherTwiml, loadTwilio } from "./twilio.ts";

export type KeyedOutcome = "confirmed" | "wrong" | "wrong_last" | "expired" | "exhausted" | "none";

/**
 * Digits keyed during a call (Twilio's webhook, or the dev outbox standing in for a phone):
 * confirms the code through the auth area, and after a wrong code says whether a try is left,
 * so the call asks again only when asking can still help.
 */
export async function answerCall(db: Db, clock: Clock, secretKey: string, codeId: string, digits: string): Promise<KeyedOutcome> {
  const result = await confirmVoiceCode(db, clock, secretKey, codeId, digits.trim().replace(/#$/, ""));
  if (result !== "wrong") return result;
  return (await codeHasTriesLeft(db, clock, codeId)) ? "wrong" : "wrong_last";
}

export const CONFIRMED_SPEECH = "Thank you. Your phone is verified. You can return to your screen.";
export const WRONG_SPEECH = "That code was not right.";

/** The TwiML that answers the keyed digits: thanks, ask again, or goodbye. */
export function callReplyTwiml(publicUrl: string, codeId: string, outcome: KeyedOutcome): string {
  if (outcome === "wrong") return gatherTwiml(publicUrl, codeId, WRONG_SPEECH);
  const response = new (loadTwilio().twiml.VoiceResponse)();
  response.say(
    {
      confirmed: CONFIRMED_SPEECH,
      wrong_last: "That code was not right, and no tries are left. Start again on your screen. Goodbye.",
      expired: "This code has expired. Start again on your screen. Goodbye.",
      exhausted: "Too many wrong codes were keyed in. Start again on your screen. Goodbye.",
      none: "This call can no longer verify your phone. Start again on your screen. Goodbye.",
    }[outcome],
  );
  response.hangup();
  return response.toString();
}
