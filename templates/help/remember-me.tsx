import { Heading } from "../components.tsx";

/** Remember Me, and the browser set-up it needs: Chrome and Edge as the guide says, plus Firefox and Safari. */
export function RememberMeHelp(props: { duration: string; enabled: boolean }) {
  return (
    <article>
      <Heading>Remember Me and setting up your browser</Heading>
      {props.enabled ? null : (
        <p class="panel">Remember Me is turned off on this portal: every sign-in asks for your password and a code.</p>
      )}
      <h2>Remember Me</h2>
      <p>
        Remember Me lets your computer remember your login credentials for {props.duration}. You should NOT use this option if
        you use a shared device. When the Remember Me box is checked on the login screen, you will be able to log in without
        entering your credentials or MFA for {props.duration}.
      </p>
      <p>
        To use this feature, check the <strong>Remember Me</strong> box, then click <strong>Login with Phone</strong> or{" "}
        <strong>Login with Email</strong>, and sign in as usual.
      </p>
      <p>
        For the next {props.duration}, when you come back to the portal, click the same button and you skip the login
        credentials and MFA steps. After {props.duration}, you will need to log in with your credentials and MFA. You must use
        the same login option (Login with Phone or Login with Email) for Remember Me to remember you: if you select a different
        login option, you will be asked for your credentials and MFA.
      </p>
      <p>
        To turn off this feature, uncheck the Remember Me box before clicking Login with Phone or Login with Email; you will be
        asked for your login credentials and MFA. Selecting <strong>Sign out</strong> or resetting your password also turns it
        off.
      </p>
      <p>
        <strong>NOTE:</strong> Remember Me works only while the browser stays open, unless the browser is set to continue where
        you left off by reopening your tabs when it starts. Follow the steps for your browser below.
      </p>

      <h2>Chrome configuration</h2>
      <p>Google Chrome is the preferred browser for the portal. To set "continue where you left off" in Google Chrome:</p>
      <ol>
        <li>
          Click the <strong>three (3) menu dots</strong> in the upper right corner of the browser.
        </li>
        <li>
          Then click <strong>Settings</strong>.
        </li>
        <li>
          Click <strong>On startup</strong> in the left menu.
        </li>
        <li>Then click the selection for "Continue where you left off".</li>
      </ol>

      <h2>Edge configuration</h2>
      <p>To set the "continue where you left off" feature in Microsoft Edge:</p>
      <ol>
        <li>
          Click the <strong>three (3) menu dots</strong> in the upper right corner of the browser.
        </li>
        <li>
          Then click <strong>Settings</strong>.
        </li>
        <li>
          Click <strong>On startup</strong> in the left menu.
        </li>
        <li>
          Then click the selection for "<strong>Continue where you left off</strong>".
        </li>
      </ol>

      <h2>Firefox configuration</h2>
      <ol>
        <li>
          Open the menu (the three lines in the upper right corner of the browser) and click <strong>Settings</strong>.
        </li>
        <li>
          In <strong>General</strong>, under <strong>Startup</strong>, check "<strong>Open previous windows and tabs</strong>".
        </li>
      </ol>

      <h2>Safari configuration</h2>
      <ol>
        <li>
          Choose <strong>Safari</strong> &gt; <strong>Settings</strong> and click <strong>General</strong>.
        </li>
        <li>
          Set "<strong>Safari opens with</strong>" to "<strong>All windows from last session</strong>".
        </li>
      </ol>
      <p>
        <a href="/help">All help pages</a>
      </p>
    </article>
  );
}
