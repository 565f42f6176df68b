import { Heading } from "../components.tsx";

/** What a passkey is, what it needs (JavaScript, a device and browser that support it), adding one and signing in with it. */
export function PasskeysHelp() {
  return (
    <article>
      <Heading>Passkeys</Heading>
      <h2>What is a passkey?</h2>
      <p>
        A passkey lets you sign in with the fingerprint, face or PIN you already use to unlock your computer or phone, instead of your
        password and a code. The passkey is kept on your device, or in your password manager so that your other devices can use it too.
      </p>
      <p>
        A passkey counts as both factors: something you have (your device) and something you know or are (your PIN, fingerprint or
        face). It works only on this portal's own web address, so a fake website that copies the portal's pages cannot use it.
      </p>

      <h2>What you need</h2>
      <ul>
        <li>
          <strong>JavaScript turned on</strong> in your browser. Without JavaScript the passkey buttons are not shown; sign in with your
          password and code instead.
        </li>
        <li>
          <strong>A device and browser that support passkeys</strong>, with a screen lock (PIN, fingerprint or face) set up: for example
          a recent version of Chrome, Edge, Safari or Firefox on Windows, macOS, iPhone, iPad or Android. A security key with a PIN
          works too.
        </li>
      </ul>
      <p>
        If your device does not support passkeys, the <strong>Sign in with a passkey</strong> button is not shown. Keep using{" "}
        <strong>Login with Phone</strong>, <strong>Login with Email</strong> or <strong>Login with Authenticator App</strong>.
      </p>

      <h2>Add a passkey</h2>
      <ol>
        <li>
          Sign in as usual and open your <strong>Account</strong> page.
        </li>
        <li>
          Under Passkeys, type a name in <strong>Passkey name</strong> so you can tell your passkeys apart, such as "Work laptop".
        </li>
        <li>
          Click <strong>Add a passkey</strong>, then follow your device's prompt: touch the fingerprint reader, look at the camera or enter
          your device PIN.
        </li>
        <li>
          The first time, save your recovery codes. See <a href="/help/recovery-codes">Recovery codes</a>.
        </li>
      </ol>
      <p>You can add a passkey on each device you use.</p>

      <h2>Sign in with a passkey</h2>
      <p>
        On the sign-in page, click <strong>Sign in with a passkey</strong> and confirm it is you on your device. You do not type your
        email address or password.
      </p>
      <p>
        <strong>IMPORTANT:</strong> If your device cannot confirm it is you, or you cancel, the passkey is not used and you are not
        signed in. Try again, or sign in with your email address and password. If you lose the device, remove its passkey on your
        Account page.
      </p>
      <p>
        <a href="/help">All help pages</a>
      </p>
    </article>
  );
}
