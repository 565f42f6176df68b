import type { FieldErrors } from "../components.tsx";
import { Button, ErrorSummary, Field, Form, Heading, Status } from "../components.tsx";

export interface PhoneStepProps {
  /** What to show in the Phone Number field (what was typed, or the number codes went to). */
  phone: string;
  /** An SMS code was sent: show Verification Code → Verify Code. */
  smsSent: boolean;
  maskedPhone?: string;
  errors?: FieldErrors;
  problem?: string;
  status?: string;
}

/** Step 4 (phone method): Phone Number → Send Code (SMS) or Call Me; after an SMS, the code. */
export function PhoneStep(props: PhoneStepProps) {
  const errors = props.errors ?? {};
  return (
    <section>
      <Heading>Verify your phone</Heading>
      <ErrorSummary message={props.problem} />
      <Status message={props.status} />
      <Form action="/register/phone/send" label="Phone number">
        <Field
          name="phone"
          label="Phone Number"
          type="tel"
          inputmode="tel"
          autocomplete="tel-national"
          value={props.phone}
          hint="A 10-digit US direct line (landline or mobile), such as (202) 555-0143. Extensions are not supported."
          error={errors.phone}
          autofocus={!!errors.phone}
        />
        <p>
          Select <strong>Send Code</strong> for a code by text message, or <strong>Call Me</strong> for a call that asks
          you to key in a code shown on this page, then press #.
        </p>
        <div class="actions">
          <Button name="channel" value="sms">
            {props.smsSent ? "Send New Code" : "Send Code"}
          </Button>
          <Button name="channel" value="voice" variant="secondary">
            Call Me
          </Button>
        </div>
      </Form>
      {props.smsSent ? (
        <Form action="/register/phone/verify" label="Verify the code">
          <Field
            name="code"
            label="Verification Code"
            inputmode="numeric"
            autocomplete="one-time-code"
            maxlength={6}
            hint={`Enter the 6-digit code from the text message sent to ${props.maskedPhone ?? "your phone"}.`}
            error={errors.code}
            autofocus={!errors.phone && !!errors.code}
          />
          <Button>Verify Code</Button>
        </Form>
      ) : null}
    </section>
  );
}
