import type { FieldErrors } from "../components.tsx";
import { Button, Form } from "../components.tsx";
import { NewPasswordFields } from "../new-password-fields.tsx";

/** New Password + Confirm New Password → Create. Shown on the email step once the address is verified. */
export function PasswordForm(props: { errors?: FieldErrors }) {
  const errors = props.errors ?? {};
  return (
    <Form action="/register/password" label="Create a password">
      <p>This is the password you will sign in with, together with your second factor.</p>
      <NewPasswordFields passwordError={errors.password} confirmError={errors.confirm} />
      <Button>Create</Button>
    </Form>
  );
}
