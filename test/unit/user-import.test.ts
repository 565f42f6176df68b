/**
 * Import users' CSV parsing (src/orgs/user-import.ts parseUserCsv): a UTF-8 byte order mark,
 * CRLF and LF, quoted fields holding commas, quotes and line breaks, blank lines, columns in any
 * order, each row's own error with its line number, a few thousand rows, and the files refused
 * as a whole (no header, not UTF-8, unbalanced quotes, too many rows).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAX_IMPORT_ROWS, parseRole, parseUserCsv } from "../../src/orgs/user-import.ts";

const ok = (text: string | Uint8Array) => {
  const parsed = parseUserCsv(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.rows;
};

test("a BOM, CRLF, quoted fields with a comma, a doubled quote and a line break, and blank lines", () => {
  const rows = ok('\uFEFFemail,name,role\r\n"a@x.example","Smith, Ann ""Annie""",provider-staff\r\n\r\nb@x.example,"Bo\r\nBrown",provider-admin\r\n\r\n,,\r\nc@x.example,Cy,group-admin\r\n');
  assert.equal(
    rows.map((row) => [row.line, row.email, row.name, row.role, row.error]),
    [
      [2, "a@x.example", 'Smith, Ann "Annie"', "provider_staff", null],
      [4, "b@x.example", "Bo Brown", "provider_admin", null],
      [8, "c@x.example", "Cy", "group_admin", null],
    ],
  );
});

test("bytes with a BOM and LF line ends; columns in another order and any case in the header", () => {
  const bytes = new TextEncoder().encode("\uFEFFRole,Email,Name\nProvider Staff,d@x.example,Dee\n");
  assert.equal(ok(bytes).map((row) => [row.email, row.name, row.role]), [["d@x.example", "Dee", "provider_staff"]]);
});

test("each bad row has its own error and line: address, role, repeated address (naming the first line), field count, name", () => {
  const rows = ok(
    [
      "email,name,role",
      "good@x.example,Good,provider-staff",
      "nope,Bad,provider-staff",
      "r@x.example,R,owner",
      "GOOD@x.example,Again,provider-staff",
      "short@x.example,Short",
      `long@x.example,${"n".repeat(201)},provider-staff`,
    ].join("\n"),
  );
  assert.equal(
    rows.map((row) => [row.line, row.error]),
    [
      [2, null],
      [3, "Enter a valid email address, like name@example.com."],
      [4, "Use one of the roles provider-staff, provider-admin or group-admin."],
      [5, "The same address is on line 2."],
      [6, "This row has 2 fields; a row has 3: email, name, role."],
      [7, "Enter a name of at most 200 characters, without special characters."],
    ],
  );
});

test("files refused as a whole: empty, no header, not UTF-8, an unclosed quote, more rows than allowed", () => {
  const refused = (text: string | Uint8Array) => {
    const parsed = parseUserCsv(text);
    assert.not.ok(parsed.ok);
    return (parsed as { error: string }).error;
  };
  assert.match(refused(""), /empty/);
  assert.match(refused("\r\n\r\n"), /empty/);
  assert.match(refused("a@x.example,A,provider-staff\n"), /first line must name the columns/);
  assert.match(refused(new Uint8Array([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x0a, 0xe9, 0x0a])), /not text in UTF-8/);
  assert.match(refused('email,name,role\n"a@x.example,A,provider-staff\n'), /could not be read as CSV/);
  const many = "email,name,role\n" + Array.from({ length: MAX_IMPORT_ROWS + 1 }, (_, i) => `p${i}@x.example,P ${i},provider-staff`).join("\n");
  assert.match(refused(many), /more than 5000 rows/);
});

test("a few thousand rows (5,000, the most) parse in well under a second", () => {
  const text = "email,name,role\r\n" + Array.from({ length: MAX_IMPORT_ROWS }, (_, i) => `p${i}@x.example,"Person ${i}, MD",provider-staff`).join("\r\n");
  const started = performance.now();
  const rows = ok(text);
  const ms = performance.now() - started;
  assert.equal(rows.length, 5000);
  assert.equal(rows[4999]!.line, 5001);
  assert.ok(rows.every((row) => row.error === null));
  assert.ok(ms < 1000, `${ms} ms`);
});

test("role words: the command line's and the page's, any case", () => {
  assert.equal(["provider-staff", "Provider Staff", "PROVIDER_ADMIN", "Provider Group Administrator", "group-admin", "boss"].map(parseRole), [
    "provider_staff",
    "provider_staff",
    "provider_admin",
    "group_admin",
    "group_admin",
    null,
  ]);
});

test.run();
