/**
 * Sessions and cookies (security.md "Secrets" and "Web"; ASVS 7.2.x–7.4.x, 3.3.x): Lucia tokens
 * with only SHA-256(secret) at rest, no session before the last factor, a planted cookie never
 * promoted, a new token at each step that raises trust, idle and absolute expiry, sign-out at
 * the server, cookie attributes; and Remember Me bound to its option and its 4 hours.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { Browser, createTestContext, type TestContext } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { codeIn, latestMessage, pressLogin, signIn, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { HOUR, MINUTE, SECOND } from "../../src/clock.ts";
import { generateTokenPair } from "../../src/auth/tokens.ts";
import { createSession, invalidateSession } from "../../src/auth/sessions.ts";
import { sessionCount, toEmailCode } from "./support/steps.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

async function sessionIds(userId: string): Promise<string[]> {
  return (await ctx.sql<{ id: string }[]>`select id from sessions where user_id = ${userId}`).map((r) => r.id);
}

test("ASVS 7.2.3: a session token is <id>.<secret> of 120 random bits each; the database keeps the id and SHA-256(secret) only", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, user, { option: "email" });
  const token = browser.cookies.get("session")!;
  assert.match(token, /^[a-z2-7]{24}\.[a-z2-7]{24}$/);
  const [id, secret] = token.split(".") as [string, string];
  const [row] = await ctx.sql<{ hash: Buffer; text: string }[]>`
    select secret_hash as hash, concat_ws(' ', id, user_id, encode(secret_hash, 'hex'), encode(secret_hash, 'escape'), login_option) as text
    from sessions where id = ${id}`;
  assert.equal(Buffer.from(row!.hash), createHash("sha256").update(secret).digest());
  assert.not.ok(row!.text.includes(secret), "the secret is not stored");
  // A forged secret for a real id is no session.
  const forged = new Browser(ctx.app);
  forged.cookies.set("session", `${id}.${generateTokenPair().token.split(".")[1]}`);
  assert.is((await forged.get("/home")).url, "/login");
});

test("ASVS 7.2.4, 2.3.1: no session exists before the last factor passed", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await toEmailCode(browser, user);
  assert.is(await sessionCount(ctx.sql, user.id), 0, "after the password");
  assert.not.ok(browser.cookies.has("session"));
  await browser.post("/login/email/code", { code: codeIn(await latestMessage(ctx, user.email, "email")) });
  assert.is(await sessionCount(ctx.sql, user.id), 0, "after the code, before Continue");
  assert.is((await browser.get("/home")).url, "/login", "home is not reachable yet");
  assert.is((await browser.post("/login/email/verified")).url, "/home");
  assert.is(await sessionCount(ctx.sql, user.id), 1);
});

test("ASVS 7.2.4: a planted session cookie is never promoted: after sign-in the cookie differs and the planted id is not in sessions", async () => {
  const victim = await createActiveUser(ctx.sql, { method: "email" });
  // A forged token, and a real session id of the victim's that already ended (a captured old cookie).
  const forged = generateTokenPair().token;
  const { token: ended, session } = await createSession(ctx.sql, ctx.clock, victim.id, "email");
  await invalidateSession(ctx.sql, session.id);
  for (const planted of [forged, ended]) {
    const browser = ctx.browser();
    browser.cookies.set("session", planted);
    await signIn(ctx, browser, victim, { option: "email" });
    const now = browser.cookies.get("session")!;
    assert.is.not(now, planted, "a new cookie value");
    const plantedId = planted.split(".")[0]!;
    const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from sessions where id = ${plantedId}`;
    assert.is(row!.n, 0, "the planted id is not a session");
    assert.ok((await sessionIds(victim.id)).includes(now.split(".")[0]!));
  }
});

test("ASVS 7.2.4: a new token at each step that raises trust: the flow cookie is replaced after the password; a copy taken before is useless", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  const before = browser.cookies.get("flow")!;
  const copy = ctx.browser();
  copy.cookies.set("flow", before);
  assert.is((await submitPassword(browser, user.email, user.password)).url, "/login/email");
  const after = browser.cookies.get("flow")!;
  assert.is.not(after.split(".")[0], before.split(".")[0], "a new flow id");
  const [old] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from flows where id = ${before.split(".")[0]!}`;
  assert.is(old!.n, 0, "the pre-password flow is gone");
  const stolen = await copy.post("/login/email/send");
  assert.ok(stolen.url.startsWith("/login"), stolen.url);
  assert.is.not(stolen.url, "/login/email/code");
  assert.is((await browser.post("/login/email/send")).url, "/login/email/code", "the real browser goes on");
});

test("ASVS 7.2.4: authenticating again in a signed-in browser (Forgot your password?) gives a new token and ends the current one", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, user, { option: "email" });
  const first = browser.cookies.get("session")!;
  assert.is((await browser.post("/forgot-password", { email: user.email })).url, "/forgot-password/code");
  await browser.post("/forgot-password/code", { code: codeIn(await latestMessage(ctx, user.email, "email")) });
  await browser.post("/forgot-password/verified");
  const password = "harbor-violet-sextant-19-plume";
  assert.is((await browser.post("/forgot-password/new-password", { password, confirm: password })).url, "/home");
  const second = browser.cookies.get("session")!;
  assert.is.not(second.split(".")[0], first.split(".")[0], "a new session id");
  const old = ctx.browser();
  old.cookies.set("session", first);
  assert.is((await old.get("/home")).url, "/login", "the old token is dead");
  assert.equal(await sessionIds(user.id), [second.split(".")[0]!]);
});

test("ASVS 7.3.1: a session idle 30 minutes ends at the server; activity keeps it alive", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, user, { option: "email" });
  for (let i = 0; i < 3; i++) {
    ctx.clock.advance(29 * MINUTE);
    assert.is((await browser.get("/home")).url, "/home", `active after ${29 * (i + 1)} minutes with requests`);
  }
  const token = browser.cookies.get("session")!;
  ctx.clock.advance(30 * MINUTE);
  const page = await browser.get("/home");
  assert.is(page.url, "/login");
  assert.not.ok(browser.cookies.has("session"), "the dead cookie is cleared");
  assert.is((await sessionIds(user.id)).includes(token.split(".")[0]!), false, "the row is gone");
});

test("ASVS 7.3.2: a session ends after 12 hours however active", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, user, { option: "email" });
  let elapsed = 0;
  while (elapsed + 25 * MINUTE < 12 * HOUR) {
    ctx.clock.advance(25 * MINUTE);
    elapsed += 25 * MINUTE;
    assert.is((await browser.get("/home")).url, "/home");
  }
  ctx.clock.advance(12 * HOUR - elapsed);
  assert.is((await browser.get("/home")).url, "/login");
  assert.is(await sessionCount(ctx.sql, user.id), 0);
});

test("ASVS 7.4.1: Sign out ends the session at the server; a copy of the cookie no longer works", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, user, { option: "email", remember: true });
  const copy = new Map(browser.cookies);
  const page = await browser.post("/logout");
  assert.ok(page.url.startsWith("/login"));
  assert.not.ok(browser.cookies.has("session"));
  assert.not.ok(browser.cookies.has("remember"));
  assert.is(await sessionCount(ctx.sql, user.id), 0);
  const replay = ctx.browser();
  replay.cookies = copy;
  assert.is((await replay.get("/home")).url, "/login", "the old session cookie is dead");
  assert.is((await pressLogin(replay, "email", { remember: true })).url, "/login/credentials", "the old Remember Me cookie is dead");
});

function attributes(line: string): Map<string, string> {
  const parts = line.split(";").map((p) => p.trim());
  const map = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const [k, ...v] = part.split("=");
    map.set(k!.toLowerCase(), v.join("="));
  }
  return map;
}

async function signInRaw(c: TestContext, user: ActiveUser, origin: string): Promise<string[]> {
  const browser = c.browser();
  const post = (path: string, fields: Record<string, string> = {}) => browser.post(path, fields, { origin });
  await post("/login", { option: "email", remember: "on" });
  await post("/login/credentials", { email: user.email, password: user.password });
  await post("/login/email/send");
  await post("/login/email/code", { code: codeIn(await latestMessage(c, user.email, "email")) });
  const response = await c.app.request("/login/email/verified", {
    method: "POST",
    headers: { origin, cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join("; "), "content-type": "application/x-www-form-urlencoded" },
    body: "",
  });
  assert.is(response.status, 303);
  return response.headers.getSetCookie();
}

test("ASVS 3.3.1, 3.3.2, 3.3.4: cookies are HttpOnly, SameSite=Lax, Path=/, without Expires; over https Secure with the __Host- prefix", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const plain = await signInRaw(ctx, user, "http://portal.test");
  const session = plain.find((l) => l.startsWith("session="))!;
  const remember = plain.find((l) => l.startsWith("remember="))!;
  for (const line of [session, remember]) {
    assert.ok(line, "set");
    const a = attributes(line);
    assert.ok(a.has("httponly"), `${line}: HttpOnly`);
    assert.is(a.get("samesite")?.toLowerCase(), "lax", `${line}: SameSite=Lax`);
    assert.is(a.get("path"), "/", `${line}: Path=/`);
    assert.not.ok(a.has("expires") || a.has("max-age"), `${line}: a browser-session cookie`);
    assert.not.ok(a.has("domain"), `${line}: no Domain`);
  }

  const https = await createTestContext({ env: { PUBLIC_URL: "https://portal.test" } });
  https.deps.remoteAddress = ctx.deps.remoteAddress;
  const secureUser = await createActiveUser(https.sql, { method: "email" });
  const lines = await signInRaw(https, secureUser, "https://portal.test");
  const secureSession = lines.find((l) => l.startsWith("__Host-session="));
  const secureRemember = lines.find((l) => l.startsWith("__Host-remember="));
  for (const line of [secureSession, secureRemember]) {
    assert.ok(line, `a __Host- cookie in ${lines.join(" | ")}`);
    const a = attributes(line!);
    assert.ok(a.has("secure"), `${line}: Secure`);
    assert.ok(a.has("httponly"));
    assert.is(a.get("path"), "/");
    assert.not.ok(a.has("domain"));
  }
  assert.not.ok(lines.some((l) => /^(session|remember|flow)=[^;]/.test(l)), "no unprefixed cookie over https");
});

test("security.md deviation (NIST 800-63B remembered device): Remember Me never reaches the other login option", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  await signIn(ctx, browser, user, { option: "email", remember: true });
  await browser.post("/logout");
  const remembered = ctx.browser();
  await signIn(ctx, remembered, user, { option: "email", remember: true });
  remembered.cookies.delete("session");
  const other = await pressLogin(remembered, "phone", { remember: true });
  assert.is(other.url, "/login/credentials", "Login with Phone asks for everything");
  assert.not.ok(remembered.cookies.has("session"));
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${user.id}`;
  assert.is(row!.n, 1, "no session came from the other option");
});

test("security.md deviation: Remember Me ends after 4 hours (4 h − 1 s still skips; 4 h asks for everything), and a forged token is nothing", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, user, { option: "email", remember: true });
  const token = browser.cookies.get("remember")!;
  const [id] = token.split(".");
  const [row] = await ctx.sql<{ text: string }[]>`select concat_ws(' ', id, encode(secret_hash, 'hex')) as text from remember_tokens where id = ${id!}`;
  assert.not.ok(row!.text.includes(token.split(".")[1]!), "only a hash of the secret is stored");

  const forged = ctx.browser();
  forged.cookies.set("remember", `${id}.${generateTokenPair().token.split(".")[1]}`);
  assert.is((await pressLogin(forged, "email", { remember: true })).url, "/login/credentials", "a forged secret");

  const early = ctx.browser();
  early.cookies.set("remember", token);
  ctx.clock.advance(4 * HOUR - SECOND);
  assert.is((await pressLogin(early, "email", { remember: true })).url, "/home", "still remembered at 3:59:59");
  const late = ctx.browser();
  late.cookies.set("remember", token);
  ctx.clock.advance(SECOND);
  assert.is((await pressLogin(late, "email", { remember: true })).url, "/login/credentials", "expired at 4:00:00");
});

test.run();
