/**
 * The words of every email, SMS and call. Each message carries only the one code or link it
 * is for, says how long that lives, and tells the reader what to do if they did not ask.
 */
import { DAY, HOUR, MINUTE, SECOND } from "../clock.ts";

export interface MessageText {
  subject?: string;
  text: string;
}

/** 2 days, 20 minutes, 30 seconds, 1 hour: a duration setting in words for a message. */
export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [DAY, "day"],
    [HOUR, "hour"],
    [MINUTE, "minute"],
    [SECOND, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  const seconds = Math.max(1, Math.round(ms / SECOND));
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

const IGNORE = "If you did not expect this email, you can ignore it.";

export function registrationLink(portalName: string, link: string, ttlText: string): MessageText {
  return {
    subject: `Register for ${portalName}`,
    text: [
      `An account has been created for you on ${portalName}.`,
      `To register, open this link:\n${link}`,
      `The link works once and expires in ${ttlText}. If it has expired, ask your portal administrator for a new one.`,
      IGNORE,
    ].join("\n\n"),
  };
}

export function registrationResetLink(portalName: string, link: string, ttlText: string): MessageText {
  return {
    subject: `Continue your registration for ${portalName}`,
    text: [
      `You asked to continue your registration for ${portalName}.`,
      `Open this link to pick up where you left off:\n${link}`,
      `The link works once and expires in ${ttlText}.`,
      IGNORE,
    ].join("\n\n"),
  };
}

export function resumeLink(portalName: string, link: string, ttlText: string): MessageText {
  return {
    subject: `Finish your registration for ${portalName}`,
    text: [
      `You asked for help finishing your registration for ${portalName}.`,
      `Open this link to continue at the first step you have not finished:\n${link}`,
      `The link works once and expires in ${ttlText}.`,
      IGNORE,
    ].join("\n\n"),
  };
}

export function mfaResetLink(portalName: string, link: string, ttlText: string): MessageText {
  return {
    subject: `Set up multi-factor authentication again for ${portalName}`,
    text: [
      `Your portal administrator reset how you confirm your sign-ins to ${portalName}.`,
      `Open this link to choose your phone or email again:\n${link}`,
      `The link works once and expires in ${ttlText}.`,
      "If you did not ask your administrator for this, contact them.",
    ].join("\n\n"),
  };
}

function codeEmail(subject: string, lead: string, code: string, ttlText: string): MessageText {
  return {
    subject,
    text: [lead, `Your code is: ${code}`, `It expires in ${ttlText} and works once. Never share it with anyone.`, IGNORE].join("\n\n"),
  };
}

export function emailVerificationCode(code: string, ttlText: string, portalName?: string): MessageText {
  return codeEmail("Your email verification code", `Enter this code to verify your email address${portalName ? ` for ${portalName}` : ""}.`, code, ttlText);
}

export function emailLoginCode(code: string, ttlText: string, portalName?: string): MessageText {
  return codeEmail("Your sign-in code", `Enter this code to finish signing in${portalName ? ` to ${portalName}` : ""}.`, code, ttlText);
}

export function passwordResetCode(code: string, ttlText: string, portalName?: string): MessageText {
  return codeEmail("Your password reset code", `Enter this code to reset your password${portalName ? ` for ${portalName}` : ""}.`, code, ttlText);
}

export function reauthenticationCode(code: string, ttlText: string, portalName?: string): MessageText {
  return codeEmail("Your code to confirm it's you", `Enter this code on your account page${portalName ? ` of ${portalName}` : ""} to confirm it's you before a change.`, code, ttlText);
}

/** A text message says first whom it is from: a code with no sender's name is a phishing kit's gift. */
export function smsCode(code: string, ttlText?: string, portalName?: string): MessageText {
  return { text: `${portalName ? `${portalName}: ` : ""}Your verification code is ${code}.${ttlText ? ` It expires in ${ttlText}.` : ""} Never share it.` };
}

/** What every call asks for: the code shown on the screen that asked for the call. */
export const KEYPAD_PROMPT = "Key in the code shown on your screen, then press the pound key.";

/** The words of a verification call, up to and including the request for the keypad code. */
export function voiceCallIntro(portalName: string): MessageText {
  return { text: `Hello. This is ${portalName}, calling to verify your phone. ${KEYPAD_PROMPT}` };
}

/** What a call says while it gathers digits: its text, with the keypad prompt if the text lacks it. */
export function spokenText(text: string): string {
  return text.includes(KEYPAD_PROMPT) ? text : `${text} ${KEYPAD_PROMPT}`.trim();
}

export function passwordChangedNotice(portalName: string): MessageText {
  return {
    subject: `Your ${portalName} password was changed`,
    text: [
      `The password of your ${portalName} account was just changed, and every other sign-in of your account was ended.`,
      "If you did this, there is nothing more to do.",
      "If you did not, contact your portal administrator right away.",
    ].join("\n\n"),
  };
}

/** After a change on the account page: what changed, where it was done from, what to do if it was not them. */
function accountNotice(portalName: string, subject: string, lead: string): MessageText {
  return {
    subject,
    text: [lead, "If you did this, there is nothing more to do.", "If you did not, reset your password and contact your portal administrator right away."].join(
      "\n\n",
    ),
  };
}

export function accountPasswordChangedNotice(portalName: string): MessageText {
  return accountNotice(
    portalName,
    `Your ${portalName} password was changed`,
    `The password of your ${portalName} account was just changed from your account page, and every other sign-in of your account was ended.`,
  );
}

export function phoneChangedNotice(portalName: string, newLast4: string): MessageText {
  return accountNotice(
    portalName,
    `Your ${portalName} phone number was changed`,
    `The phone number of your ${portalName} account was just changed to the number ending ${newLast4}. Codes and calls now go to that number.`,
  );
}

export function sessionsEndedNotice(portalName: string, count: number): MessageText {
  return accountNotice(
    portalName,
    `Sessions of your ${portalName} account were signed out`,
    `${count === 1 ? "One other sign-in" : `${count} other sign-ins`} of your ${portalName} account ${count === 1 ? "was" : "were"} just signed out from your account page.`,
  );
}

/** Sent each time a recovery code stands in for the second factor (NIST 800-63B-4 §3.1.2: a notice on every use). */
export function recoveryCodeUsedNotice(portalName: string, left: number): MessageText {
  return {
    subject: `A recovery code was used for your ${portalName} account`,
    text: [
      `A recovery code was just used in place of your second factor on your ${portalName} account (to sign in, to confirm it's you, or to reset your password). That code no longer works; ${left} of your recovery codes ${left === 1 ? "is" : "are"} left.`,
      "If you did this, there is nothing more to do. When few codes are left, generate new ones on your Account page.",
      "If you did not, contact your portal administrator right away: someone may hold your recovery codes.",
    ].join("\n\n"),
  };
}

/** Sent when a new sign-in method (an authenticator app, a passkey) or new recovery codes were added to an account. */
export function factorRemovedNotice(portalName: string, what: string): MessageText {
  return {
    subject: `A sign-in method was removed from your ${portalName} account`,
    text: [
      `${what} was just removed from your ${portalName} account. It can no longer be used to sign in.`,
      "If you did this, there is nothing more to do.",
      "If you did not, change your password and contact your portal administrator right away.",
    ].join("\n\n"),
  };
}

export function factorAddedNotice(portalName: string, what: string): MessageText {
  return {
    subject: `A sign-in method was added to your ${portalName} account`,
    text: [
      `${what} was just added to your ${portalName} account.`,
      "If you did this, there is nothing more to do.",
      "If you did not, contact your portal administrator right away.",
    ].join("\n\n"),
  };
}
