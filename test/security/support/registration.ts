/**
 * Registration steps for the security tests, through HTTP as a person follows them: an
 * invitation (the flow the admin page and the CLI share), the emailed link, the email code and
 * the password. Kept here so the suite depends only on the routes, not on another area's helpers.
 */
import * as assert from "uvu/assert";
import { uniqueEmail, type Browser, type Page, type TestContext } from "../../support/harness.ts";
import { inviteUser } from "../../../src/flows/invitation.ts";

export const REGISTRATION_PASSWORD = "copper-lantern-meadow-42-quartz";

export interface Invitation {
  email: string;
  userId: string;
  token: string;
  /** /register/link/<token> */
  path: string;
  /** The whole link as emailed. */
  link: string;
}

export async function invite(ctx: TestContext, email = uniqueEmail("registrant")): Promise<Invitation> {
  const result = await inviteUser(ctx.deps, { email, name: "Security Registrant", role: "provider", actorId: null });
  if (!result.ok) throw new Error(`invitation refused: ${result.reason}`);
  const path = new URL(result.link).pathname;
  return { email, userId: result.user.id, token: path.split("/").pop()!, path, link: result.link };
}

/** The newest message to an address or number, straight from the outbox table. */
export async function lastBody(ctx: TestContext, to: string): Promise<string> {
  const [row] = await ctx.sql<{ body: string }[]>`select coalesce(body, '') as body from outbox where recipient = ${to} order by id desc limit 1`;
  assert.ok(row, `a message to ${to}`);
  return row!.body;
}

export function linkPath(text: string): string {
  const match = /https?:\/\/[^\s/]+(\/register\/link\/[a-z2-7]+)/.exec(text);
  assert.ok(match, `a registration link in: ${text}`);
  return match![1]!;
}

/** Link → Email method → code → password: the browser ends on the terms step (email method). */
export async function registerUpToTerms(ctx: TestContext, browser: Browser, invitation: Invitation, method: "email" | "phone" = "email"): Promise<Page> {
  assert.is((await browser.get(invitation.path)).url, "/register/method");
  assert.is((await browser.post("/register/method", { method })).url, "/register/email");
  await browser.post("/register/email/send");
  const code = /(\d{6})/.exec(await lastBody(ctx, invitation.email))![1]!;
  const verified = await browser.post("/register/email/verify", { code });
  assert.is(verified.status, 200, "the email code was taken");
  const page = await browser.post("/register/password", { password: REGISTRATION_PASSWORD, confirm: REGISTRATION_PASSWORD });
  assert.is(page.url, method === "email" ? "/register/terms" : "/register/phone");
  return page;
}
