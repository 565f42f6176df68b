/**
 * The users list with 10,000 users: keyset pages of a fixed size in a stable order (newest
 * first) with no gap or repeat, prefix search on name and email in any case, each registration
 * state as a filter, and query plans that read users through an index (no sequential scan).
 * Set PRINT_PLANS=1 to print the plans.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, type Page, type TestContext } from "../support/harness.ts";
import { signedInAdmin } from "../support/admin.ts";
import { explainListUsers, listUsers, DEFAULT_PAGE_SIZE, type AccountState, type UserQuery } from "../../src/flows/admin.ts";
import { SECOND, MINUTE } from "../../src/clock.ts";
import type { Browser } from "../support/harness.ts";

const COUNT = 10_000;
const FIRST_NAMES = ["Ann", "Bob", "Carla", "Dev", "Eve", "Farid", "Gita", "Hugo"];
// Unique per run, so the assertions see only this file's users in the shared database.
const TAG = `t${Date.now().toString(36)}${process.pid.toString(36)}`;
/** As the seed stores it: the list shows the address as typed, and searches it in any case. */
const emailOf = (g: number) => `Bulk-${TAG}-${g}@Seed.example`;
const nameOf = (g: number) => `Seed${TAG} ${FIRST_NAMES[g % 8]} ${g}`;

/** The state the seed gives user number g (see the INSERT below). */
function stateOf(g: number): AccountState {
  if (g % 100 === 1) return "disabled";
  if (g % 100 === 2) return "locked";
  if (g % 20 === 0) return "email_verified";
  if (g % 10 === 0) return "invited";
  return "active";
}

let ctx: TestContext;
let browser: Browser;
const all = Array.from({ length: COUNT }, (_, i) => i + 1);

test.before(async () => {
  ctx = await createTestContext();
  ({ browser } = await signedInAdmin(ctx));
  const now = ctx.clock.now();
  // User g was created g seconds ago, so "newest first" is g = 1, 2, 3, …
  await ctx.sql`
    insert into users (email, email_normalized, name, role, status, mfa_method, phone_e164, password_hash,
      locked_until, last_sign_in_at, created_at, updated_at)
    select 'Bulk-' || ${TAG} || '-' || g || '@Seed.example', 'bulk-' || ${TAG} || '-' || g || '@seed.example',
      'Seed' || ${TAG} || ' ' || (${FIRST_NAMES}::text[])[1 + g % 8] || ' ' || g,
      'provider',
      case when g % 100 = 1 then 'disabled' when g % 10 = 0 then 'invited' else 'active' end,
      case when g % 10 = 0 then null when g % 3 = 0 then 'email' else 'phone' end,
      case when g % 10 = 0 or g % 3 = 0 then null else '+1202555' || lpad((g % 10000)::text, 4, '0') end,
      case when g % 10 = 0 then null else 'not-a-real-hash' end,
      case when g % 100 = 2 then ${now}::timestamptz + interval '10 minutes' end,
      case when g % 10 = 0 then null else ${now}::timestamptz - g * interval '1 hour' end,
      ${now}::timestamptz - g * interval '1 second',
      ${now}::timestamptz - g * interval '1 second'
    from generate_series(1, ${COUNT}) g`;
  // Every 20th user verified their email in a registration that is still open.
  await ctx.sql`
    insert into flows (id, secret_hash, kind, user_id, state, data, created_at, updated_at, expires_at)
    select 'seed' || md5(u.id::text), '\\x00'::bytea, 'registration', u.id, 'email_verified', '{"mode":"registration","method":"email"}',
      ${now}, ${now}, ${now}::timestamptz + interval '1 day'
    from users u
    where u.email_normalized like ${`bulk-${TAG}-%`} and u.status = 'invited'
      and split_part(split_part(u.email_normalized, '-', 3), '@', 1)::int % 20 = 0`;
  await ctx.sql`analyze users`;
  await ctx.sql`analyze flows`;
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** The seed numbers of a list page's users. */
function numbers(users: { email: string }[]): number[] {
  return users.map((user) => Number(/-(\d+)@/.exec(user.email)![1]));
}

/** Walks every page of a query forward and returns the seed numbers in order. */
async function walk(query: UserQuery): Promise<number[]> {
  const seen: number[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await listUsers(ctx.sql, ctx.clock, { ...query, after });
    seen.push(...numbers(page.users));
    if (!page.next) return seen;
    after = page.next;
  }
  throw new Error("paging did not end");
}

test("paging: pages of 50, newest first, every one of 10,000 users exactly once; Previous goes back", async () => {
  const seed = `bulk-${TAG}-`;
  const first = await listUsers(ctx.sql, ctx.clock, { q: seed });
  assert.equal(first.users.length, DEFAULT_PAGE_SIZE);
  assert.equal(numbers(first.users), all.slice(0, 50));
  assert.equal(first.previous, null);
  const second = await listUsers(ctx.sql, ctx.clock, { q: seed, after: first.next! });
  assert.equal(numbers(second.users), all.slice(50, 100));
  const third = await listUsers(ctx.sql, ctx.clock, { q: seed, after: second.next! });
  const back = await listUsers(ctx.sql, ctx.clock, { q: seed, before: third.previous! });
  assert.equal(numbers(back.users), all.slice(50, 100));
  const backToFirst = await listUsers(ctx.sql, ctx.clock, { q: seed, before: back.previous! });
  assert.equal(numbers(backToFirst.users), all.slice(0, 50));
  assert.equal(backToFirst.previous, null, "the first page has no previous page");

  assert.equal(await walk({ q: seed, pageSize: 200 }), all);
});

test("paging without a search is newest first over everyone, and a new user does not shift the next page", async () => {
  const first = await listUsers(ctx.sql, ctx.clock, {});
  assert.equal(first.users.length, DEFAULT_PAGE_SIZE);
  const times = first.users.map((user) => user.createdAt.getTime());
  assert.equal(times, [...times].sort((a, b) => b - a));
  const next = await listUsers(ctx.sql, ctx.clock, { after: first.next! });
  ctx.clock.advance(SECOND);
  await ctx.sql`insert into users (email, email_normalized, created_at) values (${`late-${TAG}@seed.example`}, ${`late-${TAG}@seed.example`}, ${ctx.clock.now()})`;
  const again = await listUsers(ctx.sql, ctx.clock, { after: first.next! });
  assert.equal(again.users.map((user) => user.id), next.users.map((user) => user.id));
});

test("search: an email prefix in any case finds exactly the matching users, newest first", async () => {
  const expected = all.filter((g) => String(g).startsWith("12"));
  assert.equal(expected.length, 111);
  assert.equal(await walk({ q: `BULK-${TAG.toUpperCase()}-12` }), expected);
  const page = await listUsers(ctx.sql, ctx.clock, { q: `bulk-${TAG}-12` });
  assert.equal(numbers(page.users), expected.slice(0, 50));
  assert.equal((await listUsers(ctx.sql, ctx.clock, { q: `bulk-${TAG}-1234@` })).users.length, 1);
  assert.equal((await listUsers(ctx.sql, ctx.clock, { q: `bulk-${TAG}-99999` })).users.length, 0);
});

test("search: a name prefix finds the matching names; LIKE wildcards typed in are plain characters", async () => {
  const expected = all.filter((g) => FIRST_NAMES[g % 8] === "Gita" && String(g).startsWith("7"));
  assert.equal(await walk({ q: `seed${TAG} gita 7` }), expected);
  const gitas = await listUsers(ctx.sql, ctx.clock, { q: `Seed${TAG} Gita` });
  assert.equal(gitas.users.length, 50);
  assert.ok(gitas.users.every((user) => user.name.startsWith(`Seed${TAG} Gita `)));
  assert.equal((await listUsers(ctx.sql, ctx.clock, { q: `seed${TAG}%` })).users.length, 0, "% is not a wildcard");
  assert.equal((await listUsers(ctx.sql, ctx.clock, { q: `bulk_${TAG}` })).users.length, 0, "_ is not a wildcard");
});

test("state filter: each registration state lists exactly its users", async () => {
  const seed = `bulk-${TAG}-`;
  for (const state of ["disabled", "locked", "invited", "email_verified", "active"] as AccountState[]) {
    const expected = all.filter((g) => stateOf(g) === state);
    const page = await listUsers(ctx.sql, ctx.clock, { q: seed, state });
    assert.equal(numbers(page.users), expected.slice(0, 50), state);
    assert.ok(page.users.every((user) => user.state === state), state);
    if (state !== "active") assert.equal(await walk({ q: seed, state, pageSize: 200 }), expected, state);
  }
  // Without a search the filter still holds (other files' users may be among them).
  const disabled = await listUsers(ctx.sql, ctx.clock, { state: "disabled" });
  assert.equal(disabled.users.length, 50);
  assert.ok(disabled.users.every((user) => user.state === "disabled"));
});

test("a lock that ran out reads Active again, without anyone unlocking", async () => {
  const page = await listUsers(ctx.sql, ctx.clock, { q: `bulk-${TAG}-2@` });
  assert.equal(page.users[0]!.state, "locked");
  ctx.clock.advance(11 * MINUTE);
  const later = await listUsers(ctx.sql, ctx.clock, { q: `bulk-${TAG}-2@` });
  assert.equal(later.users[0]!.state, "active");
  ctx.clock.advance(-11 * MINUTE);
});

test("query plans read users through an index, never a sequential scan", async () => {
  const cases: Array<[string, UserQuery]> = [
    ["first page", {}],
    ["a later page", { after: (await listUsers(ctx.sql, ctx.clock, {})).next! }],
    ["email prefix search", { q: `bulk-${TAG}-12` }],
    ["name prefix search", { q: `seed${TAG} gita 7` }],
    ["state: disabled", { state: "disabled" }],
    ["state: locked", { state: "locked" }],
    ["state: email verified", { state: "email_verified" }],
  ];
  for (const [name, query] of cases) {
    const plan = await explainListUsers(ctx.sql, ctx.clock, query);
    if (process.env.PRINT_PLANS) console.log(`\n-- ${name}\n${plan}`);
    assert.not.match(plan, /Seq Scan on users/, `${name}:\n${plan}`);
  }
});

/** The seed numbers of the rows an admin page shows. */
function rowNumbers(page: Page): number[] {
  return texts(page, "tbody tr td:first-of-type").map((email) => Number(/-(\d+)@/.exec(email)?.[1] ?? NaN));
}

test("the page: search form, table of 50, Next page and Previous page links that keep the search and filter", async () => {
  const page = await browser.get(`/admin?q=${encodeURIComponent(`bulk-${TAG}-`)}&state=disabled`);
  assert.equal(page.status, 200);
  const form = page.document.querySelector("form[role=search]")!;
  assert.equal(form.getAttribute("method"), "get");
  assert.equal(form.querySelector("label[for=field-q]")?.textContent, "Search");
  assert.equal(form.querySelector("label[for=field-state]")?.textContent, "State");
  assert.equal((form.querySelector("#field-state option[selected]") as HTMLOptionElement | null)?.getAttribute("value"), "disabled");
  assert.equal(texts(page, "form[role=search] button"), ["Search"]);
  assert.ok(page.document.querySelector("table caption"));
  assert.equal(page.document.querySelectorAll("thead th[scope=col]").length, 8);
  assert.equal(rowNumbers(page), all.filter((g) => g % 100 === 1).slice(0, 50));
  assert.equal(page.document.querySelectorAll("tbody th[scope=row]").length, 50);

  const next = page.document.querySelector("a[rel=next]")!;
  assert.equal(next.textContent, "Next page");
  const page2 = await browser.get(next.getAttribute("href")!);
  assert.equal(rowNumbers(page2), all.filter((g) => g % 100 === 1).slice(50, 100));
  const prev = page2.document.querySelector("a[rel=prev]")!;
  assert.equal(prev.textContent, "Previous page");
  const page1 = await browser.get(prev.getAttribute("href")!);
  assert.equal(rowNumbers(page1), rowNumbers(page));

  // Each row: masked phone only, its state, and buttons whose names carry the email.
  const active = await browser.get(`/admin?q=${encodeURIComponent(`bulk-${TAG}-4@`)}`);
  const cells = texts(active, "tbody tr td");
  assert.equal(cells.slice(0, 6), [emailOf(4), "Provider", "Phone", "(•••) •••-0004", "Active", cells[5]!]);
  assert.not.ok(active.text.includes("+12025550004"), "the full phone number is never on the page");
  assert.equal(texts(active, "tbody th")[0], nameOf(4));
  for (const name of ["Reset MFA", "Disable", "Make administrator"]) {
    assert.ok(texts(active, "tbody button").includes(`${name} ${emailOf(4)}`), name);
  }
});

test("a malformed query is dropped, never an error", async () => {
  for (const query of ["state=nonsense", "after=not-a-uuid", "before=%00", `q=${"x".repeat(500)}`, "after=00000000-0000-4000-8000-000000000000"]) {
    const page = await browser.get(`/admin?${query}`);
    assert.equal(page.status, 200, query);
  }
});

test.run();
