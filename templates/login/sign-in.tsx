import { Button, Heading, Status } from "../components.tsx";
import { StaffNote, StaffSection } from "../staff/sign-in.tsx";

/**
 * The sign-in page. The Customer/Provider section (on the right on wide screens, as the guide
 * shows it) holds Remember Me and the two Login buttons: one form, the pressed button names the
 * option. Staff addresses have their own sign-in elsewhere.
 */
export function SignInPage(props: {
  rememberEnabled: boolean;
  rememberHours: string;
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
      {props.notice ? (
        <div class="error-summary" role="alert">
          <p>{props.notice}</p>
        </div>
      ) : null}
      <div class="login-layout">
        <section class="provider panel" aria-labelledby="provider-heading">
          <h2 id="provider-heading">Customer/Provider</h2>
          <p>Sign in with the email address and password you created during registration, then confirm it is you by phone or by email.</p>
          <form method="post" action="/login" hx-post="/login" hx-target="#main" hx-swap="innerHTML" novalidate aria-labelledby="provider-heading">
            {props.returnTo ? <input type="hidden" name="rd" value={props.returnTo} /> : null}
            {props.prompt ? <input type="hidden" name="prompt" value="login" /> : null}
            {props.rememberEnabled ? (
              <>
                <div class="field checkbox">
                  <input type="checkbox" id="field-remember" name="remember" value="on" aria-describedby="remember-hint" />
                  <label for="field-remember">Remember Me</label>
                </div>
                <p class="hint" id="remember-hint">
                  Skips signing in on this browser for {props.rememberHours} when you use the same Login button. Do not use it on a
                  shared device. <a href="/help/remember-me">How Remember Me works</a>
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
            </div>
          </form>
          <ul>
            <li>
              <a href="/trouble">Having trouble logging in?</a>
            </li>
            <li>
              <a href="/help/mfa">Multi-Factor Authentication Help</a>
            </li>
          </ul>
        </section>
        <StaffSection enabled={props.staffEnabled === true} returnTo={props.returnTo} prompt={props.prompt} />
        <section class="about" aria-labelledby="about-heading">
          <h2 id="about-heading">Who signs in here</h2>
          <p>
            Customers and providers use the <strong>Customer/Provider</strong> login. Choose <strong>Login with Phone</strong> if you
            registered a direct phone line, or <strong>Login with Email</strong> if you registered for email codes.
          </p>
          <StaffNote enabled={props.staffEnabled === true} />
          <p>
            New to multi-factor authentication? Read <a href="/help/what-is-mfa">What is MFA and how it works</a>.
          </p>
        </section>
      </div>
    </section>
  );
}
