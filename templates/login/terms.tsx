import { Button, Checkbox, ErrorSummary, Form, Heading } from "../components.tsx";
import { TermsOfUse } from "../terms.tsx";

/** The Terms of Use again at sign-in (or after a password reset) when their version changed since the person agreed. */
export function TermsAgainStep(props: { action: string; portalName: string; error?: string }) {
  return (
    <section>
      <Heading>Terms of Use</Heading>
      <ErrorSummary errors={{ agree: props.error }} />
      <p>The Terms of Use have changed since you last agreed to them. Read them, then agree to continue.</p>
      <TermsOfUse portalName={props.portalName} />
      <Form action={props.action}>
        <Checkbox name="agree" label="I have read and agree to these terms of use." error={props.error} autofocus={props.error !== undefined} />
        <Button>Continue</Button>
      </Form>
    </section>
  );
}
