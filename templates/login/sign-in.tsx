import { Button, ErrorSummary, Heading, Status } from "../components.tsx";
import { StaffNote, StaffSection } from "../staff/sign-in.tsx";

/**
 * The sign-in page. The Customer/Provider section (on the right on wide screens, as the guide
 * shows it) holds Remember Me and the two Login buttons: one form, the pressed button names the
 * option. Staff addresses have their own sign-in elsewhere.
 */
export function SignInPage(props: {
  rememberEnabled: boolean;
  rememberHours: string;
  /** This browser holds a live Remember Me token: the box stands checked (unchecking it forgets the token). */
  remembered?: boolean;
  notice?: string;
  signedOut?: boolean;
  /** Where the sign-in goes once finished (already checked), carried by the form. */
  returnTo?: string;
  /** prompt=login: signed in already, signing in again replaces the session. */
  prompt?: boolean;
  /** Staff sign-in is set up (STAFF_OIDC_*): the Staff section offers Staff Login. */
  staffEnabled?: boolean;
}) {
  return (
    <section>
      <Heading>Sign in</Heading>
      <Status message={props.signedOut ? "You are signed out." : null} />
      <ErrorSummary message={props.notice} />
      <div class="login-layout">
        {/* The left column first in the page as on screen, so the tab order follows what is seen. */}
        <div class="login-side">
          <StaffSection enabled={props.staffEnabled === true} returnTo={props.returnTo} prompt={props.prompt} />
          <section class="about" aria-labelledby="about-heading">
            <h2 id="about-heading">Who signs in here</h2>
            <p>
              Customers and providers use the <strong>Customer/Provider</strong> sign-in. Choose <strong>Login with Phone</strong> if you
              registered a direct phone line, <strong>Login with Email</strong> if you registered for email codes, or{" "}
              <strong>Login with Authenticator App</strong> if you set up an authenticator app (
              <a href="/help/authenticator-app">Authenticator apps</a>). If you added a passkey and JavaScript is on,{" "}
              <strong>Sign in with a passkey</strong> needs no email address or password (<a href="/help/passkeys">Passkeys</a>).
            </p>
            <StaffNote enabled={props.staffEnabled === true} />
            <p>
              New to multi-factor authentication? Read <a href="/help/what-is-mfa">What is MFA and how it works</a>.
            </p>
          </section>
        </div>
        <section class="provider panel" aria-labelledby="provider-heading">
          <h2 id="provider-heading">Customer/Provider</h2>
          <p>
            Sign in with the email address and password you created during registration, then confirm it is you by phone, by email or
            with your authenticator app.
          </p>
          <form method="post" action="/login" hx-post="/login" hx-target="#main" hx-swap="innerHTML" novalidate aria-labelledby="provider-heading">
            {props.returnTo ? <input type="hidden" name="rd" value={props.returnTo} /> : null}
            {props.prompt ? <input type="hidden" name="prompt" value="login" /> : null}
            {props.rememberEnabled ? (
              <>
                <div class="field checkbox">
                  <input type="checkbox" id="field-remember" name="remember" value="on" checked={props.remembered === true} aria-describedby="remember-hint" />
                  <label for="field-remember">Remember Me</label>
                </div>
                <p class="hint" id="remember-hint">
                  Skips signing in on this browser for {props.rememberHours} when you use the same Login button. Do not use it on a
                  shared device.{props.remembered ? " This browser is remembered now: uncheck the box before pressing a Login button to forget it." : ""} <a href="/help/remember-me">How Remember Me works</a>
                </p>
              </>
            ) : null}
            <div class="actions">
              <Button name="option" value="phone">
                Login with Phone
              </Button>
              <Button name="option" value="email">
                Login with Email
              </Button>
              <Button name="option" value="totp">
                Login with Authenticator App
              </Button>
            </div>
          </form>
          {/* Sign in with a passkey: the button is made by static/passkey.js, so it is absent without JavaScript. */}
          <div class="passkey-signin" data-passkey-signin data-rd={props.returnTo ?? ""} hidden></div>
          <ul>
            <li>
              <a href="/trouble">Having trouble logging in?</a>
            </li>
            <li>
              <a href="/help/mfa">Multi-Factor Authentication Help</a>
            </li>
          </ul>
        </section>
      </div>
    </section>
  );
}
