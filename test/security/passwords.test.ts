/**
 * Passwords (ASVS 6.2.x, 11.4.2): argon2id m=19456 t=2 p=1 at rest, rehashed at sign-in when the
 * parameters rose; at least 12 and at most 256 characters (longer refused before hashing), no
 * composition rules, common ones and ones holding the email's local part or the portal's name
 * refused with the reason shown; pasting allowed. Through the password reset's New Password step.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hash } from "@node-rs/argon2";
import { createTestContext, type Browser, type TestContext } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { signIn, useFreshAddress } from "../support/sign-in.ts";
import { lastCode } from "./support/steps.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

async function storedHash(userId: string): Promise<string> {
  const [row] = await ctx.sql<{ hash: string }[]>`select password_hash as hash from users where id = ${userId}`;
  return row!.hash;
}

/** A browser on the New Password step of a password reset. */
async function atNewPassword(user: ActiveUser): Promise<Browser> {
  const browser = ctx.browser();
  await browser.post("/forgot-password", { email: user.email });
  await browser.post("/forgot-password/code", { code: await lastCode(ctx, user.email, "email") });
  assert.is((await browser.post("/forgot-password/verified")).url, "/forgot-password/new-password");
  return browser;
}

test("ASVS 6.2.1, 6.2.9, 6.2.11, 6.2.12: the policy: 12..256 characters, not common, not the email's local part or the portal name, reasons shown", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email", email: `marguerite.${Date.now()}@clinic.example` });
  const local = user.email.split("@")[0]!;
  const browser = await atNewPassword(user);
  const before = await storedHash(user.id);
  const refused: Array<[string, string, RegExp]> = [
    ["11 characters", "kq7-zt9-wxy", /at least 12/],
    ["257 characters", "a9$".repeat(85) + "xy", /at most 256/],
    ["a common password", "password1234", /too easy to guess/],
    ["the email's local part", `${local}-violin-orbit`, /email address/],
    ["the portal's name", "my-provider-portal-violin-2024", /name of the portal/],
  ];
  for (const [name, password, reason] of refused) {
    const page = await browser.post("/forgot-password/new-password", { password, confirm: password });
    assert.ok(page.status >= 400 && page.status < 500, `${name}: ${page.status}`);
    assert.match(page.text, reason, `${name}: the reason is shown`);
    assert.is(page.url, "/forgot-password/new-password");
    assert.not.ok(page.text.includes(password), `${name}: the password is not echoed`);
  }
  assert.is(await storedHash(user.id), before, "nothing was stored");
  // No composition rules: lower-case words and spaces are fine when long and uncommon.
  const good = "lantern meadow quartz cobbler";
  assert.is((await browser.post("/forgot-password/new-password", { password: good, confirm: good })).url, "/home");
});

test("ASVS 6.2.3: a password of exactly 256 characters is accepted (long passphrases work)", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = await atNewPassword(user);
  const long = Array.from({ length: 256 }, (_, i) => "qwfpgjluyarstdhneiozxcvbkm"[(i * 7) % 26]).join("");
  assert.is((await browser.post("/forgot-password/new-password", { password: long, confirm: long })).url, "/home");
  const signedIn = await signIn(ctx, ctx.browser(), { ...user, password: long }, { option: "email" });
  assert.is(signedIn.url, "/home");
});

test("ASVS 6.2.7: pasting is allowed: password fields carry no paste blocking and no autocomplete=off", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = await atNewPassword(user);
  const page = await browser.get("/forgot-password/new-password");
  const inputs = [...page.document.querySelectorAll('input[type="password"]')];
  assert.is(inputs.length, 2);
  for (const input of inputs) {
    assert.is.not(input.getAttribute("autocomplete"), "off");
    for (const attribute of input.getAttributeNames()) assert.not.match(attribute, /^on/);
  }
  const credentials = await ctx.browser().post("/login", { option: "email" });
  const password = credentials.document.querySelector('input[type="password"]')!;
  assert.is(password.getAttribute("autocomplete"), "current-password");
});

test("ASVS 11.4.2: passwords are stored as argon2id m=19456 t=2 p=1, and a weaker stored hash is rehashed at the next sign-in", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  assert.match(await storedHash(user.id), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  const weak = await hash(user.password, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  await ctx.sql`update users set password_hash = ${weak} where id = ${user.id}`;
  await signIn(ctx, ctx.browser(), user, { option: "email" });
  const now = await storedHash(user.id);
  assert.match(now, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, "rehashed with today's parameters");
  assert.is.not(now, weak);
});

test.run();
