import type { FieldErrors } from "../components.tsx";
import { Button, ErrorSummary, Field, Form, Heading, SupportContact } from "../components.tsx";

/**
 * Having trouble logging in?: for someone who verified the email and created a password but did
 * not finish registering. Email Address + Password → Send Registration Link.
 */
export function TroubleForm(props: { email?: string; errors?: FieldErrors; problem?: string; supportContact?: string | null }) {
  const errors = props.errors ?? {};
  const first = errors.email ? "email" : errors.password ? "password" : undefined;
  return (
    <section>
      <Heading>Having trouble logging in?</Heading>
      <ErrorSummary message={props.problem} errors={errors} />
      <p>
        If you began the multi-factor registration, verified your email and created a password but did not finish, we can
        email you a link that continues the registration. Enter the email address and the password you used when you
        began.
      </p>
      <Form action="/trouble" label="Send a registration link">
        <Field name="email" label="Email Address" type="email" autocomplete="username" value={props.email} error={errors.email} autofocus={first === "email"} />
        <Field name="password" label="Password" type="password" autocomplete="current-password" error={errors.password} autofocus={first === "password"} />
        <Button>Send Registration Link</Button>
      </Form>
      <p>
        Finished registering already? <a href="/login">Sign in</a>. Forgot your password? Use{" "}
        <a href="/forgot-password">Forgot your password?</a> (also offered on the page that asks for your password). For
        other problems see <a href="/help/mfa">Multi-Factor Authentication Help</a>.{" "}
        <SupportContact contact={props.supportContact ?? null} lead="Still stuck? Contact your portal administrator" />
      </p>
    </section>
  );
}

/** The answer to every well-formed request, whatever the account. */
export function TroubleSent(props: { ttl: string }) {
  return (
    <section>
      <Heading>Check your email</Heading>
      <p>
        If the email address and password match a registration that is not finished yet, we have sent a link to that email
        address. Open it in this browser to continue where you left off. The link expires in {props.ttl}.
      </p>
      <p>
        <a href="/login">Go to the sign-in page</a>
      </p>
    </section>
  );
}
