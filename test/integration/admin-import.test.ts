/**
 * Import users through the pages, without JavaScript: a Provider Administrator uploads a CSV of
 * 500 people, 30 of them bad in six different ways; the preview lists every line with its result
 * and names each bad line's error; Send invitations puts exactly 470 invitations in the outbox
 * (one email each, with the membership); pressing it again sends nothing more; Cancel sends
 * nothing at all; another administrator cannot open the import; a file over the limit is a
 * clear 413, not a 500.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, type Browser, type TestContext } from "../support/harness.ts";
import { browserSignedInAs } from "../support/admin.ts";
import { makeMember, makeOrganization } from "../support/orgs.ts";
import type { Organization } from "../../src/orgs/organizations.ts";
import { MAX_IMPORT_BYTES } from "../../src/orgs/user-import.ts";

let ctx: TestContext;
let clinic: Organization;
let browser: Browser;
const TAG = `imp${Date.now().toString(36)}`;

test.before(async () => {
  ctx = await createTestContext();
  clinic = await makeOrganization(ctx.sql, ctx.clock, "Import Clinic");
  const admin = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "importer");
  browser = await browserSignedInAs(ctx, admin.id);
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** A multipart body as a browser sends the upload form (the test browser encodes it as UTF-8). */
function multipart(fields: Record<string, string>, file: { name: string; content: string }): { body: string; contentType: string } {
  const boundary = `----form${Math.random().toString(36).slice(2)}`;
  let body = "";
  for (const [name, value] of Object.entries(fields)) body += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  body += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: text/csv\r\n\r\n${file.content}\r\n--${boundary}--\r\n`;
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

async function upload(csv: string, who = browser) {
  const { body, contentType } = multipart({ organization: clinic.id }, { name: "people.csv", content: csv });
  return who.post("/admin/import", body, { contentType });
}

async function outboxTo(pattern: string): Promise<number> {
  const [row] = (await ctx.sql`select count(*)::int as n from outbox where recipient like ${pattern}`) as unknown as [{ n: number }];
  return row.n;
}

/** 500 people; the line numbers of the 30 bad ones (header = line 1). */
async function fileOf500(): Promise<{ csv: string; bad: Map<number, RegExp> }> {
  const existing = [];
  for (let k = 0; k < 5; k++) existing.push(await makeMember(ctx.sql, ctx.clock, null, "provider_staff", "active", `${TAG}-existing`));
  const lines = ["\uFEFFemail,name,role"];
  const bad = new Map<number, RegExp>();
  for (let i = 1; i <= 500; i++) {
    const line = i + 1;
    let row = `${TAG}-${i}@clinic.example,"Person ${i}, RN",provider-staff`;
    if (i % 100 === 7) [row] = [`not-an-address-${i},Bad ${i},provider-staff`, bad.set(line, /valid email address/)];
    else if (i % 100 === 13) [row] = [`${TAG}-${i}@clinic.example,Boss ${i},chief`, bad.set(line, /Use one of the roles/)];
    else if (i % 100 === 21) [row] = [`${TAG}-${i - 1}@clinic.example,Twice ${i},provider-staff`, bad.set(line, new RegExp(`same address is on line ${line - 1}`))];
    else if (i % 100 === 33) [row] = [`${TAG}-${i}@kepro.com,Staff ${i},provider-staff`, bad.set(line, /belongs to staff/)];
    else if (i % 100 === 45) [row] = [`${existing[Math.floor(i / 100)]!.email},Exists ${i},provider-staff`, bad.set(line, /already has an account/)];
    else if (i % 100 === 58) [row] = [`${TAG}-${i}@clinic.example,Group ${i},group-admin`, bad.set(line, /cannot give this role/)];
    lines.push(row);
    // Blank lines between rows are skipped, but they count in the line numbers of what follows.
  }
  return { csv: lines.join("\r\n") + "\r\n\r\n", bad };
}

test("a Provider Administrator imports 500 people: the preview shows every bad line and why; Send invitations puts 500 minus the bad ones in the outbox", async () => {
  const { csv, bad } = await fileOf500();
  assert.equal(bad.size, 30);
  const preview = await upload(csv);
  assert.equal(preview.status, 200, preview.text.slice(0, 500));
  assert.match(preview.url, /^\/admin\/import\/[0-9a-f-]{36}$/);
  assert.equal(preview.redirects, [303]);
  assert.match(texts(preview, "main p")[0] ?? "", /^470 of 500 people will be invited to Import Clinic/);
  const rows = [...preview.document.querySelectorAll("tbody tr")];
  assert.equal(rows.length, 500, "every line is shown");
  const refused = rows.filter((row) => (row.textContent ?? "").includes("Not sent:"));
  assert.equal(refused.length, 30);
  for (const row of refused) {
    const line = Number(row.querySelector("th")!.textContent);
    assert.ok(bad.has(line), `line ${line} is one of the bad ones`);
    assert.match(row.textContent ?? "", bad.get(line)!, `line ${line}`);
  }
  assert.equal(await outboxTo(`${TAG}-%`), 0, "nothing is sent by the preview");

  const before = await outboxTo("%");
  const started = performance.now();
  const sent = await browser.post(`/admin/import/${preview.url.split("/").pop()}/send`, {});
  const ms = Math.round(performance.now() - started);
  console.log(`Send invitations: 470 invitations in ${ms} ms`);
  assert.equal(sent.status, 200);
  assert.equal(sent.url, "/admin/import?sent=470&refused=30");
  assert.equal(texts(sent, "#admin-status")[0], "Sent 470 invitations. 30 lines were not sent.");
  assert.equal((await outboxTo("%")) - before, 470, "500 minus the bad rows are in the outbox");
  assert.equal(await outboxTo(`${TAG}-%`), 470);
  const [{ n }] = (await ctx.sql`
    select count(*)::int as n from memberships m join users u on u.id = m.user_id
    where m.organization_id = ${clinic.id} and m.role = 'provider_staff' and u.email_normalized like ${TAG.toLowerCase() + "-%"} and u.status = 'invited'`) as unknown as [{ n: number }];
  assert.equal(n, 470, "each invited person is Provider Staff of the clinic");

  const again = await browser.post(`/admin/import/${preview.url.split("/").pop()}/send`, {});
  assert.equal(again.url, "/admin/import?gone=1");
  assert.equal((await outboxTo("%")) - before, 470, "a second press sends nothing");
});

test("Cancel sends nothing; another administrator's import is a 404 to them", async () => {
  const csv = `email,name,role\n${TAG}-c1@clinic.example,C One,provider-staff\n${TAG}-c2@clinic.example,C Two,provider-admin\n`;
  const preview = await upload(csv);
  assert.equal(preview.status, 200);
  const id = preview.url.split("/").pop()!;
  const other = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "other-importer");
  const otherBrowser = await browserSignedInAs(ctx, other.id);
  assert.equal((await otherBrowser.get(`/admin/import/${id}`)).status, 404);
  assert.equal((await otherBrowser.post(`/admin/import/${id}/send`, {})).url, "/admin/import?gone=1");
  const before = await outboxTo("%");
  const cancelled = await browser.post(`/admin/import/${id}/cancel`, {});
  assert.equal(cancelled.url, "/admin/import?cancelled=1");
  assert.equal(texts(cancelled, "#admin-status")[0], "The import was cancelled. No invitations were sent.");
  assert.equal(await outboxTo("%"), before);
  assert.equal(await outboxTo(`${TAG}-c%`), 0);
  assert.equal((await browser.get(`/admin/import/${id}`)).status, 404, "a cancelled import is gone");
});

test("a file that is not CSV text, has no header, or is too large: a 4xx with the reason at the file field", async () => {
  // Bytes that are not UTF-8 (a Latin-1 "é"), sent as they are: the test browser only posts text.
  const boundary = "----bytes";
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="organization"\r\n\r\n${clinic.id}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n`;
  const bytes = Buffer.concat([Buffer.from(head + "email,name,role\r\nr@e.example,Ren"), Buffer.from([0xe9]), Buffer.from(`,provider-staff\r\n\r\n--${boundary}--\r\n`)]);
  const response = await ctx.app.request("/admin/import", {
    method: "POST",
    body: bytes,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, origin: "http://portal.test", cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
  });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /not text in UTF-8/);
  const noHeader = await upload("a@b.example,A,provider-staff\n");
  assert.equal(noHeader.status, 400);
  assert.match(texts(noHeader, "#field-file-error")[0] ?? "", /first line must name the columns/);
  const huge = await upload("email,name,role\n" + "x".repeat(MAX_IMPORT_BYTES + 1));
  assert.equal(huge.status, 413);
  const tooBig = await upload("email,name,role\n" + `${"y".repeat(200)}@e.example,N,provider-staff\n`.repeat(Math.ceil(MAX_IMPORT_BYTES / 220) + 10).slice(0, MAX_IMPORT_BYTES + 8000));
  assert.ok([400, 413].includes(tooBig.status), String(tooBig.status));
});

test("the import form: an organization administrator of one clinic gets a labelled file field and Check file", async () => {
  const page = await browser.get("/admin/import");
  assert.equal(page.status, 200);
  const form = page.document.querySelector('form[action="/admin/import"]')!;
  assert.equal(form.getAttribute("enctype"), "multipart/form-data");
  assert.equal(texts(page, 'label[for="field-file"]'), ["CSV file"]);
  assert.equal(texts(page, 'form[action="/admin/import"] button'), ["Check file"]);
});

test.run();
