import { Field } from "./components.tsx";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../src/password-policy.ts";

/**
 * New Password + Confirm New Password, as registration and the password reset both ask for them:
 * never prefilled, paste allowed, the policy's reason next to the field, focus on the first error.
 */
export function NewPasswordFields(props: { passwordError?: string; confirmError?: string }) {
  return (
    <>
      <Field
        name="password"
        label="New Password"
        type="password"
        autocomplete="new-password"
        hint={`At least ${MIN_PASSWORD_LENGTH} and at most ${MAX_PASSWORD_LENGTH} characters. A few unrelated words make a strong password; do not use your email address or the portal's name.`}
        error={props.passwordError}
        autofocus={props.passwordError !== undefined}
      />
      <Field
        name="confirm"
        label="Confirm New Password"
        type="password"
        autocomplete="new-password"
        error={props.confirmError}
        autofocus={props.passwordError === undefined && props.confirmError !== undefined}
      />
    </>
  );
}
