import type { ActivityEvent } from "../../src/flows/account.ts";

/** Recent activity in plain words: what happened to the person's account, never an event name. */
const OPTION_WORDS: Record<string, string> = { phone: "Login with Phone", email: "Login with Email", totp: "Login with Authenticator App", passkey: "Sign in with a passkey" };

function option(detail: Record<string, unknown>): string {
  return typeof detail.option === "string" && OPTION_WORDS[detail.option] ? ` (${OPTION_WORDS[detail.option]})` : "";
}

export const ACTIVITY_WORDS: Record<ActivityEvent, (detail: Record<string, unknown>) => string> = {
  "signin.success": (d) => (d.via === "password_reset" ? "Signed in after resetting the password" : `Signed in${option(d)}`),
  "signin.remembered": (d) => `Signed in with Remember Me${option(d)}`,
  "staff.signed_in": () => "Signed in through your organization's sign-in",
  "registration.completed": () => "Finished registering and signed in",
  "registration.mfa_reset_completed": () => "Set up multi-factor authentication again",
  "signin.locked": () => "Account locked after too many wrong tries",
  "password.reset": () => "Password reset (Forgot your password?)",
  "account.password_changed": () => "Password changed; every other session was signed out",
  "account.phone_changed": (d) => `Phone number changed${typeof d.last4 === "string" ? ` to the number ending ${d.last4}` : ""}`,
  "account.sessions_ended": (d) => (d.count === 1 ? "Another session was signed out" : `${typeof d.count === "number" ? d.count : "Other"} sessions were signed out`),
  "admin.mfa_reset": () => "Your administrator reset your multi-factor authentication",
  "admin.user_unlocked": () => "Your administrator unlocked your account",
  "factor.added": (d) => (d.kind === "totp" ? "Authenticator app added" : d.kind === "passkey" ? "Passkey added" : "Sign-in method added"),
  "factor.removed": (d) => (d.kind === "totp" ? "Authenticator app removed" : d.kind === "passkey" ? "Passkey removed" : "Sign-in method removed"),
  "recovery_code.used": (d) => `A recovery code was used${typeof d.left === "number" ? ` (${d.left} left)` : ""}`,
};

export function describeActivity(event: string, detail: Record<string, unknown>): string {
  const words = (ACTIVITY_WORDS as Record<string, ((d: Record<string, unknown>) => string) | undefined>)[event];
  return words ? words(detail) : "Account activity";
}
