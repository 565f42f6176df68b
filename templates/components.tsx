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
  return (
    <FieldFrame id={id} label={props.label} hint={props.hint} error={props.error}>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value ?? ""}
        autocomplete={props.autocomplete}
        inputmode={props.inputmode}
        maxlength={props.maxlength}
        aria-describedby={describedBy(id, props)}
        aria-invalid={props.error ? "true" : undefined}
        autofocus={props.autofocus || undefined}
        readonly={props.readonly || undefined}
        required={props.required || undefined}
      />
    </FieldFrame>
  );
}

/**
 * What goes around a field's control (`children`, whose id is `id`): its label, hint and error,
 * in the order a screen reader and the guide's pages give them. The control names the hint and
 * error it is described by with describedBy.
 */
export function FieldFrame(props: { id: string; label: string; hint?: Child; error?: string; children: Child }) {
  return (
    <div class={props.error ? "field field-error" : "field"}>
      <label for={props.id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      <ErrorMessage id={`${props.id}-error`} message={props.error} />
      {props.children}
    </div>
  );
}

/** The guide's **Phone Number** field (registration's phone step, the account's Change phone number): a US direct line. */
export function PhoneNumberField(props: { value?: string; error?: string }) {
  return (
    <Field
      name="phone"
      label="Phone Number"
      type="tel"
      inputmode="tel"
      autocomplete="tel-national"
      value={props.value}
      hint="A 10-digit US direct line (landline or mobile), such as (202) 555-0143. Extensions are not supported."
      error={props.error}
      autofocus={props.error !== undefined}
    />
  );
}

/** The aria-describedby of a control in a FieldFrame: its hint and error, whichever it has; undefined for neither. */
export function describedBy(id: string, field: { hint?: Child; error?: string }): string | undefined {
  return [field.hint ? `${id}-hint` : "", field.error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
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

/**
 * The GOV.UK error summary: "There is a problem", then every error at once, each a link to its
 * field (`#field-<name>`, the id Field and Checkbox give their input; a field given as "#id" is
 * that id, such as a radio group's first choice). `errors` are the messages
 * per field; `message` is one more (about `field` when given, else the whole form). It takes
 * focus when the page arrives (autofocus, the first in the document, which app.js honours after
 * an htmx swap too), so a failed submit starts here; the links then lead to each field.
 */
export function ErrorSummary(props: { message?: string; field?: string; errors?: FieldErrors }) {
  const items: Array<{ message: string; field?: string }> = [];
  for (const [field, message] of Object.entries(props.errors ?? {})) {
    if (message) items.push({ message, field: field === "form" ? undefined : field });
  }
  if (props.message && !items.some((item) => item.message === props.message)) {
    items.unshift({ message: props.message, field: props.field });
  }
  if (items.length === 0) return null;
  // A message about no one field (a limit, a lock) is the summary's description; the rest link to their fields.
  const about = items.filter((item) => !item.field);
  const linked = items.filter((item) => item.field);
  return (
    <div class="error-summary" data-error-summary tabindex={-1} autofocus aria-labelledby="error-summary-title">
      <div role="alert">
        <h2 class="error-summary-title" id="error-summary-title">
          There is a problem
        </h2>
        {about.map((item) => (
          <p class="error-summary-description">{item.message}</p>
        ))}
        {linked.length ? (
          <ul class="error-summary-list">
            {linked.map((item) => (
              <li>
                <a href={item.field!.startsWith("#") ? item.field : `#field-${item.field}`}>{item.message}</a>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}

/**
 * A polite status line (sent codes, saved changes); nothing at all without a message (issue 17:
 * an empty one left a gap). Nothing fills it in place: htmx swaps the whole step, status and all.
 */
export function Status(props: { message?: string | null }) {
  if (!props.message) return null;
  return (
    <p class="status" role="status">
      {props.message}
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

/**
 * A wizard's place ("Step 2 of 5") and whose account it is, above the step's own page: the
 * words come first so a screen reader hears them just before the heading.
 */
export function StepIndicator(props: { step: number; of: number; email?: string; children: Child }) {
  return (
    <>
      <p class="step-indicator">
        Step {props.step} of {props.of}
        {props.email ? (
          <span class="step-account">
            {" "}
            · Setting up the account for <strong>{props.email}</strong>
          </span>
        ) : null}
      </p>
      {props.children}
    </>
  );
}

/**
 * "Contact your portal administrator", with PORTAL_SUPPORT_CONTACT when it is set: an email
 * address becomes a mailto link, a phone number a tel link, a URL a link; anything else is text.
 */
export function SupportContact(props: { contact: string | null; lead?: string }) {
  const lead = props.lead ?? "Contact your portal administrator";
  const contact = props.contact?.trim();
  if (!contact) return <>{lead}.</>;
  const href = /^[^\s@]+@[^\s@]+$/.test(contact)
    ? `mailto:${contact}`
    : /^https?:\/\/\S+$/.test(contact)
      ? contact
      : /^\+?[\d\s().-]{7,}$/.test(contact)
        ? `tel:${contact.replace(/[^\d+]/g, "")}`
        : null;
  return (
    <>
      {lead}: {href ? <a href={href}>{contact}</a> : contact}.
    </>
  );
}
