import { z } from "zod";

/** The form fields more than one flow asks for, checked the same way everywhere (validForm runs them). */

/** An email address as typed: trimmed, at most 320 characters, of the form name@example.com. */
export const emailField = z
  .string({ message: "Enter your email address." })
  .trim()
  .min(1, "Enter your email address.")
  .max(320, "Enter an email address of at most 320 characters.")
  .pipe(z.email({ message: "Enter an email address in the form name@example.com." }));

/** A typed one-time code: spaces and dashes people copy along are dropped. */
export const codeSchema = z.object({
  code: z
    .string({ message: "Enter the 6-digit code." })
    .max(40, "Enter the 6-digit code.")
    .transform((v) => v.replace(/[\s-]/g, ""))
    .pipe(z.string().regex(/^\d{6}$/, "Enter the 6-digit code.")),
});

/** A recovery code as typed: 16 letters and digits in any case, dashes and spaces allowed. */
export const recoverySchema = z.object({
  code: z
    .string({ message: "Enter a recovery code." })
    .max(40, "Enter the recovery code: 16 letters and numbers.")
    .transform((v) => v.replace(/[\s-]/g, ""))
    .pipe(z.string().min(1, "Enter a recovery code.").regex(/^[A-Za-z2-7]{16}$/, "Enter the recovery code: 16 letters and numbers.")),
});

/** Call Me's check: the poll (poll=1, every 2 s with htmx: a 204 while the call is pending) or Continue (without JavaScript). */
export const pollSchema = z.object({
  poll: z.string().max(10).optional().catch(undefined),
  // The wrong keyed codes the polling page already says (CallCheck); anything else counts as none.
  // (a string here: validForm takes every field it knows as text; wrongShown() reads the number).
  wrong: z.string().regex(/^\d{1,2}$/).optional().catch(undefined),
});

/** Terms of Use: only the checkbox's own value ("on") agrees; an empty or forged value is not a tick. */
export const agreeSchema = z.object({ agree: z.string().max(10).optional().catch(undefined) });

/** The count a poll carried (pollSchema's `wrong`), 0 without one. */
export function wrongShown(form: { wrong?: string }): number {
  return form.wrong ? Number(form.wrong) : 0;
}

/** The browser's AuthenticationResponseJSON, bounded; @simplewebauthn/server checks what it means. */
const b64url = z.string().max(8192).regex(/^[A-Za-z0-9_-]*={0,2}$/);
export const authenticationSchema = z.object({
  id: b64url,
  rawId: b64url,
  type: z.literal("public-key"),
  response: z.object({ clientDataJSON: b64url, authenticatorData: b64url, signature: b64url, userHandle: b64url.optional() }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
});
