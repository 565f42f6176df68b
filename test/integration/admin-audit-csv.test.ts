/**
 * Download audit log and AUDIT_RETENTION: the CSV's columns, its date range (From and To are
 * whole UTC days), its scope (an organization administrator gets only their organizations'
 * users' events), formula cells defused, and the body streamed from a database cursor in
 * batches (3,000 events arrive in several chunks, the generator yields at most 500 rows at a
 * time). Housekeeping deletes events older than AUDIT_RETENTION and keeps the rest.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse } from "csv-parse/sync";
import { createTestContext, testConfig, type Browser, type TestContext } from "../support/harness.ts";
import { browserSignedInAs, signedInAdmin } from "../support/admin.ts";
import { makeMember, makeOrganization } from "../support/orgs.ts";
import { AUDIT_EXPORT_BATCH, streamAdminAudit } from "../../src/flows/admin.ts";
import { purgeRetained } from "../../src/db/retention.ts";
import { createManualClock, DAY } from "../../src/clock.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import type { Organization } from "../../src/orgs/organizations.ts";

let ctx: TestContext;
let portal: Browser;
let clinic: Organization;
let other: Organization;
let clinicAdmin: Browser;
let inside: { id: string; email: string };
let outside: { id: string; email: string };
// Events far in the past (1971), so no other file's events fall in these days.
const DAY1 = new Date("1971-03-01T10:00:00Z");

async function event(at: Date, name: string, userId: string | null, detail: Record<string, unknown> = {}, userAgent = "test-agent") {
  await ctx.sql`insert into audit_events (at, event, user_id, actor_id, ip, user_agent, detail)
    values (${at}, ${name}, ${userId}, null, '10.9.9.9', ${userAgent}, ${ctx.sql.json(detail as never)})`;
}

async function download(browser: Browser, query: string) {
  const page = await browser.get(`/admin/audit.csv?${query}`);
  return { page, rows: page.status === 200 ? (parse(page.text, { columns: true }) as Record<string, string>[]) : [] };
}

test.before(async () => {
  ctx = await createTestContext();
  ({ browser: portal } = await signedInAdmin(ctx));
  clinic = await makeOrganization(ctx.sql, ctx.clock, "Audit Clinic");
  other = await makeOrganization(ctx.sql, ctx.clock, "Audit Other Clinic");
  const admin = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "audit-admin");
  clinicAdmin = await browserSignedInAs(ctx, admin.id);
  inside = await makeMember(ctx.sql, ctx.clock, clinic, "provider_staff", "active", "audit-inside");
  outside = await makeMember(ctx.sql, ctx.clock, other, "provider_staff", "active", "audit-outside");
  await event(DAY1, "signin.success", inside.id, { option: "email" });
  await event(new Date(DAY1.getTime() + 3600_000), "signin.failure", outside.id, { reason: "password" }, "=HYPERLINK(\"http://evil\")");
  await event(new Date(DAY1.getTime() + DAY), "code.sent", inside.id);
  await event(new Date(DAY1.getTime() - DAY), "signin.success", inside.id);
});

test.after(async () => {
  await ctx.outbox.stop();
});

test("the portal Administrator's download: columns, the chosen days only (To included), newest first, a CSV file", async () => {
  const { page, rows } = await download(portal, "from=1971-03-01&to=1971-03-02");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/csv; charset=utf-8/);
  assert.equal(page.headers.get("content-disposition"), 'attachment; filename="audit-log-1971-03-01-to-1971-03-02.csv"');
  assert.equal(page.text.split("\r\n")[0], "time,event,user_email,user_id,by_email,by_id,address,browser,details");
  assert.equal(
    rows.map((row) => [row.time, row.event, row.user_email]),
    [
      ["1971-03-02T10:00:00.000Z", "code.sent", inside.email],
      ["1971-03-01T11:00:00.000Z", "signin.failure", outside.email],
      ["1971-03-01T10:00:00.000Z", "signin.success", inside.email],
    ],
  );
  assert.equal(JSON.parse(rows[2]!.details!), { option: "email" });
  assert.equal(rows[1]!.browser, "'=HYPERLINK(\"http://evil\")", "a formula cell starts with an apostrophe");
});

test("an organization administrator's download holds only their organization's users' events", async () => {
  const { page, rows } = await download(clinicAdmin, "from=1971-03-01&to=1971-03-02");
  assert.equal(page.status, 200);
  assert.equal(rows.map((row) => row.user_email), [inside.email, inside.email]);
  const asked = await download(clinicAdmin, `from=1971-03-01&to=1971-03-02&user=${encodeURIComponent(outside.email)}`);
  assert.equal(asked.page.status, 400, "another organization's user is as unknown as nobody");
  assert.match(asked.page.text, /No user has this email address/);
});

test("a bad range is the audit page with the message, not a file", async () => {
  const { page } = await download(portal, "from=1971-03-05&to=1971-03-01");
  assert.equal(page.status, 400);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.match(page.text, /The last day cannot be before the first day/);
});

test("streamed from a cursor: 3,000 events come in batches of at most 500 and in several chunks of the body", async () => {
  const day = new Date("1972-06-01T00:00:00Z");
  await ctx.sql`insert into audit_events (at, event, user_id, ip, user_agent, detail)
    select ${day}::timestamptz + g * interval '1 second', 'bulk.event', ${inside.id}, '10.0.0.1', 'agent', '{}'
    from generate_series(1, 3000) g`;
  const sizes: number[] = [];
  for await (const batch of streamAdminAudit(ctx.sql, { kind: "portal" }, { from: day, to: new Date(day.getTime() + DAY) })) sizes.push(batch.length);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 3000);
  assert.ok(sizes.every((size) => size <= AUDIT_EXPORT_BATCH));
  assert.equal(sizes.length, 3000 / AUDIT_EXPORT_BATCH);

  const response = await ctx.app.request("/admin/audit.csv?from=1972-06-01&to=1972-06-01", { headers: { cookie: [...portal.cookies].map(([k, v]) => `${k}=${v}`).join("; ") } });
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  let chunks = 0;
  let text = "";
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks += 1;
    text += decoder.decode(value, { stream: true });
  }
  assert.ok(chunks >= 6, `${chunks} chunks`);
  assert.equal(text.trimEnd().split("\r\n").length, 3001);
});

test("a download stopped half way closes its cursor, and the next one works", async () => {
  const cookie = [...portal.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const response = await ctx.app.request("/admin/audit.csv?from=1972-06-01&to=1972-06-01", { headers: { cookie } });
  const reader = response.body!.getReader();
  await reader.read();
  await reader.cancel();
  const again = await download(portal, "from=1972-06-01&to=1972-06-01");
  assert.equal(again.rows.length, 3000);
});

test("AUDIT_RETENTION: housekeeping deletes the events older than it, keeps the newer; 2190d by default; 0 is refused", async () => {
  assert.equal(testConfig().ttl.auditRetention, 2190 * DAY);
  assert.throws(() => loadConfig({ NODE_ENV: "test", AUDIT_RETENTION: "0" }), (error: unknown) => error instanceof ConfigError && /AUDIT_RETENTION/.test((error as Error).message));
  assert.throws(() => loadConfig({ NODE_ENV: "test", AUDIT_RETENTION: "six years" }), (error: unknown) => error instanceof ConfigError && /AUDIT_RETENTION/.test((error as Error).message));
  // A clock in 1977: with 2190 days (six years) of retention the 1971 events are older, the 1972 ones not.
  const clock = createManualClock(new Date("1977-03-15T00:00:00Z"));
  const counts = await purgeRetained(ctx.sql, clock, { auditRetention: 2190 * DAY }, { batchSize: 2 });
  assert.ok(counts.audit_events >= 4, `${counts.audit_events} deleted`);
  const [left] = (await ctx.sql`select
      count(*) filter (where at < '1972-01-01')::int as old,
      count(*) filter (where event = 'bulk.event')::int as kept
    from audit_events`) as unknown as [{ old: number; kept: number }];
  assert.equal(left, { old: 0, kept: 3000 });
});

test.run();
