import { Button, Checkbox, ErrorSummary, Form, Heading } from "../components.tsx";
import { TermsOfUse } from "../terms.tsx";

/** The last step: the Terms of Use, the checkbox and Continue. */
export function RegistrationTermsStep(props: { portalName: string; error?: string; problem?: string }) {
  return (
    <section>
      <Heading>Terms of Use</Heading>
      <ErrorSummary message={props.problem} errors={{ agree: props.error }} />
      <p>Read the Terms of Use, check the box at the bottom to agree, then select Continue.</p>
      <TermsOfUse portalName={props.portalName} />
      <Form action="/register/terms" label="Agree to the Terms of Use">
        <Checkbox name="agree" label="I have read and agree to these terms of use." error={props.error} autofocus={!!props.error} />
        <Button>Continue</Button>
      </Form>
    </section>
  );
}
