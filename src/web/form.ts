import type { Context } from "hono";
import type { z } from "zod";
import type { FieldErrors } from "../../templates/components.tsx";

/** What a step says when the posted body is not a form it can read. */
export const FORM_UNREADABLE = "The form could not be read. Try again.";

// The two media types a browser posts a form as, in the lower case browsers send, then nothing or
// a parameter. Anything else (JSON, text, no type, "Multipart/Form-Data") is not one of our forms.
const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/;

// C0 controls other than tab, newline and carriage return, DEL and C1 controls: never typed by a
// person; and U+FFFD, which stands where the body held bytes that are not UTF-8.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFD]/;

interface PostedForm {
  /** Every field sent once, as text. */
  fields: Record<string, string>;
  /** Every field sent more than once (or named like a list, `x[]`), or sent as a file. */
  refused: Record<string, "repeated" | "file">;
}

/** The posted form field by field; null when the body is not a urlencoded or multipart form, or does not parse. */
async function readPostedForm(c: Context): Promise<PostedForm | null> {
  if (!FORM_TYPE.test(c.req.header("content-type") ?? "")) return null;
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    return null;
  }
  const form: PostedForm = { fields: {}, refused: {} };
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string") form.fields[name] = value;
    else form.refused[name] = Array.isArray(value) ? "repeated" : "file";
  }
  return form;
}

/**
 * The posted form as single strings. Null when the body is not a urlencoded or multipart form,
 * does not parse, or any field repeats or is a file: the step is then shown again with a 400,
 * never a 500. Values are as sent; each step's schema or flow judges them.
 */
export async function readForm(c: Context): Promise<Record<string, string> | null> {
  const form = await readPostedForm(c);
  return form && Object.keys(form.refused).length === 0 ? form.fields : null;
}

export type Parsed<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors; fields: Record<string, string> };

/**
 * The posted form checked by `schema`, with a message per field. A field sent twice, a file or
 * control characters are refused for that field; fields the schema does not know are ignored,
 * whatever they hold. A body that is not a form reads as an empty one, so its fields come out
 * "missing". `fields` (on failure) holds the values that were taken, to show typed text again.
 */
export async function parseForm<S extends z.ZodObject>(c: Context, schema: S): Promise<Parsed<z.output<S>>> {
  const form = (await readPostedForm(c)) ?? { fields: {}, refused: {} };
  const errors: FieldErrors = {};
  const fields: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const refused = Object.hasOwn(form.refused, name) ? form.refused[name] : undefined;
    const value = Object.hasOwn(form.fields, name) ? form.fields[name] : undefined;
    if (refused === "repeated") errors[name] = "This field was sent more than once. Fill in the form again.";
    else if (refused === "file") errors[name] = "Files cannot be sent here. Fill in the form again.";
    else if (value === undefined) continue;
    else if (CONTROL.test(value)) errors[name] = "Remove the special characters from this field.";
    else fields[name] = value;
  }
  const parsed = schema.safeParse(fields);
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true, data: parsed.data };
  // A refusal above says more than zod's "missing" for the same field.
  if (!parsed.success) for (const [name, message] of Object.entries(fieldErrors(parsed.error))) errors[name] ??= message;
  return { ok: false, errors, fields };
}

/** zod's issues as one message per field (the first one), for a step to show next to each field. */
export function fieldErrors(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
  return errors;
}
