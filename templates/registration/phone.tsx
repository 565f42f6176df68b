import type { FieldErrors } from "../components.tsx";
import { Button, ErrorSummary, Form, PhoneNumberField, Heading, Status } from "../components.tsx";
import { SmsCodeForm } from "../phone-factor.tsx";

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
      <ErrorSummary message={props.problem} errors={errors} />
      <Status message={props.status} />
      <Form action="/register/phone/send" label="Phone number">
        <PhoneNumberField value={props.phone} error={errors.phone} />
        <p>
          Select <strong>Send Code</strong> for a code by text message, or <strong>Call Me</strong> for a call that asks
          you to key in a code shown on this page, then press #.
        </p>
        <div class="actions">
          {/* Once a code was sent, Verify Code below is the step's one primary button. */}
          <Button name="channel" value="sms" variant={props.smsSent ? "secondary" : "primary"}>
            {props.smsSent ? "Send New Code" : "Send Code"}
          </Button>
          <Button name="channel" value="voice" variant="secondary">
            Call Me
          </Button>
        </div>
      </Form>
      {props.smsSent ? (
        <SmsCodeForm
          action="/register/phone/verify"
          label="Verify the code"
          maskedPhone={props.maskedPhone ?? "your phone"}
          error={errors.code}
          autofocus={!errors.phone && !!errors.code}
        />
      ) : null}
    </section>
  );
}
