/**
 * A clinic behind one address (issue 18): 300 staff share one client address and all sign in
 * within the same minute, each step taken by all of them before the next (the worst order for
 * per-address buckets). None is refused: the per-address password and code buckets count
 * failures only (SIGNIN_FAILURE_LIMIT), and the Login-press and send buckets are sized for it
 * (SIGNIN_START_LIMIT, SIGNIN_SEND_LIMIT). Guessing from that address is still held to 30 a minute.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, uniqueEmail, type Page, type Browser, type TestContext } from "../support/harness.ts";
import { codeIn, latestMessage, press, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { TEST_PASSWORD } from "../support/users.ts";
import { hashPassword } from "../../src/auth/passwords.ts";
import { normalizeEmail } from "../../src/auth/users.ts";
import { TERMS_VERSION } from "../../src/terms.ts";

const STAFF = 300;
let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

/** STAFF active email-method accounts with one password (hashed once: the test is about limits, not argon2 cost). */
async function staff(count: number): Promise<string[]> {
  const hash = await hashPassword(TEST_PASSWORD);
  const emails = Array.from({ length: count }, () => uniqueEmail("clinic-staff"));
  const rows = emails.map((email) => ({
    email,
    email_normalized: normalizeEmail(email),
    name: "Clinic Staff",
    role: "provider",
    status: "active",
    mfa_method: "email",
    password_hash: hash,
    terms_version: TERMS_VERSION,
    terms_accepted_at: ctx.clock.now(),
  }));
  await ctx.sql`insert into users ${ctx.sql(rows)}`;
  return emails;
}

test(`${STAFF} staff behind one address sign in within one minute; 30 wrong passwords from it then meet a 429`, async () => {
  assert.equal(ctx.config.limits.signInFailures, { capacity: 30, perMs: 60_000 }, "the default failure limit");
  const emails = await staff(STAFF);
  useFreshAddress(ctx); // one address for the whole clinic
  const started = ctx.clock.now().getTime();
  const people: { email: string; browser: Browser; page: Page }[] = emails.map((email) => ({ email, browser: ctx.browser(), page: undefined as unknown as Page }));

  for (const person of people) {
    const signInPage = await person.browser.get("/login");
    person.page = await press(person.browser, signInPage, "Login with Email");
    assert.is(person.page.url, "/login/credentials", `${person.email}: Login with Email`);
  }
  for (const person of people) {
    person.page = await press(person.browser, person.page, "Sign in", { email: person.email, password: TEST_PASSWORD });
    assert.is(person.page.url, "/login/email", `${person.email}: password step (${person.page.status})`);
  }
  for (const person of people) {
    person.page = await press(person.browser, person.page, "Send Verification Code");
    assert.is(person.page.url, "/login/email/code", `${person.email}: code sent (${person.page.status})`);
  }
  for (const person of people) {
    const code = codeIn(await latestMessage(ctx, person.email, "email"));
    person.page = await press(person.browser, person.page, "Verify Code", { code });
    assert.is(person.page.url, "/login/email/verified", `${person.email}: code step (${person.page.status})`);
    person.page = await press(person.browser, person.page, "Continue");
    assert.is(person.page.url, "/home", `${person.email}: signed in`);
  }
  assert.ok(ctx.clock.now().getTime() - started < 60_000, "all within one minute of the clock");

  // The same address guessing: 30 failures a minute, then refused before any password is checked.
  const guesser = ctx.browser();
  await press(guesser, await guesser.get("/login"), "Login with Email");
  for (let i = 0; i < 30; i++) {
    const page = await submitPassword(guesser, uniqueEmail("guess"), "guess-password-1");
    assert.is(page.status, 401, `guess ${i + 1}`);
  }
  assert.is((await submitPassword(guesser, emails[0]!, TEST_PASSWORD)).status, 429, "the 31st failure-counting check is refused");
});

test.run();
