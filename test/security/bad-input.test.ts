/**
 * Bad input on every form field of every POST route (security.md "Web": parsed with zod at the
 * edge; malformed, oversized or repeated fields get a 4xx and the step again with a message,
 * never a 500; bodies over 64 KiB are refused). The cases are generated from a table of routes ×
 * fields × bad values, plus whole-body cases per route (1 MB, wrong content types, no body).
 * Each route starts from a browser parked on its step (flows written straight to the database,
 * so no case waits for argon2), and a digest of what that browser's user and flow hold is taken
 * before and after every case: it must not move.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, PUBLIC_URL, uniqueEmail, type TestContext } from "../support/harness.ts";
import { uniquePhone } from "../support/users.ts";
import { useFreshAddress } from "../support/sign-in.ts";
import { hashPassword } from "../../src/auth/passwords.ts";
import { createFlow } from "../../src/flows/flow-store.ts";
import { createSession } from "../../src/auth/sessions.ts";
import { MINUTE } from "../../src/clock.ts";
import { TERMS_VERSION } from "../../src/terms.ts";
import { addFactor } from "../../src/auth/users.ts";
import { BODY_LIMIT } from "../../src/app.tsx";

let ctx: TestContext;
let passwordHash: string;
const GOOD_PASSWORD = "copper-lantern-meadow-42-quartz";

test.before(async () => {
  ctx = await createTestContext();
  passwordHash = await hashPassword(GOOD_PASSWORD);
});

interface Parked {
  cookies: Record<string, string>;
  userId: string | null;
  flowId: string | null;
}

async function insertUser(input: { status?: string; method?: "phone" | "email" | null; role?: string; terms?: string | null } = {}): Promise<{ id: string; email: string; phone: string | null }> {
  const email = uniqueEmail("bad-input");
  const phone = input.method === "phone" ? uniquePhone() : null;
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into users (email, email_normalized, name, role, status, mfa_method, phone_e164, password_hash, terms_version, terms_accepted_at)
    values (${email}, ${email}, 'Bad Input', ${input.role ?? "provider"}, ${input.status ?? "active"}, ${input.method === undefined ? "email" : input.method},
      ${phone}, ${input.status === "invited" ? null : passwordHash}, ${input.terms === undefined ? TERMS_VERSION : input.terms}, now())
    returning id`;
  if (input.status !== "invited" && input.method !== null) await addFactor(ctx.sql, ctx.clock, row!.id, { kind: input.method ?? "email", destination: phone ?? email });
  return { id: row!.id, email, phone };
}

async function parkFlow(kind: "login" | "password_reset" | "registration", state: string, user: { id: string; email: string; phone: string | null } | null, data: Record<string, unknown> = {}, loginOption: "phone" | "email" | null = null): Promise<Parked> {
  const { token, flow } = await createFlow(ctx.sql, ctx.clock, {
    kind,
    userId: user?.id ?? null,
    state,
    ttlMs: 30 * MINUTE,
    loginOption,
    data: { email: user?.email, maskedPhone: "(***) ***-0000", ...data },
  });
  return { cookies: { flow: token }, userId: user?.id ?? null, flowId: flow.id };
}

type FieldKind = "strict" | "text" | "secret";

interface Route {
  path: string;
  /** A form that the step would take (every field filled). */
  good: Record<string, string>;
  /** strict: any malformed value is a 4xx; text/secret: free text (HTML or SQL in it is just text). */
  fields: Record<string, { kind: FieldKind; optional?: boolean }>;
  park(): Promise<Parked>;
  pathFor?(parked: Parked): string;
}

const reg = (state: string, data: Record<string, unknown>) => async () => parkFlow("registration", state, await insertUser({ status: "invited", method: null, terms: null }), { mode: "registration", ...data });

const routes: Route[] = [
  { path: "/login", good: { option: "email" }, fields: { option: { kind: "strict" }, remember: { kind: "strict", optional: true } }, park: async () => ({ cookies: {}, userId: null, flowId: null }) },
  {
    path: "/login/credentials",
    good: { email: "nobody.at.all@clinic.example", password: "wrong-password-123456" },
    fields: { email: { kind: "strict" }, password: { kind: "secret" } },
    park: () => parkFlow("login", "credentials", null, {}, "email"),
  },
  { path: "/login/phone/code", good: { code: "123456" }, fields: { code: { kind: "strict" } }, park: async () => parkFlow("login", "phone_code", await insertUser({ method: "phone" }), {}, "phone") },
  { path: "/login/email/code", good: { code: "123456" }, fields: { code: { kind: "strict" } }, park: async () => parkFlow("login", "email_code", await insertUser(), {}, "email") },
  { path: "/login/terms", good: { agree: "on" }, fields: { agree: { kind: "strict" } }, park: async () => parkFlow("login", "terms", await insertUser({ terms: "old" }), {}, "email") },
  { path: "/forgot-password", good: { email: "nobody.at.all@clinic.example" }, fields: { email: { kind: "strict" } }, park: async () => ({ cookies: {}, userId: null, flowId: null }) },
  { path: "/forgot-password/code", good: { code: "123456" }, fields: { code: { kind: "strict" } }, park: async () => parkFlow("password_reset", "code", await insertUser()) },
  { path: "/forgot-password/phone/code", good: { code: "123456" }, fields: { code: { kind: "strict" } }, park: async () => parkFlow("password_reset", "phone_code", await insertUser({ method: "phone" })) },
  {
    path: "/forgot-password/new-password",
    good: { password: GOOD_PASSWORD, confirm: "a-different-password-77" },
    fields: { password: { kind: "secret" }, confirm: { kind: "secret" } },
    park: async () => parkFlow("password_reset", "new_password", await insertUser()),
  },
  { path: "/forgot-password/terms", good: { agree: "on" }, fields: { agree: { kind: "strict" } }, park: async () => parkFlow("password_reset", "terms", await insertUser({ terms: "old" })) },
  { path: "/register/method", good: { method: "email" }, fields: { method: { kind: "strict" } }, park: reg("invited", {}) },
  { path: "/register/email/verify", good: { code: "123456" }, fields: { code: { kind: "strict" } }, park: reg("method_chosen", { method: "email", emailCodeSent: true }) },
  {
    path: "/register/password",
    good: { password: GOOD_PASSWORD, confirm: "a-different-password-77" },
    fields: { password: { kind: "secret" }, confirm: { kind: "secret" } },
    park: reg("email_verified", { method: "email" }),
  },
  {
    path: "/register/phone/send",
    good: { phone: "(415) 555-0143", channel: "sms" },
    fields: { phone: { kind: "strict" }, channel: { kind: "strict" } },
    park: reg("password_set", { method: "phone", passwordHash: "x" }),
  },
  { path: "/register/phone/verify", good: { code: "123456" }, fields: { code: { kind: "strict" } }, park: reg("password_set", { method: "phone", passwordHash: "x", phone: "+14155550143", phoneChannel: "sms" }) },
  { path: "/register/terms", good: { agree: "on" }, fields: { agree: { kind: "strict" } }, park: reg("password_set", { method: "email", passwordHash: "x" }) },
  { path: "/trouble", good: { email: "nobody.at.all@clinic.example", password: "wrong-password-123456" }, fields: { email: { kind: "strict" }, password: { kind: "secret" } }, park: async () => ({ cookies: {}, userId: null, flowId: null }) },
  {
    path: "/admin/users",
    good: { email: "not an address", name: "New Person", role: "provider" },
    fields: { email: { kind: "strict" }, name: { kind: "text", optional: true }, role: { kind: "strict" } },
    park: async () => {
      const admin = await insertUser({ role: "admin" });
      const { token } = await createSession(ctx.sql, ctx.clock, admin.id, "email");
      return { cookies: { session: token }, userId: admin.id, flowId: null };
    },
  },
  {
    path: "/admin/users/:id/role",
    good: { role: "provider", from: "user" },
    fields: { role: { kind: "strict" } },
    park: async () => {
      const admin = await insertUser({ role: "admin" });
      const { token } = await createSession(ctx.sql, ctx.clock, admin.id, "email");
      const target = await insertUser();
      return { cookies: { session: token }, userId: target.id, flowId: null };
    },
    pathFor: (parked) => `/admin/users/${parked.userId}/role`,
  },
];

/** What a case may not change: the parked user and flow rows and everything hanging off them. */
async function digest(parked: Parked): Promise<string> {
  const [row] = await ctx.sql<{ d: string }[]>`
    select md5(concat_ws('|',
      (select md5(u::text) from users u where u.id = ${parked.userId}),
      (select md5(concat_ws(',', f.state, f.data::text, f.user_id, f.expires_at)) from flows f where f.id = ${parked.flowId}),
      (select count(*)::text from flows f where f.user_id = ${parked.userId}),
      (select count(*)::text from codes c where c.user_id = ${parked.userId} or c.flow_id = ${parked.flowId}),
      (select count(*)::text from sessions s where s.user_id = ${parked.userId}),
      (select count(*)::text from link_tokens l where l.user_id = ${parked.userId}),
      (select count(*)::text from outbox o where o.recipient in (select email from users where id = ${parked.userId}) or o.recipient in (select phone_e164 from users where id = ${parked.userId})),
      (select count(*)::text from users)
    )) as d`;
  return row!.d;
}

async function send(path: string, parked: Parked, body: string | Uint8Array | undefined, contentType: string | null): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { origin: PUBLIC_URL, "user-agent": "bad-input" };
  if (contentType) headers["content-type"] = contentType;
  const cookie = Object.entries(parked.cookies).map(([k, v]) => `${k}=${v}`).join("; ");
  if (cookie) headers.cookie = cookie;
  const response = await ctx.app.request(path, { method: "POST", headers, body: body as BodyInit | undefined });
  return { status: response.status, text: await response.text() };
}

const enc = (fields: Array<[string, string]>) => fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");

const HTML = `<script>alert(1)</script>"'><img src=x onerror=alert(1)>`;
const SQL = `' OR '1'='1'; DROP TABLE users; --`;

/** [name, body with the field set to it, which kinds must refuse it] */
function valueCases(route: Route, field: string): Array<[string, string | Uint8Array, FieldKind[]]> {
  const base = Object.entries(route.good).filter(([k]) => k !== field);
  const withValue = (value: string) => enc([...base, [field, value]]);
  const all: FieldKind[] = ["strict", "text", "secret"];
  const optional = route.fields[field]!.optional;
  const cases: Array<[string, string | Uint8Array, FieldKind[]]> = [
    ["empty", withValue(""), optional ? [] : all],
    ["missing", enc(base), optional ? [] : all],
    ["repeated", enc([...base, [field, route.good[field] ?? "x"], [field, route.good[field] ?? "x"]]), all],
    ["10 KB", withValue("7".repeat(10 * 1024)), all],
    ["control characters", withValue(`ab\u0000c\u0007d\u001b[2J`), all],
    ["non-UTF-8 bytes", `${enc(base)}${base.length ? "&" : ""}${field}=%FF%FE%C3%28`, all],
    ["raw non-UTF-8 bytes", Buffer.concat([Buffer.from(`${enc(base)}${base.length ? "&" : ""}${field}=`), Buffer.from([0xff, 0xfe, 0xc3, 0x28])]), all],
    ["full-width digits", withValue("１２３４５６"), ["strict"]],
    ["HTML", withValue(HTML), ["strict"]],
    ["SQL", withValue(SQL), ["strict"]],
  ];
  return cases;
}

const failures: string[] = [];

for (const route of routes) {
  test(`security.md "Web" (ASVS 2.2.1, 1.2.x): ${route.path}: every field empty, missing, repeated, 10 KB, control characters, non-UTF-8, full-width digits, HTML, SQL: a 4xx or a safe answer, never a 500, nothing stored changes`, async () => {
    for (const field of Object.keys(route.fields)) {
      const kind = route.fields[field]!.kind;
      for (const [name, body, refusedFor] of valueCases(route, field)) {
        useFreshAddress(ctx);
        const parked = await route.park();
        const path = route.pathFor?.(parked) ?? route.path;
        const before = await digest(parked);
        const answer = await send(path, parked, body, "application/x-www-form-urlencoded");
        const label = `${path} ${field}=${name}`;
        const problems: string[] = [];
        if (answer.status >= 500) problems.push(`answered ${answer.status}`);
        if (refusedFor.includes(kind) && !(answer.status >= 400 && answer.status < 500)) problems.push(`answered ${answer.status}, not a 4xx`);
        if (answer.text.includes("<script>alert(1)</script>") || answer.text.includes("<img src=x")) problems.push("reflected the HTML unescaped");
        if (refusedFor.includes(kind) && (await digest(parked)) !== before) problems.push("changed what is stored");
        if (problems.length) failures.push(`${label}: ${problems.join(", ")}`);
      }
    }
    const mine = failures.filter((f) => f.startsWith((route.pathFor ? "/admin/users/" : route.path) + " ") || f.startsWith(route.path.replace(":id", "")));
    assert.equal(mine, [], mine.join("\n"));
  });
}

test(`security.md "Web": every POST route: a body over ${BODY_LIMIT / 1024} KiB (1 MB) is 413; JSON, multipart with a file, text/plain and no body are a 4xx, never a 500, and change nothing`, async () => {
  const problems: string[] = [];
  for (const route of routes) {
    const shapes: Array<[string, string | Uint8Array | FormData | undefined, string | null, number[]]> = [
      ["1 MB", enc(Object.entries(route.good)) + "&pad=" + "a".repeat(1024 * 1024), "application/x-www-form-urlencoded", [413]],
      ["JSON", JSON.stringify(route.good), "application/json", []],
      ["text/plain", enc(Object.entries(route.good)), "text/plain", []],
      ["no content type", enc(Object.entries(route.good)), null, []],
      ["no body", undefined, "application/x-www-form-urlencoded", []],
    ];
    const multipart = new FormData();
    for (const [k, v] of Object.entries(route.good)) multipart.append(k, new Blob([v], { type: "text/plain" }), "upload.txt");
    for (const [name, body, type, exact] of shapes) {
      useFreshAddress(ctx);
      const parked = await route.park();
      const path = route.pathFor?.(parked) ?? route.path;
      const before = await digest(parked);
      const answer = await send(path, parked, body as string | Uint8Array | undefined, type);
      const ok = exact.length ? exact.includes(answer.status) : answer.status >= 400 && answer.status < 500;
      if (!ok) problems.push(`${path} ${name}: ${answer.status}`);
      if ((await digest(parked)) !== before) problems.push(`${path} ${name}: changed what is stored`);
    }
    useFreshAddress(ctx);
    const parked = await route.park();
    const path = route.pathFor?.(parked) ?? route.path;
    const before = await digest(parked);
    const response = await ctx.app.request(path, {
      method: "POST",
      headers: { origin: PUBLIC_URL, cookie: Object.entries(parked.cookies).map(([k, v]) => `${k}=${v}`).join("; ") },
      body: multipart,
    });
    if (!(response.status >= 400 && response.status < 500)) problems.push(`${path} multipart with files: ${response.status}`);
    if ((await digest(parked)) !== before) problems.push(`${path} multipart with files: changed what is stored`);
  }
  assert.equal(problems, [], problems.join("\n"));
});

test(`security.md "Web": every GET route with NUL, non-UTF-8, 10 KB and HTML in every query parameter the app reads: never a 500, never reflected unescaped`, async () => {
  const admin = await insertUser({ role: "admin" });
  const { token } = await createSession(ctx.sql, ctx.clock, admin.id, "email");
  const parked: Parked = { cookies: { session: token }, userId: admin.id, flowId: null };
  const names = ["q", "state", "after", "before", "done", "user", "event", "from", "to", "expired", "signed-out", "reason", "sent", "poll"];
  const values = ["%00", "%FF%FE", "7".repeat(10 * 1024), encodeURIComponent(HTML), encodeURIComponent(SQL), "%EF%BC%91%EF%BC%92"];
  const gets = [...new Set(ctx.app.routes.filter((r) => r.method === "GET").map((r) => r.path))]
    .map((path) => path.replace(":id", admin.id).replace(":token", "a".repeat(32)).replace(":file", "app.css"));
  const problems: string[] = [];
  for (const path of gets) {
    for (const value of values) {
      const query = names.map((name) => `${name}=${value}`).join("&");
      const cookie = Object.entries(parked.cookies).map(([k, v]) => `${k}=${v}`).join("; ");
      const response = await ctx.app.request(`${path}?${query}`, { headers: { cookie } });
      const text = await response.text();
      if (response.status >= 500) problems.push(`GET ${path} with ${value.slice(0, 12)}: ${response.status}`);
      if (text.includes("<script>alert(1)</script>")) problems.push(`GET ${path}: HTML reflected unescaped`);
    }
  }
  assert.equal(problems, [], problems.join("\n"));
});

test.run();
