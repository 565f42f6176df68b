import { CodeForm, ErrorSummary, Heading } from "./components.tsx";

/**
 * Setting up an authenticator app, in the order of GOV.UK One Login's page: get an app, scan the
 * QR code (drawn on the server as SVG: no script), or type the secret key shown as text, then the
 * app's code. Registration and the account page show the same page with their own form action.
 */
export function AppSetup(props: { action: string; secret: string; qrSvg: string; error?: string; problem?: string; heading?: string }) {
  return (
    <section>
      <Heading>{props.heading ?? "Set up an authenticator app"}</Heading>
      <ErrorSummary message={props.problem} />
      <ol class="setup-steps">
        <li>
          <h2>Install an authenticator app</h2>
          <p>
            Install an authenticator app on your phone or tablet, such as Google Authenticator, Microsoft Authenticator or any app
            for time-based codes. <a href="/help/authenticator-app">Which apps work</a>
          </p>
        </li>
        <li>
          <h2>Scan the QR code</h2>
          <p>In the app, choose to add an account, then scan this QR code with your camera.</p>
          <div class="qr-code" role="img" aria-label="QR code to scan with your authenticator app" dangerouslySetInnerHTML={{ __html: props.qrSvg }} />
        </li>
        <li>
          <h2>Or enter the secret key</h2>
          <p id="totp-secret-label">If you cannot scan the QR code, enter this secret key in the app instead (spaces do not matter):</p>
          <p>
            <output name="totp-secret" class="secret-key" aria-labelledby="totp-secret-label">
              {props.secret}
            </output>
          </p>
        </li>
        <li>
          <h2>Enter the code from the app</h2>
          <CodeForm
            action={props.action}
            formLabel="Verify the code from your authenticator app"
            hint="Enter the 6-digit code the app shows for this account."
            error={props.error}
            autofocus={!!props.error}
          />
        </li>
      </ol>
    </section>
  );
}
