import type { Child } from "hono/jsx";

/** Field-level messages keyed by field name, as steps re-render them. */
export type FieldErrors = Partial<Record<string, string>>;

export interface FieldProps {
  name: string;
  label: string;
  type?: "text" | "email" | "password" | "tel" | "search" | "date";
  value?: string;
  error?: string;
  hint?: Child;
  autocomplete?: string;
  inputmode?: "numeric" | "tel" | "email" | "text";
  autofocus?: boolean;
  readonly?: boolean;
  maxlength?: number;
  required?: boolean;
}

/** A labelled input with its hint and error tied to it through aria-describedby. */
export function Field(props: FieldProps) {
  const id = `field-${props.name}`;
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={props.error ? "field field-error" : "field"}>
      <label for={id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      <ErrorMessage id={`${id}-error`} message={props.error} />
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value ?? ""}
        autocomplete={props.autocomplete}
        inputmode={props.inputmode}
        maxlength={props.maxlength}
        aria-describedby={described || undefined}
        aria-invalid={props.error ? "true" : undefined}
        autofocus={props.autofocus || undefined}
        readonly={props.readonly || undefined}
        required={props.required || undefined}
      />
    </div>
  );
}

/** A field's error, read out with it through aria-describedby pointing at `id`; nothing without a message. */
export function ErrorMessage(props: { id: string; message?: string }) {
  if (!props.message) return null;
  return (
    <p class="error-message" id={props.id}>
      <span class="visually-hidden">Error: </span>
      {props.message}
    </p>
  );
}

/** A checkbox with its label after it (the way the guide shows "I have read and agree…"). */
export function Checkbox(props: { name: string; label: string; checked?: boolean; error?: string; value?: string; autofocus?: boolean }) {
  const id = `field-${props.name}`;
  return (
    <div class={props.error ? "field checkbox field-error" : "field checkbox"}>
      <ErrorMessage id={`${id}-error`} message={props.error} />
      <input
        type="checkbox"
        id={id}
        name={props.name}
        value={props.value ?? "on"}
        checked={props.checked || undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
        aria-invalid={props.error ? "true" : undefined}
        autofocus={props.autofocus || undefined}
      />
      <label for={id}>{props.label}</label>
    </div>
  );
}

/**
 * A real form that works without JavaScript (POST, then a 303 to the next step) and that htmx
 * upgrades: it posts in the background and swaps the answer into <main>.
 */
export function Form(props: { action: string; children: Child; class?: string; label?: string }) {
  return (
    <form
      method="post"
      action={props.action}
      hx-post={props.action}
      hx-target="#main"
      hx-swap="innerHTML"
      novalidate
      class={props.class}
      aria-label={props.label}
    >
      {props.children}
    </form>
  );
}

export function Button(props: { children: Child; name?: string; value?: string; variant?: "primary" | "secondary" | "link" }) {
  return (
    <button type="submit" name={props.name} value={props.value} class={`button ${props.variant ?? "primary"}`}>
      {props.children}
    </button>
  );
}

/** The step's heading; htmx focus moves here after a swap unless a field with an error takes it. */
export function Heading(props: { children: Child }) {
  return (
    <h1 tabindex={-1} data-step-heading>
      {props.children}
    </h1>
  );
}

/** A short message of a form's errors; its role makes screen readers read it on arrival. */
export function ErrorSummary(props: { message?: string }) {
  if (!props.message) return null;
  return (
    <div class="error-summary" role="alert">
      <p>{props.message}</p>
    </div>
  );
}

/** A polite status line (sent codes, saved changes). */
export function Status(props: { message?: string | null }) {
  return (
    <p class="status" role="status">
      {props.message ?? ""}
    </p>
  );
}

/** A one-time code (six digits, typed or pasted) → its button; every code step uses this one. */
export function CodeForm(props: { action: string; hint: string; error?: string; autofocus: boolean; formLabel?: string; fieldLabel?: string; button?: string }) {
  return (
    <Form action={props.action} label={props.formLabel}>
      <Field
        name="code"
        label={props.fieldLabel ?? "Verification Code"}
        hint={props.hint}
        inputmode="numeric"
        autocomplete="one-time-code"
        maxlength={6}
        error={props.error}
        autofocus={props.autofocus}
      />
      <Button>{props.button ?? "Verify Code"}</Button>
    </Form>
  );
}
