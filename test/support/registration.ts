/**
 * Helpers for the registration tests: invitations, a browser with its own client address (the
 * send and attempt limits are per address and the run shares one database), and reading codes
 * and links out of the outbox table the way a person reads their email or phone.
 */
import * as assert from "uvu/assert";
import { Browser, createTestContext, uniqueEmail, type Page, type TestContext } from "./harness.ts";
import { inviteUser } from "../../src/flows/invitation.ts";
import { press } from "./sign-in.ts";
import type { Role } from "../../src/auth/users.ts";

/** Registration tests run with TRUST_PROXY=1 so each browser can speak from its own address. */
export function registrationContext(env: Record<string, string> = {}): Promise<TestContext> {
  return createTestContext({ env: { TRUST_PROXY: "1", ...env } });
}

let addresses = 0;
/** A client address no other browser of the run uses (198.18.0.0/15 is for benchmarks). */
export function uniqueIp(): string {
  addresses += 1;
  const n = (process.pid * 131 + addresses) % 65_000;
  return `198.18.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

/** A Browser whose every request carries X-Forwarded-For: its own client address. */
export class ClientBrowser {
  readonly inner: Browser;
  constructor(
    ctx: TestContext,
    readonly ip: string = uniqueIp(),
  ) {
    this.inner = ctx.browser();
  }
  get cookies() {
    return this.inner.cookies;
  }
  get(path: string, options: Parameters<Browser["get"]>[1] = {}): Promise<Page> {
    return this.inner.get(path, { ...options, headers: { "x-forwarded-for": this.ip, ...options.headers } });
  }
  post(path: string, fields: Parameters<Browser["post"]>[1] = {}, options: Parameters<Browser["post"]>[2] = {}): Promise<Page> {
    return this.inner.post(path, fields, { ...options, headers: { "x-forwarded-for": this.ip, ...options.headers } });
  }
}

/**
 * Presses the button named `name` through its own form (action, method, other fields, the
 * button's name/value), so a template that posts where no route answers fails the test.
 */
export function pressButton(
  browser: ClientBrowser,
  page: Page,
  name: string,
  fields: Record<string, string> = {},
  options: { htmx?: boolean; follow?: boolean } = {},
): Promise<Page> {
  // press() only calls get() and post(), which ClientBrowser has with the same shapes.
  return press(browser as unknown as Browser, page, name, fields, options);
}

export interface Invited {
  email: string;
  userId: string;
  /** Path of the emailed link, as the person would open it. */
  path: string;
}

export async function invite(ctx: TestContext, options: { email?: string; role?: Role } = {}): Promise<Invited> {
  const email = options.email ?? uniqueEmail("registrant");
  const result = await inviteUser(ctx.deps, { email, name: "Test Registrant", role: options.role ?? "provider", actorId: null });
  assert.ok(result.ok, `invitation of ${email} refused`);
  if (!result.ok) throw new Error("unreachable");
  // The link in the email is the one returned.
  const mail = await lastMessage(ctx, email);
  assert.ok(mail.body.includes(result.link), "the email carries the link");
  return { email, userId: result.user.id, path: new URL(result.link).pathname };
}

export interface OutboxRow {
  id: number;
  channel: "email" | "sms" | "voice";
  body: string;
  codeId: string | null;
  subject: string | null;
}

/** The newest message to an address or number. */
export async function lastMessage(ctx: TestContext, to: string): Promise<OutboxRow> {
  const [row] = await ctx.sql<OutboxRow[]>`
    select id::int as id, channel, coalesce(body, '') as body, code_id as "codeId", subject
    from outbox where recipient = ${to} order by id desc limit 1`;
  assert.ok(row, `no message to ${to}`);
  return row!;
}

export async function messageCount(ctx: TestContext, to: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from outbox where recipient = ${to}`;
  return row!.n;
}

/** The 6-digit code of an email or SMS. */
export function codeIn(text: string): string {
  const match = /(?:code is:?\s*)(\d{6})/.exec(text);
  assert.ok(match, `no code in: ${text}`);
  return match![1]!;
}

/** The path of the /register/link/… URL in an email. */
export function linkIn(text: string): string {
  const match = /https?:\/\/[^\s]+\/register\/link\/([a-z2-7]+)/.exec(text);
  assert.ok(match, `no link in: ${text}`);
  return `/register/link/${match![1]}`;
}

/** Opens the link and chooses a method: the browser ends on the email step. */
export async function startWizard(ctx: TestContext, browser: ClientBrowser, invited: Invited, method: "phone" | "email", htmx = false): Promise<Page> {
  const landing = await browser.get(invited.path, { htmx });
  assert.equal(landing.url, "/register/method");
  const page = await pressButton(browser, landing, method === "phone" ? "Phone" : "Email", {}, { htmx });
  assert.equal(page.url, "/register/email");
  return page;
}

export const GOOD_PASSWORD = "copper-lantern-meadow-42-quartz";

/** Email code, then the password: the browser ends on the phone step or the terms. */
export async function verifyEmailAndCreatePassword(ctx: TestContext, browser: ClientBrowser, invited: Invited, htmx = false): Promise<Page> {
  const step = await browser.get("/register/email", { htmx });
  const sent = await pressButton(browser, step, "Send Verification Code", {}, { htmx });
  const code = codeIn((await lastMessage(ctx, invited.email)).body);
  const verified = await pressButton(browser, sent, "Verify Code", { code }, { htmx });
  assert.equal(verified.status, 200);
  return pressButton(browser, verified, "Create", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD }, { htmx });
}

/** State and data of the user's newest registration flow. */
export async function flowOf(ctx: TestContext, userId: string): Promise<{ state: string; data: Record<string, unknown> } | null> {
  const [row] = await ctx.sql<{ state: string; data: Record<string, unknown> }[]>`
    select state, data from flows where user_id = ${userId} and kind = 'registration' order by updated_at desc limit 1`;
  return row ?? null;
}

export async function userRow(ctx: TestContext, userId: string) {
  const [row] = await ctx.sql<
    { status: string; mfaMethod: string | null; phone: string | null; passwordHash: string | null; termsVersion: string | null; termsAcceptedAt: Date | null }[]
  >`select status, mfa_method as "mfaMethod", phone_e164 as phone, password_hash as "passwordHash",
      terms_version as "termsVersion", terms_accepted_at as "termsAcceptedAt" from users where id = ${userId}`;
  return row!;
}

export async function auditEvents(ctx: TestContext, userId: string, event?: string): Promise<string[]> {
  const rows = await ctx.sql<{ event: string }[]>`
    select event from audit_events where user_id = ${userId} ${event ? ctx.sql`and event = ${event}` : ctx.sql``} order by id`;
  return rows.map((r) => r.event);
}

export { uniqueEmail };
