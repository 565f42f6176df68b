/**
 * Small steps the security tests repeat: a sign-in taken to its code step, the code a message
 * carries, a code that is surely wrong, and what the database holds for a user.
 */
import * as assert from "uvu/assert";
import type { Browser, Page, TestContext } from "../../support/harness.ts";
import type { ActiveUser } from "../../support/users.ts";
import { codeIn, latestMessage, pressLogin, submitPassword } from "../../support/sign-in.ts";
import type { Sql } from "../../../src/db/client.ts";

/** Login with Email up to the code step (the code is in the dev outbox). */
export async function toEmailCode(browser: Browser, user: Pick<ActiveUser, "email" | "password">, options: { remember?: boolean } = {}): Promise<Page> {
  await pressLogin(browser, "email", options);
  const page = await submitPassword(browser, user.email, user.password);
  assert.is(page.url, "/login/email", "the password was right");
  const sent = await browser.post("/login/email/send");
  assert.is(sent.url, "/login/email/code");
  return sent;
}

/** Login with Phone up to the SMS code step. */
export async function toSmsCode(browser: Browser, user: Pick<ActiveUser, "email" | "password">, options: { remember?: boolean } = {}): Promise<Page> {
  await pressLogin(browser, "phone", options);
  const page = await submitPassword(browser, user.email, user.password);
  assert.is(page.url, "/login/phone", "the password was right");
  const sent = await browser.post("/login/phone/send");
  assert.is(sent.url, "/login/phone/code");
  return sent;
}

/** The newest 6-digit code sent to an address or number. */
export async function lastCode(ctx: TestContext, to: string, channel?: "email" | "sms"): Promise<string> {
  return codeIn(await latestMessage(ctx, to, channel));
}

/** A 6-digit code that is not `code`. */
export function wrong(code: string, n = 1): string {
  return String((Number(code) + 1 + n * 7919) % 1_000_000).padStart(6, "0");
}

export async function sessionCount(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${userId}`;
  return row!.n;
}

export async function lockState(sql: Sql, userId: string): Promise<{ failedAttempts: number; lockedUntil: Date | null }> {
  const [row] = await sql<{ failedAttempts: number; lockedUntil: Date | null }[]>`
    select failed_attempts as "failedAttempts", locked_until as "lockedUntil" from users where id = ${userId}`;
  return row!;
}

/** Names of the cookies a response sets (values differ by nature; names must not). */
export function cookieNames(page: Pick<Page, "headers">): string[] {
  return page.headers
    .getSetCookie()
    .map((line) => line.split("=")[0]!.trim())
    .sort();
}

/** A page with the typed address replaced, for comparing answers about different addresses. */
export function comparable(page: Page, ...typed: string[]): string {
  let text = page.text;
  for (const t of typed) text = text.split(t).join("TYPED");
  return text;
}
