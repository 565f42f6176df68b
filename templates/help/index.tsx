import { Heading, SupportContact } from "../components.tsx";

/** /help: every help page, and the pages that fix the common problems. */
export function HelpIndex(props: { supportContact: string | null }) {
  return (
    <section class="help-text">
      <Heading>Help</Heading>
      <ul>
        <li>
          <a href="/help/what-is-mfa">What is MFA and how it works</a>
        </li>
        <li>
          <a href="/help/remember-me">Remember Me and setting up your browser</a>
        </li>
        <li>
          <a href="/help/authenticator-app">Authenticator apps</a>: what they are, which ones work, and how to set one up.
        </li>
        <li>
          <a href="/help/passkeys">Passkeys</a>: signing in with your fingerprint, face or device PIN.
        </li>
        <li>
          <a href="/help/recovery-codes">Recovery codes</a>: what to do with them, and how to get new ones.
        </li>
        <li>
          <a href="/help/mfa">Multi-Factor Authentication Help</a>: tell us what went wrong and we show you what to do.
        </li>
        <li>
          <a href="/trouble">Having trouble logging in?</a>: you started registering but did not finish.
        </li>
        <li>
          <a href="/forgot-password">Forgot your password?</a>
        </li>
      </ul>
      <p>
        <SupportContact contact={props.supportContact} lead="For anything else, contact your portal administrator" />
      </p>
      <p>
        <a href="/login">Go to the sign-in page</a>
      </p>
    </section>
  );
}
