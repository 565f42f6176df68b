/**
 * Signing in through HTTP the way a person follows the guide: press a Login button, type the
 * email address and password, then the second factor from the dev outbox. For the tests of
 * sign-in itself and of everything behind it (home, admin).
 */
import * as assert from "uvu/assert";
import type { Browser, Page, TestContext } from "./harness.ts";
import type { ActiveUser } from "./users.ts";
import type { LoginOption } from "../../src/auth/users.ts";
import { MINUTE } from "../../src/clock.ts";

/** How long ago a sign-in is "stale" for Confirm it's you: longer than REAUTH_TTL (5m), shorter than SESSION_IDLE_TTL (30m). */
export const STALE = 6 * MINUTE;

/** A JSON POST as static/passkey.js sends one, and the JSON it got back. */
export async function postJson(browser: Browser, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const page = await browser.post(path, JSON.stringify(body), { contentType: "application/json", headers: { accept: "application/json" } });
  return { status: page.status, json: JSON.parse(page.text) };
}

export interface OutboxEntry {
  id: number;
  channel: "email" | "sms" | "voice";
  to: string;
  subject: string | null;
  text: string;
  createdAt: string;
}

/** Newest first, as /dev/outbox.json lists them, optionally for one recipient. */
export async function outboxFor(ctx: TestContext, to: string): Promise<OutboxEntry[]> {
  const response = await ctx.app.request(`/dev/outbox.json?to=${encodeURIComponent(to)}`);
  assert.is(response.status, 200, "the dev outbox answers");
  const entries = (await response.json()) as OutboxEntry[];
  // Newest first by id as a number (the JSON's own order is not relied on: "10" < "9" as text).
  return entries.sort((a, b) => b.id - a.id);
}

/** The newest message to `to` (of a channel), failing the test when there is none. */
export async function latestMessage(ctx: TestContext, to: string, channel?: OutboxEntry["channel"]): Promise<OutboxEntry> {
  const entries = (await outboxFor(ctx, to)).filter((entry) => !channel || entry.channel === channel);
  assert.ok(entries[0], `a ${channel ?? "message"} to ${to} is in the dev outbox`);
  return entries[0]!;
}

/** The 6-digit code in a message's text. */
export function codeIn(entry: OutboxEntry): string {
  const match = /\b(\d{6})\b/.exec(entry.text);
  assert.ok(match, `the message holds a 6-digit code: ${entry.text}`);
  return match![1]!;
}

/** Answers a dev-outbox call as a person keying digits would. */
export async function answerCall(ctx: TestContext, callId: number, digits: string): Promise<string> {
  const response = await ctx.app.request(`/dev/outbox/${callId}/answer`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ digits }).toString(),
  });
  assert.is(response.status, 200, "the dev outbox took the answer");
  return ((await response.json()) as { result: string }).result;
}

/** Sign-in page → a Login button (with or without Remember Me) → wherever that leads. */
export async function pressLogin(browser: Browser, option: LoginOption, options: { remember?: boolean; htmx?: boolean } = {}): Promise<Page> {
  const fields: Record<string, string> = { option };
  if (options.remember) fields.remember = "on";
  return browser.post("/login", fields, { htmx: options.htmx });
}

/** Email Address + Password → Sign in. */
export async function submitPassword(browser: Browser, email: string, password: string, options: { htmx?: boolean } = {}): Promise<Page> {
  return browser.post("/login/credentials", { email, password }, { htmx: options.htmx });
}

/**
 * A whole sign-in, ending on the home page: Login with Email (the emailed code) or Login with
 * Phone (an SMS code). Pass `remember` to check the box.
 */
export async function signIn(
  ctx: TestContext,
  browser: Browser,
  account: Pick<ActiveUser, "email" | "password" | "phone">,
  options: { option?: LoginOption; remember?: boolean } = {},
): Promise<Page> {
  const option = options.option ?? (account.phone ? "phone" : "email");
  let page = await browser.get("/login");
  if (page.url === "/home") return page;
  page = await press(browser, page, option === "phone" ? "Login with Phone" : "Login with Email", options.remember ? { remember: "on" } : {});
  assert.is(page.url, "/login/credentials", "a Login button leads to the credentials step");
  page = await press(browser, page, "Sign in", { email: account.email, password: account.password });
  if (option === "phone") {
    assert.is(page.url, "/login/phone", "a right password leads to the phone step");
    page = await press(browser, page, "Send Code");
    assert.is(page.url, "/login/phone/code");
    const sms = await latestMessage(ctx, account.phone!, "sms");
    page = await press(browser, page, "Verify Code", { code: codeIn(sms) });
  } else {
    assert.is(page.url, "/login/email", "a right password leads to the email step");
    page = await press(browser, page, "Send Verification Code");
    assert.is(page.url, "/login/email/code");
    const email = await latestMessage(ctx, account.email, "email");
    page = await press(browser, page, "Verify Code", { code: codeIn(email) });
    assert.is(page.url, "/login/email/verified");
    page = await press(browser, page, "Continue");
  }
  assert.is(page.url, "/home", "the sign-in ends on the home page");
  return page;
}

let addresses = 0;
/**
 * Gives the app a client address of its own from now on. Rate limits are kept per client address
 * in the run's shared database, so a test that makes many attempts must not drain the buckets of
 * every other test (they would all be 127.0.0.1).
 */
export function useFreshAddress(ctx: TestContext): string {
  addresses += 1;
  const address = `fd00::${(process.pid & 0xffff).toString(16)}:${Date.now().toString(16).slice(-4)}:${addresses.toString(16)}`;
  ctx.deps.remoteAddress = () => address;
  return address;
}

/**
 * Presses the button named `name` on a page the way a browser would: the button's own form, its
 * action and method, the form's other fields (hidden ones included) with `fields` typed over them,
 * and the button's name/value. So a test fails when a template posts somewhere no route answers.
 */
export async function press(
  browser: Browser,
  page: Page,
  name: string,
  fields: Record<string, string> = {},
  options: { htmx?: boolean; follow?: boolean } = {},
): Promise<Page> {
  const buttons = [...page.document.querySelectorAll("button")].filter((b) => (b.textContent ?? "").replace(/\s+/g, " ").trim() === name);
  assert.is(buttons.length, 1, `exactly one button "${name}" on ${page.url}`);
  const button = buttons[0]!;
  const form = button.closest("form");
  assert.ok(form, `the button "${name}" is in a form`);
  const action = button.getAttribute("formaction") ?? form!.getAttribute("action") ?? page.url;
  const method = (form!.getAttribute("method") ?? "get").toLowerCase();
  const body = new URLSearchParams();
  for (const input of form!.querySelectorAll("input")) {
    const inputName = input.getAttribute("name");
    if (!inputName || inputName in fields) continue;
    const type = (input.getAttribute("type") ?? "text").toLowerCase();
    if ((type === "checkbox" || type === "radio") && !input.hasAttribute("checked")) continue;
    body.append(inputName, input.getAttribute("value") ?? "");
  }
  for (const [key, value] of Object.entries(fields)) body.append(key, value);
  if (button.getAttribute("name")) body.append(button.getAttribute("name")!, button.getAttribute("value") ?? "");
  if (method === "get") {
    const query = body.toString();
    return browser.get(query ? `${action}?${query}` : action, { htmx: options.htmx });
  }
  return browser.post(action, body, { htmx: options.htmx, follow: options.follow });
}
