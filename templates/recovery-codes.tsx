import { Button, Checkbox, ErrorSummary, Form, Heading } from "./components.tsx";

/**
 * The ten recovery codes, shown once (when the first authenticator app or passkey is added, and
 * after Generate new recovery codes), then the checkbox and Continue.
 */
export function RecoveryCodesStep(props: { action: string; codes: string[]; error?: string }) {
  return (
    <section>
      <Heading>Save your recovery codes</Heading>
      <ErrorSummary message={props.error} />
      <p>
        If you lose your phone or your authenticator app, each of these codes lets you sign in once instead. Print them or keep them in
        a password manager, somewhere only you can reach. They are shown only now.{" "}
        <a href="/help/recovery-codes">What to do with recovery codes</a>
      </p>
      <h2 id="recovery-codes-heading">Recovery codes</h2>
      <ul class="recovery-codes" aria-labelledby="recovery-codes-heading">
        {props.codes.map((code) => (
          <li>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <Form action={props.action} label="Confirm you saved your recovery codes">
        <Checkbox name="saved" label="I have saved my recovery codes" error={props.error} autofocus={!!props.error} />
        <Button>Continue</Button>
      </Form>
    </section>
  );
}

/** Use a recovery code: on every second-factor step, instead of the factor. */
export function UseRecoveryCodeLink(props: { href: string }) {
  return (
    <p>
      <a href={props.href}>Use a recovery code</a>
    </p>
  );
}

/** Recovery Code → Verify Code. */
export function RecoveryCodeEntry(props: { action: string; back: string; error?: string; problem?: string }) {
  return (
    <section>
      <Heading>Use a recovery code</Heading>
      <ErrorSummary message={props.problem} />
      <p>
        Enter one of the recovery codes you saved when you set up your authenticator app or passkey. Each code works once.{" "}
        <a href="/help/recovery-codes">About recovery codes</a>
      </p>
      <Form action={props.action} label="Use a recovery code">
        <div class={props.error ? "field field-error" : "field"}>
          <label for="field-recovery">Recovery Code</label>
          <p class="hint" id="field-recovery-hint">
            16 letters and numbers; dashes and spaces do not matter.
          </p>
          {props.error ? (
            <p class="error-message" id="field-recovery-error">
              <span class="visually-hidden">Error: </span>
              {props.error}
            </p>
          ) : null}
          <input
            id="field-recovery"
            name="code"
            type="text"
            autocomplete="off"
            spellcheck={false}
            maxlength={40}
            aria-describedby={props.error ? "field-recovery-hint field-recovery-error" : "field-recovery-hint"}
            aria-invalid={props.error ? "true" : undefined}
            autofocus={props.error ? true : undefined}
          />
        </div>
        <Button>Verify Code</Button>
      </Form>
      <p>
        <a href={props.back}>Back</a>
      </p>
    </section>
  );
}
