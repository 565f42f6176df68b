import { Heading } from "../components.tsx";

/** The apps that work are any that make RFC 6238 time-based codes; these are the ones people ask about. */
export const AUTHENTICATOR_APPS = ["Google Authenticator", "Microsoft Authenticator", "Authy", "1Password", "Bitwarden", "FreeOTP"] as const;

/** What an authenticator app is, which ones work, how to set one up and sign in with it: in the guide's words and order. */
export function AuthenticatorAppHelp(props: { lockoutThreshold: number; lockoutDuration: string }) {
  return (
    <article>
      <Heading>Authenticator apps</Heading>
      <h2>What is an authenticator app?</h2>
      <p>
        An authenticator app is a free app on your phone or tablet that shows a new 6-digit code every 30 seconds. You connect it to the
        portal once, by scanning a QR code. After that the app makes the codes on your device, so it works without a phone signal, a
        text message or an email.
      </p>
      <p>
        To log in, you type your password and then the code the app shows. Only the correct password combined with the current code
        from your app gives you access.
      </p>
      <h2>Which apps work?</h2>
      <p>
        Any authenticator app for time-based codes works (the standard is called TOTP, RFC 6238). For example:
      </p>
      <ul>
        {AUTHENTICATOR_APPS.map((name) => (
          <li>{name}</li>
        ))}
      </ul>
      <p>Password managers that show verification codes for your accounts work too. Use the app store on your phone to install one.</p>

      <h2>Set up an authenticator app</h2>
      <p>
        During registration, click the <strong>Authenticator App</strong> button. If you are already registered, sign in, open your{" "}
        <strong>Account</strong> page and click <strong>Add an authenticator app</strong>. Then:
      </p>
      <ol>
        <li>Open the authenticator app and choose to add an account.</li>
        <li>
          Scan the QR code shown on the page. If you cannot scan it, enter the secret key shown under the QR code instead (spaces do not
          matter).
        </li>
        <li>
          Enter the 6-digit code the app shows in <strong>Verification Code</strong>, then click <strong>Verify Code</strong>.
        </li>
        <li>
          Save your recovery codes: they let you sign in if you lose your phone. See{" "}
          <a href="/help/recovery-codes">Recovery codes</a>.
        </li>
      </ol>

      <h2>Login with Authenticator App</h2>
      <p>
        Click <strong>Login with Authenticator App</strong>, enter your email address and password, then enter the code the app shows
        now and click <strong>Verify Code</strong>.
      </p>
      <p>
        <strong>NOTES:</strong>
      </p>
      <ol>
        <li>Each code works once. If a code is refused, wait for the app to show the next one and enter that.</li>
        <li>The codes depend on the time on your phone: make sure your phone sets its date and time automatically.</li>
        <li>
          After {props.lockoutThreshold} failed tries in a row (passwords and codes together), sign-in is blocked for{" "}
          {props.lockoutDuration}.
        </li>
      </ol>

      <h2>If you lose your phone</h2>
      <p>
        Click <strong>Use a recovery code</strong> on the step that asks for the code, and enter one of your recovery codes. Then set up
        the app again on your new phone from your Account page. If you have no recovery codes left, contact your portal administrator
        and ask them to reset your multi-factor authentication.
      </p>
      <p>
        <a href="/help">All help pages</a>
      </p>
    </article>
  );
}
