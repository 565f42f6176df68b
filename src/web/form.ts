import type { Context, Env } from "hono";
import type { z } from "zod";
import { zValidator } from "@hono/zod-validator";
import type { FieldErrors } from "../../templates/components.tsx";

/** What a step says when the posted body is not a form it can read. */
export const FORM_UNREADABLE = "The form could not be read. Try again.";

// The two media types a browser posts a form as, in the lower case browsers send, then nothing or
// a parameter. Anything else (JSON, text, no type, "Multipart/Form-Data") is not one of our forms.
const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/;
// What hono's validator parses as a form (it compares the media type in lower case), so a body it
// would choke on is read here first.
const PARSED_AS_FORM = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i;

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
 * readForm: the all-or-nothing reader the admin area still uses (the flows' steps use validForm).
 * The posted form as single strings. Null when the body is not a urlencoded or multipart form,
 * does not parse, or any field repeats or is a file: the step is then shown again with a 400,
 * never a 500. Values are as sent; each step's schema or flow judges them.
 */
export async function readForm(c: Context): Promise<Record<string, string> | null> {
  const form = await readPostedForm(c);
  return form && Object.keys(form.refused).length === 0 ? form.fields : null;
}

/** What a step shows when its form did not pass: a message per field, and the values that were taken, to show typed text again. */
export interface FormProblem {
  errors: FieldErrors;
  fields: Record<string, string>;
  /** A field came twice or as a file, or the body did not parse: not a form a page of ours sends. */
  unreadable?: boolean;
}

/**
 * The edge check of a posted form: `zValidator("form", schema, hook)`, whose hook refuses, field
 * by field, a field sent twice, a file or control characters, takes zod's message for the rest,
 * and hands the step's `again` (which re-renders the step with the messages) what went wrong.
 * Fields the schema does not know are ignored, whatever they hold. A body that is not a form
 * reads as an empty one, so its fields come out "missing"; one that claims to be a form but does
 * not parse is the form's problem, never a 500. The handler reads the data with c.req.valid("form").
 */
export function validForm<S extends z.ZodObject, E extends Env = Env, P extends string = string>(
  schema: S,
  again: (c: Context<E, P>, problem: FormProblem) => Response | Promise<Response>,
) {
  const validate = zValidator("form", schema, (result, c) => {
    const raw = result.data as Record<string, unknown>;
    const problem = refusals(schema, raw);
    if (result.success && Object.keys(problem.errors).length === 0) return;
    // A refusal says more than zod's message for the same field.
    if (!result.success) for (const [name, message] of Object.entries(fieldErrors(result.error))) problem.errors[name] ??= message;
    return again(c as unknown as Context<E, P>, problem);
  });
  const checked: typeof validate = async (c, next) => {
    if (PARSED_AS_FORM.test(c.req.header("content-type") ?? "")) {
      try {
        // Parsed (and cached for the validator) here, so a broken body is the step's 400, not hono's exception.
        await c.req.formData();
      } catch {
        return again(c as unknown as Context<E, P>, { errors: { form: FORM_UNREADABLE }, fields: {}, unreadable: true });
      }
    }
    return validate(c, next);
  };
  return checked;
}

function refusals(schema: z.ZodObject, raw: Record<string, unknown>): FormProblem {
  const problem: FormProblem = { errors: {}, fields: {} };
  for (const name of Object.keys(schema.shape)) {
    const value = Object.hasOwn(raw, name) ? raw[name] : Object.hasOwn(raw, `${name}[]`) ? [raw[`${name}[]`]] : undefined;
    if (Array.isArray(value)) problem.errors[name] = "This field was sent more than once. Fill in the form again.";
    else if (value === undefined) continue;
    else if (typeof value !== "string") problem.errors[name] = "Files cannot be sent here. Fill in the form again.";
    if (Array.isArray(value) || (value !== undefined && typeof value !== "string")) problem.unreadable = true;
    else if (CONTROL.test(value)) problem.errors[name] = "Remove the special characters from this field.";
    else problem.fields[name] = value;
  }
  return problem;
}

/** zod's issues as one message per field (the first one), for a step to show next to each field. */
export function fieldErrors(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
  return errors;
}

/** The first message of a set of field errors, for the summary at the top of a step. */
export function summary(errors: FieldErrors): string {
  return Object.values(errors).find(Boolean) ?? "Check the form and try again.";
}

/**
 * The JSON a page script posts (the passkey ceremonies), read here and checked with `schema`: a
 * body that is not JSON, or not of the shape, is a 400 with a message the script shows, never a
 * 500 (hono's own JSON validator throws on a body that does not parse).
 */
export function validJson<S extends z.ZodType>(schema: S, message: string) {
  return zValidator("json", schema, (result, c) => (result.success ? undefined : c.json({ message }, 400)));
}

/** Refuses a body that is not JSON before the validator reads it. */
export async function jsonBodyGuard(c: Context, next: () => Promise<void>, message: string): Promise<Response | void> {
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) return c.json({ message }, 400);
  try {
    JSON.parse(await c.req.text());
  } catch {
    return c.json({ message }, 400);
  }
  await next();
}
