/**
 * No empty status line (issue 17: "an empty status paragraph leaves a gap under the h1 on many
 * pages"). Walks the pages a provider and an administrator meet, without JavaScript, and reads
 * every status element with linkedom: each one holds words, except the admin pages' live region
 * that htmx fills in place (it must exist before a message arrives to be read out), which is
 * marked data-live-region and given no room by app.css while empty.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import type { Browser, Page, TestContext } from "../support/harness.ts";
import { ClientBrowser, GOOD_PASSWORD, codeIn, invite, lastMessage, pressButton, registrationContext } from "../support/registration.ts";
import { createActiveUser, uniquePhone } from "../support/users.ts";
import { browserSignedInAs } from "../support/admin.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await registrationContext();
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** A browser that keeps every page it was shown. */
class Recorder extends ClientBrowser {
  readonly pages: Page[] = [];
  override async get(...args: Parameters<ClientBrowser["get"]>): Promise<Page> {
    return this.keep(await super.get(...args));
  }
  override async post(...args: Parameters<ClientBrowser["post"]>): Promise<Page> {
    return this.keep(await super.post(...args));
  }
  private keep(page: Page): Page {
    if (page.status !== 204 && (page.headers.get("content-type") ?? "").includes("text/html")) this.pages.push(page);
    return page;
  }
}

function assertNoEmptyStatus(pages: Page[]): void {
  assert.ok(pages.length > 5, "pages were walked");
  for (const page of pages) {
    for (const element of page.document.querySelectorAll('[role="status"], .status, .status-region')) {
      if ((element.textContent ?? "").trim()) continue;
      assert.ok(
        element.hasAttribute("data-live-region") && element.classList.contains("status-region") && element.childNodes.length === 0,
        `${page.url}: an empty status element: ${element.outerHTML}`,
      );
    }
  }
}

test("app.css gives an empty live region no room", () => {
  const css = readFileSync(new URL("../../static/app.css", import.meta.url), "utf8");
  assert.match(css, /\.status-region:empty\s*\{\s*min-height:\s*0;\s*margin:\s*0;\s*\}/);
});

test("registration by phone (SMS, then Call Me) and its pages: no empty status element", async () => {
  const browser = new Recorder(ctx);
  const invited = await invite(ctx);
  let page = await browser.get(invited.path);
  page = await pressButton(browser, page, "Phone");
  page = await pressButton(browser, page, "Send Verification Code");
  page = await pressButton(browser, page, "Verify Code", { code: codeIn((await lastMessage(ctx, invited.email)).body) });
  page = await pressButton(browser, page, "Create", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
  assert.is(page.url, "/register/phone");
  const phone = uniquePhone();
  const call = await pressButton(browser, page, "Call Me", { phone });
  await pressButton(browser, call, "Continue");
  page = await browser.get("/register/phone");
  page = await pressButton(browser, page, "Send Code", { phone });
  page = await pressButton(browser, page, "Verify Code", { code: codeIn((await lastMessage(ctx, phone)).body) });
  assert.is(page.url, "/register/terms");
  page = await pressButton(browser, page, "Continue", { agree: "on" });
  assert.is(page.url, "/home");
  for (const path of ["/account", "/account/password", "/account/factors", "/help", "/help/mfa", "/help/what-is-mfa", "/help/remember-me"]) await browser.get(path);
  assertNoEmptyStatus(browser.pages);
});

test("sign-in by phone (choice, SMS code, Call Me) and the signed-out pages: no empty status element", async () => {
  const browser = new Recorder(ctx);
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  let page = await browser.get("/login");
  page = await pressButton(browser, page, "Login with Phone");
  page = await pressButton(browser, page, "Sign in", { email: account.email, password: account.password });
  assert.is(page.url, "/login/phone");
  const call = await pressButton(browser, page, "Call Me");
  page = await pressButton(browser, call, "Continue");
  page = await pressButton(browser, page, "Send Code");
  assert.is(page.url, "/login/phone/code");
  page = await pressButton(browser, page, "Verify Code", { code: codeIn((await lastMessage(ctx, account.phone!)).body) });
  assert.is(page.url, "/home");
  const out = new Recorder(ctx);
  for (const path of ["/login", "/login?signed-out=1", "/trouble", "/forgot-password", "/register/error?reason=expired"]) await out.get(path);
  assertNoEmptyStatus([...browser.pages, ...out.pages]);
});

test("the admin pages: only the live region may be empty, and then it holds nothing", async () => {
  const admin = await createActiveUser(ctx.sql, { method: "email", name: "Test Administrator", role: "admin" });
  const signed = await browserSignedInAs(ctx, admin.id);
  const pages: Page[] = [];
  for (const path of ["/admin", "/admin/audit", "/admin/applications", "/admin/organizations", "/admin/import", `/admin/users/${admin.id}`]) {
    const page = await (signed as Browser).get(path);
    assert.is(page.status, 200, `${path}: 200`);
    pages.push(page);
  }
  const list = pages[0]!;
  assert.ok(list.document.querySelector("#admin-status[data-live-region]"), "the list has its live region for htmx");
  assertNoEmptyStatus(pages);
});

test.run();
