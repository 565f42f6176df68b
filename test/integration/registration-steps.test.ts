/**
 * The wizard's guard rails: wrong codes (5 tries, then exhausted), a resent code killing the old
 * one, steps requested out of order, two submissions of the same step at once, bad input of every
 * kind (4xx, the step again, nothing stored changes, never a 500), field errors tied to their
 * fields, and the accessible names the guide uses (ASVS 2.3.1, 6.5.x, 6.6.3).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { TestContext } from "../support/harness.ts";
import { texts } from "../support/harness.ts";
import {
  ClientBrowser,
  GOOD_PASSWORD,
  auditEvents,
  codeIn,
  flowOf,
  invite,
  lastMessage,
  registrationContext,
  startWizard,
  userRow,
  verifyEmailAndCreatePassword,
} from "../support/registration.ts";
import { uniquePhone } from "../support/users.ts";
import { MAX_CODE_ATTEMPTS } from "../../src/auth/codes.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await registrationContext();
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** A six-digit code that is not `code`, the `n`th of them (the same wrong code again in a row takes no try). */
function otherCode(code: string, n = 0): string {
  return String((Number(code) + 1 + n) % 1_000_000).padStart(6, "0");
}

/** The field's error message, and whether the input points at it and carries the focus. */
function fieldError(page: { document: Document }, name: string) {
  const input = page.document.querySelector(`[name="${name}"]`);
  const message = page.document.querySelector(`#field-${name}-error`);
  return {
    message: message?.textContent?.replace(/^Error:\s*/, "").trim() ?? null,
    described: (input?.getAttribute("aria-describedby") ?? "").split(" ").includes(`field-${name}-error`),
    invalid: input?.getAttribute("aria-invalid") === "true",
    autofocus: input?.hasAttribute("autofocus") ?? false,
  };
}

test(`a wrong email code ${MAX_CODE_ATTEMPTS} times, then even the right one is refused as exhausted (ASVS 6.6.3)`, async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await startWizard(ctx, browser, invited, "email");
  await browser.post("/register/email/send", {});
  const code = codeIn((await lastMessage(ctx, invited.email)).body);
  for (let i = 0; i < MAX_CODE_ATTEMPTS; i++) {
    const page = await browser.post("/register/email/verify", { code: otherCode(code, i) });
    assert.equal(page.status, 422, `try ${i + 1}`);
    const error = fieldError(page, "code");
    assert.match(error.message ?? "", /not right/);
    assert.ok(error.described && error.invalid && error.autofocus, "the message is tied to the field, which gets the focus");
    assert.equal(page.document.querySelector<HTMLInputElement>("#field-code")!.getAttribute("value"), "", "a code is never typed back");
  }
  const exhausted = await browser.post("/register/email/verify", { code });
  assert.equal(exhausted.status, 422);
  assert.match(fieldError(exhausted, "code").message ?? "", /Too many wrong tries/);
  assert.equal((await flowOf(ctx, invited.userId))?.state, "method_chosen");
  assert.equal((await auditEvents(ctx, invited.userId, "code.failed")).length, MAX_CODE_ATTEMPTS + 1);
  const [row] = await ctx.sql<{ failed: number }[]>`select failed_attempts as failed from users where id = ${invited.userId}`;
  assert.equal(row!.failed, MAX_CODE_ATTEMPTS, "wrong codes count toward the account lockout");

  // Send New Code gives five fresh tries.
  await browser.post("/register/email/send", {});
  const fresh = codeIn((await lastMessage(ctx, invited.email)).body);
  const ok = await browser.post("/register/email/verify", { code: fresh });
  assert.equal(ok.url, "/register/email");
  assert.equal((await flowOf(ctx, invited.userId))?.state, "email_verified");
});

test("Send New Code replaces the code: the old one no longer works (ASVS 6.5.4)", async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await startWizard(ctx, browser, invited, "email");
  await browser.post("/register/email/send", {});
  const old = codeIn((await lastMessage(ctx, invited.email)).body);
  const resent = await browser.post("/register/email/send", {});
  assert.match(texts(resent, "[role=status]").join(" "), /new code/i);
  const fresh = codeIn((await lastMessage(ctx, invited.email)).body);
  if (fresh !== old) {
    const refused = await browser.post("/register/email/verify", { code: old });
    assert.equal(refused.status, 422, "the old code is dead");
  }
  const ok = await browser.post("/register/email/verify", { code: fresh });
  assert.equal(ok.url, "/register/email");
  assert.equal((await flowOf(ctx, invited.userId))?.state, "email_verified");
});

test("an SMS code: a resend kills the old one, the code expires after SMS_CODE_TTL, a bad number is refused with the reason", async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await startWizard(ctx, browser, invited, "phone");
  await verifyEmailAndCreatePassword(ctx, browser, invited);
  for (const [phone, reason] of [
    ["(202) 555-0143 ext 12", /extension/],
    ["900-555-0143", /Premium-rate/],
    ["12345", /10-digit/],
    ["", /phone number/i],
  ] as const) {
    const page = await browser.post("/register/phone/send", { phone, channel: "sms" });
    assert.equal(page.status, 422, phone);
    const error = fieldError(page, "phone");
    assert.match(error.message ?? "", reason, phone);
    assert.ok(error.described && error.autofocus);
    assert.equal(page.document.querySelector("#field-phone")!.getAttribute("value"), phone, "what was typed is kept");
  }
  const phone = uniquePhone();
  await browser.post("/register/phone/send", { phone, channel: "sms" });
  const old = codeIn((await lastMessage(ctx, phone)).body);
  await browser.post("/register/phone/send", { phone, channel: "sms" });
  const fresh = codeIn((await lastMessage(ctx, phone)).body);
  if (old !== fresh) assert.equal((await browser.post("/register/phone/verify", { code: old })).status, 422);
  ctx.clock.advance(ctx.config.ttl.smsCode + 1000);
  const expired = await browser.post("/register/phone/verify", { code: fresh });
  assert.equal(expired.status, 422);
  assert.match(fieldError(expired, "code").message ?? "", /expired/);
  assert.equal((await flowOf(ctx, invited.userId))?.state, "password_set");
});

test("steps requested out of order are sent (303) to the step the flow is on; nothing moves (ASVS 2.3.1)", async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await browser.get(invited.path);
  for (const path of ["/register/email", "/register/phone", "/register/terms"]) {
    const page = await browser.get(path);
    assert.equal(page.redirects, [303], path);
    assert.equal(page.url, "/register/method", path);
  }
  for (const [path, fields] of [
    ["/register/email/send", {}],
    ["/register/email/verify", { code: "123456" }],
    ["/register/password", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD }],
    ["/register/phone/send", { phone: uniquePhone(), channel: "sms" }],
    ["/register/phone/verify", { code: "123456" }],
    ["/register/phone/call/check", {}],
    ["/register/terms", { agree: "on" }],
  ] as const) {
    const page = await browser.post(path, fields);
    assert.equal(page.redirects[0], 303, path);
    assert.equal(page.url, "/register/method", path);
  }
  assert.equal((await flowOf(ctx, invited.userId))?.state, "invited");
  assert.equal((await userRow(ctx, invited.userId)).status, "invited");

  // Later on: the method cannot be chosen again, the password not created twice, the email step not repeated.
  await browser.post("/register/method", { method: "email" });
  const replayed = await browser.post("/register/method", { method: "phone" });
  assert.equal(replayed.url, "/register/email");
  assert.equal((await flowOf(ctx, invited.userId))?.data.method, "email", "a replayed form changes nothing");
  await verifyEmailAndCreatePassword(ctx, browser, invited);
  for (const path of ["/register/method", "/register/email", "/register/phone"]) {
    assert.equal((await browser.get(path)).url, "/register/terms", path);
  }
  const again = await browser.post("/register/password", { password: "another-password-entirely-77", confirm: "another-password-entirely-77" });
  assert.equal(again.url, "/register/terms");
  assert.equal((await auditEvents(ctx, invited.userId, "registration.password_created")).length, 1);
});

test("no flow cookie, or a flow that expired: the Registration error page, not a step", async () => {
  const stranger = new ClientBrowser(ctx);
  for (const path of ["/register", "/register/method", "/register/email", "/register/terms"]) {
    const page = await stranger.get(path);
    assert.equal(page.url, "/register/error?reason=session", path);
  }
  const post = await stranger.post("/register/terms", { agree: "on" });
  assert.equal(post.url, "/register/error?reason=session");
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await browser.get(invited.path);
  ctx.clock.advance(ctx.config.ttl.registrationLink + 1000);
  const expired = await browser.get("/register/method");
  assert.equal(expired.url, "/register/error?reason=session");
});

test("two submissions of the same step at once: exactly one wins", async () => {
  // The code: both right, one consumes it and moves the flow; the other finds it moved.
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await startWizard(ctx, browser, invited, "email");
  await browser.post("/register/email/send", {});
  const code = codeIn((await lastMessage(ctx, invited.email)).body);
  const pages = await Promise.all([browser.post("/register/email/verify", { code }), browser.post("/register/email/verify", { code })]);
  for (const page of pages) assert.ok(page.status < 500, `status ${page.status}`);
  assert.equal((await auditEvents(ctx, invited.userId, "registration.email_verified")).length, 1);
  assert.equal((await flowOf(ctx, invited.userId))?.state, "email_verified");

  // Two different passwords at once: exactly one is kept.
  const passwords = ["first-concurrent-password-11", "second-concurrent-password-22"];
  await Promise.all(passwords.map((p) => browser.post("/register/password", { password: p, confirm: p })));
  assert.equal((await auditEvents(ctx, invited.userId, "registration.password_created")).length, 1);

  // The last step twice: one account activation, one session.
  const terms = await Promise.all([browser.post("/register/terms", { agree: "on" }), browser.post("/register/terms", { agree: "on" })]);
  for (const page of terms) assert.ok(page.status < 500);
  assert.equal((await auditEvents(ctx, invited.userId, "registration.completed")).length, 1);
  const [sessions] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${invited.userId}`;
  assert.equal(sessions!.n, 1, "exactly one session");
});

test("bad input on every step: 4xx and the step again, never a 500, nothing stored changes", async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await browser.get(invited.path);
  const methodCases: Array<[string, Record<string, string | string[]> | string, string?]> = [
    ["empty", {}],
    ["unknown value", { method: "fax" }],
    ["repeated", { method: ["phone", "email"] }],
    ["control characters", { method: "email\u0000" }],
    ["JSON body", JSON.stringify({ method: "email" }), "application/json"],
    ["garbage multipart", "--x\r\nnonsense", "multipart/form-data; boundary=x"],
  ];
  for (const [name, fields, type] of methodCases) {
    const page = await browser.post("/register/method", fields, type ? { contentType: type } : {});
    assert.ok(page.status >= 400 && page.status < 500, `${name}: ${page.status}`);
    assert.equal(texts(page, "h1")[0], "Multi-factor authentication registration", name);
  }
  const huge = await browser.post("/register/method", { method: "email", filler: "x".repeat(1024 * 1024) });
  assert.equal(huge.status, 413);
  assert.equal((await flowOf(ctx, invited.userId))?.state, "invited", "nothing moved");

  await browser.post("/register/method", { method: "email" });
  await browser.post("/register/email/send", {});
  for (const [name, fields] of [
    ["missing code", {}],
    ["empty code", { code: "" }],
    ["letters", { code: "abcdef" }],
    ["repeated code", { code: ["123456", "654321"] }],
    ["long code", { code: "1".repeat(5000) }],
    ["control", { code: "12\u00073456" }],
  ] as const) {
    const page = await browser.post("/register/email/verify", fields as Record<string, string | string[]>);
    assert.equal(page.status, 400, name);
    assert.ok(fieldError(page, "code").message, `${name}: message next to the field`);
  }
  const [attempts] = await ctx.sql<{ n: number }[]>`select coalesce(max(attempts), 0)::int as n from codes c join flows f on f.id = c.flow_id where f.user_id = ${invited.userId}`;
  assert.equal(attempts!.n, 0, "malformed input takes no try from the code");

  await browser.post("/register/email/verify", { code: codeIn((await lastMessage(ctx, invited.email)).body) });
  for (const [name, fields, field, pattern] of [
    ["empty", {}, "password", /Enter a new password/],
    ["too short", { password: "short", confirm: "short" }, "password", /at least 12/],
    ["common", { password: "password1234", confirm: "password1234" }, "password", /./],
    ["has the email", { password: `${invited.email.split("@")[0]}-xyz`, confirm: `${invited.email.split("@")[0]}-xyz` }, "password", /email/],
    ["mismatch", { password: GOOD_PASSWORD, confirm: `${GOOD_PASSWORD}x` }, "confirm", /not the same/],
    ["too long", { password: "a".repeat(300), confirm: "a".repeat(300) }, "password", /at most 256/],
    ["repeated", { password: [GOOD_PASSWORD, GOOD_PASSWORD], confirm: GOOD_PASSWORD }, "password", /more than once/],
  ] as const) {
    const page = await browser.post("/register/password", fields as Record<string, string | string[]>);
    assert.ok(page.status === 400 || page.status === 422, `${name}: ${page.status}`);
    const error = fieldError(page, field);
    assert.match(error.message ?? "", pattern, name);
    assert.ok(error.described && error.invalid && error.autofocus, `${name}: tied to the field and focused`);
    for (const input of page.document.querySelectorAll("input[type=password]")) {
      assert.equal(input.getAttribute("value"), "", `${name}: passwords are never typed back`);
    }
  }
  assert.equal((await flowOf(ctx, invited.userId))?.state, "email_verified", "nothing moved");

  await browser.post("/register/password", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
  const unchecked = await browser.post("/register/terms", {});
  assert.equal(unchecked.status, 400);
  assert.match(fieldError(unchecked, "agree").message ?? "", /Check the box/);
  const wrongValue = await browser.post("/register/terms", { agree: "yes please" });
  assert.equal(wrongValue.status, 400);
  assert.equal((await userRow(ctx, invited.userId)).status, "invited");

  const trouble = await browser.post("/trouble", { email: "not-an-address", password: "" });
  assert.equal(trouble.status, 400);
  assert.match(fieldError(trouble, "email").message ?? "", /valid email/);
  assert.ok(fieldError(trouble, "email").autofocus);
  assert.equal(trouble.document.querySelector("#field-email")!.getAttribute("value"), "not-an-address");
  assert.match(fieldError(trouble, "password").message ?? "", /Enter your password/);
});

test("accessible names: every field has a visible label; buttons use the guide's words", async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  const method = await browser.get(invited.path);
  assert.equal(texts(method, "main button"), ["Phone", "Email", "Authenticator App"]);
  assert.match(method.text, /direct phone line/);
  assert.match(method.text, /10 digits; extensions are not supported/);
  const email = await browser.post("/register/method", { method: "phone" });
  assert.ok(texts(email, "main button").includes("Send Verification Code"));
  const pages = [method, email];
  const sent = await browser.post("/register/email/send", {});
  pages.push(sent);
  await browser.post("/register/email/verify", { code: codeIn((await lastMessage(ctx, invited.email)).body) });
  const password = await browser.get("/register/email");
  assert.ok(texts(password, "main button").includes("Create"));
  pages.push(password);
  const phone = await browser.post("/register/password", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
  pages.push(phone);
  pages.push(await browser.get("/trouble"));
  for (const page of pages) {
    for (const input of page.document.querySelectorAll("main input:not([type=hidden])")) {
      const id = input.getAttribute("id");
      const label = page.document.querySelector(`label[for="${id}"]`);
      assert.ok(label && label.textContent!.trim().length > 0, `${page.url}: input ${input.getAttribute("name")} has a label`);
    }
    assert.equal(page.document.querySelectorAll("main h1").length, 1, `${page.url}: one heading`);
  }
  const footer = texts(phone, "footer a");
  assert.ok(footer.includes("Having trouble logging in?") && footer.includes("Multi-Factor Authentication Help"));
  assert.equal(phone.document.querySelector("footer a")!.getAttribute("href"), "/trouble");
});

test.run();
