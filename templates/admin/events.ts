import Bowser from "bowser";

/**
 * The audit log in plain words for the admin pages: each event's name as a sentence fragment an
 * auditor reads without the code, and the browser as "Chrome 120 on Windows" instead of the whole
 * user-agent string (which stays in the database and in the title attribute).
 */
export const EVENT_LABELS: Record<string, string> = {
  "factor.added": "Sign-in method added (authenticator app or passkey)",
  "factor.app_setup_started": "Authenticator app set-up started on the account page",
  "factor.passkey_refused": "Passkey not added: the browser's answer was refused",
  "factor.removed": "Sign-in method removed by the person (authenticator app or passkey)",
  "factor.remove_refused": "Sign-in method not removed: it was the account's last one",
  "factor.passkey_setup_started": "Passkey set-up started on the account page",
  "password_reset.app_verified": "Password reset: authenticator app code verified",
  "recovery_code.used": "Recovery code used in place of the second factor",
  "recovery_codes.issued": "New recovery codes shown",
  "recovery_codes.saved": "Recovery codes saved by the person",
  "registration.app_verified": "Registration: authenticator app verified",
  "registration.recovery_codes_saved": "Registration: recovery codes saved",
  "signin.passkey_failed": "Sign in with a passkey refused",
  "account.confirmation_asked": "Confirm it's you: a code sent before an account change",
  "account.confirmation_locked": "Confirm it's you refused: the account is locked",
  "account.locked": "Account locked after too many wrong attempts",
  "account.password_changed": "Password changed on the account page",
  "account.password_failed": "Change password: wrong current password",
  "account.phone_changed": "Phone number changed on the account page",
  "account.reauthenticated": "Confirmed it's you before an account change",
  "account.sessions_ended": "Other sessions signed out on the account page",
  "admin.application_added": "Application added by an administrator",
  "admin.application_edited": "Application changed by an administrator",
  "admin.application_removed": "Application removed by an administrator",
  "admin.application_secret_rotated": "Application's client secret replaced by an administrator",
  "application.backchannel_logout_failed": "An application could not be told of a sign-out (back-channel logout failed)",
  "admin.mfa_reset": "Multi-factor authentication reset by an administrator",
  "admin.registration_link_resent": "Registration link sent again by an administrator",
  "admin.membership_changed": "Organization role changed by an administrator",
  "admin.role_changed": "Role changed by an administrator",
  "admin.user_created": "User created by an administrator",
  "admin.user_disabled": "User disabled by an administrator",
  "admin.user_enabled": "User enabled by an administrator",
  "admin.user_unlocked": "User unlocked by an administrator",
  "code.failed": "Wrong or expired verification code",
  "code.rate_limited": "Too many code attempts: refused for a while",
  "code.send_limited": "Too many codes asked for: refused for a while",
  "code.sent": "Verification code sent",
  "password.rehashed": "Stored password upgraded to a stronger hash",
  "password.reset": "Password reset",
  "password_reset.email_verified": "Password reset: email verified",
  "password_reset.no_account": "Password reset asked for an unknown address",
  "password_reset.phone_verified": "Password reset: phone verified",
  "password_reset.recovery_code_verified": "Password reset: recovery code used",
  "password_reset.requested": "Password reset asked for",
  "password_reset.staff_refused": "Password reset refused: a staff address",
  "registration.call_started": "Registration: verification call placed",
  "registration.completed": "Registration finished",
  "registration.email_code_sent": "Registration: email code sent",
  "registration.email_verified": "Registration: email verified",
  "registration.invited": "Invited to register",
  "registration.link_opened": "Registration link opened",
  "registration.link_refused": "Registration link refused (expired, used or not valid)",
  "registration.method_chosen": "Registration: method chosen",
  "registration.mfa_reset_completed": "Multi-factor authentication set up again",
  "registration.password_created": "Registration: password created",
  "registration.phone_code_sent": "Registration: text message code sent",
  "registration.phone_verified": "Registration: phone verified",
  "registration.reset_ignored": "Registration Reset pressed: nothing to send",
  "registration.reset_sent": "Registration Reset: link emailed",
  "registration.resume_ignored": "Having trouble logging in?: nothing to send",
  "registration.resume_password_failed": "Having trouble logging in?: wrong password",
  "registration.resume_sent": "Having trouble logging in?: link emailed",
  "registration.send_limited": "Registration: too many codes asked for",
  "signin.locked": "Sign-in refused: account locked",
  "signin.option_switched": "Sign-in switched to Login with Email",
  "signin.password_failed": "Sign-in: wrong email address or password",
  "signin.password_verified": "Sign-in: password accepted",
  "signin.rate_limited": "Sign-in: too many attempts from this address",
  "signin.remembered": "Signed in through Remember Me",
  "signin.staff_redirected": "Sign-in: staff address sent to Staff Login",
  "signin.staff_refused": "Sign-in refused: a staff address",
  "signin.success": "Signed in",
  "signin.wrong_option": "Sign-in: Login with Phone on an email account",
  "staff.account_created": "Staff account created at first Staff Login",
  "staff.email_kept": "Staff sign-in: email address kept",
  "staff.rate_limited": "Staff Login: too many attempts",
  "staff.refused": "Staff Login refused",
  "staff.role_changed": "Staff role changed by the organization's groups",
  "staff.signed_in": "Signed in through Staff Login",
  "terms.accepted": "Terms of Use accepted",
};

/** An event's plain words; an event not listed yet reads as its name with spaces ("org.member_added" → "org member added"). */
export function describeEvent(event: string): string {
  return EVENT_LABELS[event] ?? event.replace(/[._]/g, " ");
}

/** "Chrome 120 on Windows", "Safari 17 on iOS"; what cannot be parsed is cut to 40 characters. */
export function shortBrowser(userAgent: string | null | undefined): string {
  if (!userAgent) return "";
  const parsed = Bowser.parse(userAgent);
  const name = parsed.browser.name;
  if (!name) return userAgent.length > 40 ? `${userAgent.slice(0, 39)}…` : userAgent;
  const major = parsed.browser.version?.split(".")[0];
  const os = parsed.os.name;
  return `${name}${major ? ` ${major}` : ""}${os ? ` on ${os}` : ""}`;
}
