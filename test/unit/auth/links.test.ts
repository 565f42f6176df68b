import { suite } from "uvu";
import * as assert from "uvu/assert";
import { consumeLinkToken, createLinkToken, revokeLinkTokens } from "../../../src/auth/links.ts";
import { hashSecret } from "../../../src/auth/tokens.ts";
import { DAY, MINUTE, SECOND } from "../../../src/clock.ts";
import { clockAt, createUser, database } from "./fixtures.ts";

const test = suite("auth/links");
const TTL = 2 * DAY;

async function setUp() {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql, "invited");
  return { sql, clock, user };
}

test("createLinkToken: at least 128 random bits, only SHA-256 at rest (ASVS 6.4.1)", async () => {
  const { sql, clock, user } = await setUp();
  const token = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  assert.match(token, /^[a-z2-7]{32}$/);
  assert.ok(token.length * 5 >= 128, "base32: 5 bits a character");
  const tokens = new Set(await Promise.all(Array.from({ length: 20 }, () => createLinkToken(sql, clock, { userId: user.id, purpose: "resume", ttlMs: TTL }))));
  assert.is(tokens.size, 20);
  const rows = await sql<{ whole: string; tokenHash: Uint8Array }[]>`
    select row_to_json(l)::text as whole, token_hash as "tokenHash" from link_tokens l where user_id = ${user.id} and purpose = 'registration'`;
  assert.is(rows.length, 1);
  assert.not.ok(rows[0]!.whole.includes(token));
  assert.equal(new Uint8Array(rows[0]!.tokenHash), hashSecret(token));
});

test("consumeLinkToken: ok once with user and purpose, then used (with the user, for the Reset page)", async () => {
  const { sql, clock, user } = await setUp();
  const token = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  assert.equal(await consumeLinkToken(sql, clock, token, ["registration"]), { ok: true, userId: user.id, purpose: "registration" });
  assert.equal(await consumeLinkToken(sql, clock, token, ["registration"]), { ok: false, reason: "used", userId: user.id });
});

test("consumeLinkToken: valid at ttl−1s, expired at ttl+1s (with the user)", async () => {
  const { sql, clock, user } = await setUp();
  const early = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  const late = await createLinkToken(sql, clock, { userId: user.id, purpose: "resume", ttlMs: TTL });
  clock.advance(TTL - SECOND);
  assert.equal(await consumeLinkToken(sql, clock, early, ["registration"]), { ok: true, userId: user.id, purpose: "registration" });
  clock.advance(2 * SECOND);
  assert.equal(await consumeLinkToken(sql, clock, late, ["resume"]), { ok: false, reason: "expired", userId: user.id });
});

test("createLinkToken: a new token kills the older unused ones of its purpose, not of others", async () => {
  const { sql, clock, user } = await setUp();
  const first = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  const resume = await createLinkToken(sql, clock, { userId: user.id, purpose: "resume", ttlMs: 20 * MINUTE });
  const second = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  assert.equal(await consumeLinkToken(sql, clock, first, ["registration"]), { ok: false, reason: "used", userId: user.id });
  assert.equal(await consumeLinkToken(sql, clock, second, ["registration"]), { ok: true, userId: user.id, purpose: "registration" });
  assert.equal(await consumeLinkToken(sql, clock, resume, ["resume"]), { ok: true, userId: user.id, purpose: "resume" });
});

test("createLinkToken: `revoke` kills the listed purposes too; other users' tokens live on", async () => {
  const { sql, clock, user } = await setUp();
  const someoneElse = await createUser(sql, "invited");
  const registration = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  const resume = await createLinkToken(sql, clock, { userId: user.id, purpose: "resume", ttlMs: TTL });
  const theirs = await createLinkToken(sql, clock, { userId: someoneElse.id, purpose: "registration", ttlMs: TTL });
  const reset = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration_reset", ttlMs: TTL, revoke: ["registration", "resume"] });
  assert.equal(await consumeLinkToken(sql, clock, registration, ["registration"]), { ok: false, reason: "used", userId: user.id });
  assert.equal(await consumeLinkToken(sql, clock, resume, ["resume"]), { ok: false, reason: "used", userId: user.id });
  assert.equal(await consumeLinkToken(sql, clock, theirs, ["registration"]), { ok: true, userId: someoneElse.id, purpose: "registration" });
  assert.equal(await consumeLinkToken(sql, clock, reset, ["registration_reset"]), { ok: true, userId: user.id, purpose: "registration_reset" });
});

test("revokeLinkTokens: kills the listed purposes only", async () => {
  const { sql, clock, user } = await setUp();
  const mfa = await createLinkToken(sql, clock, { userId: user.id, purpose: "mfa_reset", ttlMs: TTL });
  const resume = await createLinkToken(sql, clock, { userId: user.id, purpose: "resume", ttlMs: TTL });
  await revokeLinkTokens(sql, user.id, ["mfa_reset"]);
  await revokeLinkTokens(sql, user.id, []);
  assert.equal(await consumeLinkToken(sql, clock, mfa, ["mfa_reset"]), { ok: false, reason: "used", userId: user.id });
  assert.equal(await consumeLinkToken(sql, clock, resume, ["resume"]), { ok: true, userId: user.id, purpose: "resume" });
});

test("consumeLinkToken: a token of another purpose is invalid, names no user, and is not spent", async () => {
  const { sql, clock, user } = await setUp();
  const token = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  assert.equal(await consumeLinkToken(sql, clock, token, ["resume", "mfa_reset"]), { ok: false, reason: "invalid" });
  assert.equal(await consumeLinkToken(sql, clock, token, ["registration", "registration_reset"]), { ok: true, userId: user.id, purpose: "registration" });
});

test("consumeLinkToken: unknown, malformed and empty tokens are invalid", async () => {
  const { sql, clock, user } = await setUp();
  const token = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  const flipped = (token[0] === "a" ? "b" : "a") + token.slice(1);
  for (const bad of [flipped, token.toUpperCase(), token + "a", "", "x".repeat(5000), "' or 1=1 --"]) {
    assert.equal(await consumeLinkToken(sql, clock, bad, ["registration"]), { ok: false, reason: "invalid" }, bad.slice(0, 40));
  }
  assert.equal(await consumeLinkToken(sql, clock, token, []), { ok: false, reason: "invalid" });
});

test("consumeLinkToken: 20 concurrent uses → exactly one ok", async () => {
  const { sql, clock, user } = await setUp();
  const token = await createLinkToken(sql, clock, { userId: user.id, purpose: "registration", ttlMs: TTL });
  const results = await Promise.all(Array.from({ length: 20 }, () => consumeLinkToken(sql, clock, token, ["registration"])));
  assert.is(results.filter((r) => r.ok).length, 1);
  assert.is(results.filter((r) => !r.ok && r.reason === "used").length, 19);
});

test.run();
