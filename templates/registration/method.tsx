import { Button, ErrorSummary, Form, Heading } from "../components.tsx";

/** Step 1: Phone or Email, with the guide's notes about both. */
export function MethodStep(props: { mfaReset?: boolean; error?: string }) {
  return (
    <section>
      <Heading>{props.mfaReset ? "Set up multi-factor authentication again" : "Multi-factor authentication registration"}</Heading>
      <ErrorSummary message={props.error} />
      <p>
        Select the best multi-factor authentication method for you, <strong>Phone</strong>, <strong>Email</strong> or{" "}
        <strong>Authenticator App</strong>.
        {props.mfaReset ? " Your password stays the same." : ""}
      </p>
      <h2>Notes</h2>
      <ol class="notes">
        <li>
          You will verify your email address with either option. Only choose Email if you do not have access to a
          direct phone line (landline or mobile).
        </li>
        <li>A phone registration needs a direct line with 10 digits; extensions are not supported.</li>
        <li>
          An authenticator app (such as Google Authenticator or Microsoft Authenticator) shows a new code every 30 seconds, even
          without signal. It is the strongest of the three.
        </li>
      </ol>
      <Form action="/register/method" label="Multi-factor authentication method">
        <div class="actions">
          <Button name="method" value="phone">
            Phone
          </Button>
          <Button name="method" value="email">
            Email
          </Button>
          <Button name="method" value="totp">
            Authenticator App
          </Button>
        </div>
      </Form>
    </section>
  );
}
