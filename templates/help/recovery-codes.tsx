import { Heading } from "../components.tsx";

/** What recovery codes are for and what to do with them: store them offline, each works once, new ones on the Account page. */
export function RecoveryCodesHelp() {
  return (
    <article>
      <Heading>Recovery codes</Heading>
      <h2>What are recovery codes?</h2>
      <p>
        When you first set up an authenticator app or a passkey, the portal shows you 10 recovery codes. Each code is 16 letters and
        numbers. If you lose your phone or cannot use your authenticator app, a recovery code lets you sign in, or reset your password,
        instead.
      </p>
      <p>
        <strong>IMPORTANT:</strong> The codes are shown only once. The portal keeps them in a scrambled form and cannot show them
        again.
      </p>

      <h2>Store them safely</h2>
      <ul>
        <li>Print them, or write them down, and keep them somewhere safe that only you can reach.</li>
        <li>Or keep them in a password manager.</li>
        <li>Do not keep them on the same phone as your authenticator app, and do not email them to yourself.</li>
      </ul>

      <h2>Use a recovery code</h2>
      <ol>
        <li>
          On the step that asks for your code, click <strong>Use a recovery code</strong>.
        </li>
        <li>
          Enter one of your codes in <strong>Recovery Code</strong> (dashes and spaces do not matter), then click{" "}
          <strong>Verify Code</strong>.
        </li>
      </ol>
      <p>
        <strong>NOTES:</strong>
      </p>
      <ol>
        <li>Each code works once. Cross it off after you use it.</li>
        <li>
          Every time a code is used, an email is sent to your registered email address saying how many codes are left. If you did not
          use a code, contact your portal administrator right away.
        </li>
        <li>Wrong codes count as failed tries, as wrong passwords and codes do.</li>
      </ol>

      <h2>Generate new recovery codes</h2>
      <p>
        When only a few codes are left, or if you think someone else has seen them, sign in, open your <strong>Account</strong> page and
        click <strong>Generate new recovery codes</strong>. You confirm it is you first. Your old codes stop working and 10 new ones
        are shown once: save them as above.
      </p>
      <p>
        <a href="/help">All help pages</a>
      </p>
    </article>
  );
}
