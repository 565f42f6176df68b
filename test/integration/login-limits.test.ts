/**
 * Login with Phone / Login with Email store a flow before anyone is known, so each client address
 * may press them SIGNIN_START_LIMIT times a minute (ASVS 2.4.1): a script cannot fill the flows table.
 * Run with the limit at 30 a minute (the default is 600, for a clinic behind one address).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, type TestContext } from "../support/harness.ts";
import { pressLogin, useFreshAddress } from "../support/sign-in.ts";
import { MINUTE } from "../../src/clock.ts";
import { START_LIMITED } from "../../src/flows/login.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext({ env: { SIGNIN_START_LIMIT: "30/1m" } });
});

async function flowCount(): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from flows where kind = 'login'`;
  return row!.n;
}

test("an address that presses Login too often gets the sign-in page with a 429 and no new flow; a minute later it may again", async () => {
  const first = useFreshAddress(ctx);
  const browser = ctx.browser();
  assert.is(ctx.config.limits.signInStarts.capacity, 30);
  for (let i = 0; i < ctx.config.limits.signInStarts.capacity; i++) {
    const page = await pressLogin(browser, i % 2 ? "phone" : "email");
    assert.is(page.status, 200, `press ${i + 1}`);
    assert.is(page.url.endsWith("/login/credentials"), true, `press ${i + 1} reached ${page.url}`);
  }
  const before = await flowCount();
  const refused = await pressLogin(browser, "email");
  assert.is(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  assert.equal(texts(refused, "h1"), ["Sign in"]);
  assert.equal(texts(refused, "[role=alert] p"), [START_LIMITED]);
  assert.is(START_LIMITED, "Too many sign-in attempts from this network. Wait a minute and try again.");
  const fragment = await pressLogin(browser, "phone", { htmx: true });
  assert.is(fragment.status, 429);
  assert.ok(fragment.text.includes(START_LIMITED));
  assert.is(await flowCount(), before, "a refused press stores no flow");

  // Another address is not held back by this one.
  useFreshAddress(ctx);
  assert.is((await pressLogin(ctx.browser(), "email")).status, 200);

  ctx.deps.remoteAddress = () => first;
  assert.is((await pressLogin(browser, "email")).status, 429);
  ctx.clock.advance(MINUTE);
  assert.is((await pressLogin(browser, "email")).status, 200);
});

test.run();
