import type { FieldErrors } from "../components.tsx";
import { Button, Field, Form } from "../components.tsx";

/**
 * New Password + Confirm New Password → Create. Shown on the email step once the address is
 * verified. Never prefilled; paste allowed; the policy's reason appears next to the field.
 */
export function PasswordForm(props: { errors?: FieldErrors; autofocus?: boolean }) {
  const errors = props.errors ?? {};
  const first = errors.password ? "password" : errors.confirm ? "confirm" : undefined;
  return (
    <Form action="/register/password" label="Create a password">
      <h2>Create a password</h2>
      <p>This is the password you will sign in with, together with your second factor.</p>
      <Field
        name="password"
        label="New Password"
        type="password"
        autocomplete="new-password"
        hint="At least 12 characters. A few unrelated words make a strong password. Do not use your email address or the portal's name; very common passwords are refused."
        error={errors.password}
        autofocus={first === "password" || (!first && props.autofocus)}
      />
      <Field
        name="confirm"
        label="Confirm New Password"
        type="password"
        autocomplete="new-password"
        error={errors.confirm}
        autofocus={first === "confirm"}
      />
      <Button>Create</Button>
    </Form>
  );
}
