/**
 * Test helpers for the admin area: an administrator's browser without walking through MFA, the
 * emailed links of a user, and the buttons and forms of the admin pages pressed by their names.
 */
import { createSession } from "../../src/auth/sessions.ts";
import { cookieName } from "../../src/web/cookies.ts";
import type { Browser, Page, TestContext } from "./harness.ts";
import { createActiveUser, type ActiveUser, type ActiveUserInput } from "./users.ts";

/**
 * A browser holding a session of `userId`. Sessions are created only after the second factor
 * passed, so holding one is exactly what a completed MFA sign-in leaves behind.
 */
export async function browserSignedInAs(ctx: TestContext, userId: string): Promise<Browser> {
  const { token } = await createSession(ctx.sql, ctx.clock, userId, "email");
  const browser = ctx.browser();
  browser.cookies.set(cookieName(ctx.config, "session"), token);
  return browser;
}

/** A registered, active administrator and their signed-in browser. */
export async function signedInAdmin(ctx: TestContext, input: Partial<ActiveUserInput> = {}): Promise<{ admin: ActiveUser; browser: Browser }> {
  const admin = await createActiveUser(ctx.sql, { method: "email", name: "Test Administrator", ...input, role: "admin" });
  return { admin, browser: await browserSignedInAs(ctx, admin.id) };
}

interface DevMessage {
  id: number;
  channel: string;
  to: string;
  subject: string | null;
  text: string;
}

/** Messages sent to an address, newest first, as /dev/outbox.json lists them. */
export async function messagesTo(browser: Browser, to: string): Promise<DevMessage[]> {
  const page = await browser.get(`/dev/outbox.json?to=${encodeURIComponent(to)}`);
  const all = JSON.parse(page.text) as DevMessage[];
  return all.filter((message) => message.to.toLowerCase() === to.toLowerCase()).sort((a, b) => b.id - a.id);
}

/** The newest emailed link to an address (path only), e.g. /register/link/abc…; throws when there is none. */
export async function latestLink(browser: Browser, to: string): Promise<string> {
  for (const message of await messagesTo(browser, to)) {
    const match = /https?:\/\/[^\s/]+(\/register\/link\/[a-z2-7]+)/.exec(message.text);
    if (match) return match[1]!;
  }
  throw new Error(`no link was emailed to ${to}`);
}

/** The admin-list row of a user (by email), or null when the page does not show them. */
export function rowOf(page: Page, email: string): Element | null {
  for (const row of page.document.querySelectorAll("tbody tr")) {
    if ([...row.querySelectorAll("td")].some((cell) => cell.textContent?.trim() === email)) return row;
  }
  return null;
}

/** The form whose button's accessible name (its text, hidden email included) is `name`. */
export function formOfButton(page: Page, name: string): { action: string; method: string; fields: Record<string, string> } {
  for (const button of page.document.querySelectorAll("button")) {
    if ((button.textContent ?? "").replace(/\s+/g, " ").trim() !== name) continue;
    const form = button.closest("form");
    if (!form) break;
    const fields: Record<string, string> = {};
    for (const input of form.querySelectorAll("input[type=hidden]")) fields[input.getAttribute("name")!] = input.getAttribute("value") ?? "";
    return { action: form.getAttribute("action")!, method: (form.getAttribute("method") ?? "get").toLowerCase(), fields };
  }
  throw new Error(`no button named "${name}" on ${page.url}`);
}

/** Presses a button on a page as a browser would without JavaScript (or as htmx with `htmx: true`). */
export async function press(browser: Browser, page: Page, name: string, options: { htmx?: boolean } = {}): Promise<Page> {
  const form = formOfButton(page, name);
  // Disable and Reset MFA open their confirmation page: a GET form.
  if (form.method === "get") return browser.get(`${form.action}?${new URLSearchParams(form.fields)}`, options);
  return browser.post(form.action, form.fields, options);
}

/**
 * A destructive action (Disable, Reset MFA): its button opens the confirmation page, whose
 * warning button of the same name does it.
 */
export async function pressConfirmed(browser: Browser, page: Page, name: string): Promise<Page> {
  const confirm = await press(browser, page, name);
  if (!confirm.document.querySelector("[data-confirm]")) throw new Error(`"${name}" on ${page.url} did not open a confirmation page (got ${confirm.url})`);
  return press(browser, confirm, name);
}

/** The newest 6-digit code emailed to an address. */
export async function latestCode(browser: Browser, to: string): Promise<string> {
  for (const message of await messagesTo(browser, to)) {
    const match = /Your code is: (\d{6})/.exec(message.text);
    if (match) return match[1]!;
  }
  throw new Error(`no code was emailed to ${to}`);
}

/**
 * Login with Email the way a person does it (sign-in page, password, emailed code, Continue).
 * Returns the page after the password when it was refused (status 401 and the generic
 * message), else the page the sign-in ended on (/home).
 */
export async function signInWithEmail(browser: Browser, email: string, password: string): Promise<Page> {
  const start = await browser.post("/login", { option: "email" });
  if (start.url !== "/login/credentials") throw new Error(`Login with Email did not reach the password step (${start.url})`);
  const credentials = await browser.post("/login/credentials", { email, password });
  if (credentials.url !== "/login/email") return credentials;
  const sent = await browser.post("/login/email/send", {});
  if (sent.url !== "/login/email/code") throw new Error(`no code step after Send Verification Code (${sent.url})`);
  const verified = await browser.post("/login/email/code", { code: await latestCode(browser, email) });
  if (verified.url !== "/login/email/verified") throw new Error(`the emailed code was not accepted (${verified.url})`);
  return browser.post("/login/email/verified", {});
}
