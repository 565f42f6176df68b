import type { Context } from "hono";
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";
import { fieldErrors } from "../form.ts";
import type { FieldErrors } from "../../../templates/components.tsx";
import type { CreateRefusal } from "../../flows/admin.ts";
import { INVITE_REFUSALS } from "../../flows/invitation.ts";
import { CREATE_ERRORS } from "../../../templates/admin/labels.ts";
import type { AppEnv } from "../env.ts";
import type { Scope } from "../../orgs/scope.ts";

/**
 * The scope the admin guard found for the signed-in administrator, kept per request. A WeakMap
 * on the request rather than a context variable: the app's shared helpers (render, goToPage)
 * take Context<AppEnv>, which a context with one more variable is not assignable to.
 */
const scopes = new WeakMap<Request, Scope>();

export function setScope(c: Context<AppEnv>, scope: Scope): void {
  scopes.set(c.req.raw, scope);
}

/** Every handler under /admin runs after the guard; a missing scope is a bug, never "everyone". */
export function scopeOf(c: Context<AppEnv>): Scope {
  const scope = scopes.get(c.req.raw);
  if (!scope) throw new Error("admin handler ran without the admin guard's scope");
  return scope;
}

type Ctx = Context<AppEnv>;

/**
 * zValidator("form", schema, hook) whose hook answers a form that fails `schema` with
 * `refuse(c, what was sent, an error per field)`. The casts only name what is there at run time:
 * the context is this app's (zValidator cannot infer its Env from a hook), the data of a failed
 * parse is the form as sent, and a classic zod schema fails with a classic ZodError.
 */
export function checkForm<S extends z.ZodType>(schema: S, refuse: (c: Ctx, raw: Record<string, unknown>, errors: FieldErrors) => Response | Promise<Response>) {
  return zValidator("form", schema, (result, c) =>
    result.success ? undefined : refuse(c as unknown as Ctx, result.data as Record<string, unknown>, fieldErrors(result.error as unknown as z.ZodError)),
  );
}


/** Which field a refusal of Create user belongs to, and its status. */
export const CREATE_REFUSAL_FIELDS: Record<CreateRefusal, { field: string; status: 400 | 403 | 409 }> = {
  duplicate: { field: "email", status: 409 },
  invalid_email: { field: "email", status: 400 },
  staff_email: { field: "email", status: 400 },
  organization_required: { field: "organization", status: 400 },
  organization_not_found: { field: "organization", status: 400 },
  not_allowed: { field: "role", status: 403 },
};

export function createRefusalText(reason: CreateRefusal): string {
  switch (reason) {
    case "duplicate":
      return CREATE_ERRORS.duplicate;
    case "invalid_email":
    case "staff_email":
      return INVITE_REFUSALS[reason];
    default:
      return CREATE_ERRORS[reason];
  }
}

