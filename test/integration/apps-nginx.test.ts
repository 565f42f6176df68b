/**
 * A real nginx (Debian's package, unprivileged on a free port) running the README's
 * auth_request snippet in front of a small upstream app, asking the portal served on another
 * port. Signed out → the portal's sign-in with rd; signed in → the app sees Remote-User;
 * outside the application's group → 403.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import { serveTestApp, type ServedApp } from "../support/apps.ts";
import { freePort, startNginx, type RunningNginx } from "../support/nginx.ts";
import { createActiveUser } from "../support/users.ts";
import { createSession } from "../../src/auth/sessions.ts";
import { createForwardAuthApplication } from "../../src/apps/registry.ts";

const test = suite("apps-nginx");
let served: ServedApp;
let nginx: RunningNginx;
let upstream: Server;

/** The nginx block from the README, between its marker and the end of the code fence. */
function readmeSnippet(): string {
  const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
  const start = readme.indexOf("<!-- nginx-snippet -->");
  const fence = readme.indexOf("```nginx\n", start) + "```nginx\n".length;
  return readme.slice(fence, readme.indexOf("```", fence));
}

// uvu reports a failing hook without its error; print it.
test.before(() =>
  setUp().catch((error) => {
    console.error(error);
    throw error;
  }),
);

async function setUp() {
  served = await serveTestApp();
  const upstreamPort = await freePort();
  upstream = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ path: req.url, user: req.headers["remote-user"] ?? null, groups: req.headers["remote-groups"] ?? null, name: req.headers["remote-name"] ?? null }));
  });
  await new Promise<void>((done) => upstream.listen(upstreamPort, "127.0.0.1", () => done()));
  const portal = new URL(served.url).host;
  const snippet = readmeSnippet();
  assert.ok(snippet.includes("127.0.0.1:3000") && snippet.includes("127.0.0.1:8080"));
  nginx = await startNginx(() => snippet.replaceAll("127.0.0.1:3000", portal).replaceAll("127.0.0.1:8080", `127.0.0.1:${upstreamPort}`));
  const app = await createForwardAuthApplication(served.sql, { name: "Clinic app", url: `${nginx.url}/` });
  const reports = await createForwardAuthApplication(served.sql, { name: "Reports", url: `${nginx.url}/reports/`, group: "admin" });
  assert.ok(app.ok && reports.ok);
}

test.after(async () => {
  await nginx?.stop();
  await new Promise((done) => upstream?.close(done));
  await served?.close();
});

async function sessionCookie(role: "provider" | "admin") {
  const person = await createActiveUser(served.sql, { method: "phone", role });
  const { token } = await createSession(served.sql, served.clock, person.id, "phone");
  return { person, cookie: `session=${token}` };
}

test("signed out: nginx sends the browser to the portal's sign-in with rd = the original URL", async () => {
  const res = await fetch(`${nginx.url}/charts/7?tab=notes`, { redirect: "manual" });
  assert.is(res.status, 302, nginx.errors());
  const location = new URL(res.headers.get("location")!);
  assert.is(location.origin + location.pathname, `${served.url}/login`);
  assert.is(location.searchParams.get("rd"), `${nginx.url}/charts/7?tab=notes`);
});

test("signed in: the app answers and sees Remote-User, Remote-Name and Remote-Groups", async () => {
  const { person, cookie } = await sessionCookie("provider");
  const res = await fetch(`${nginx.url}/charts/7`, { headers: { cookie }, redirect: "manual" });
  assert.is(res.status, 200, nginx.errors());
  const seen = (await res.json()) as { path: string; user: string; groups: string; name: string };
  assert.equal(seen, { path: "/charts/7", user: person.email, groups: "provider", name: "Test Provider" });
});

test("outside the application's group: 403 from nginx, the app never asked; inside it: 200", async () => {
  const provider = await sessionCookie("provider");
  const denied = await fetch(`${nginx.url}/reports/q3`, { headers: { cookie: provider.cookie }, redirect: "manual" });
  assert.is(denied.status, 403);
  const admin = await sessionCookie("admin");
  const allowed = await fetch(`${nginx.url}/reports/q3`, { headers: { cookie: admin.cookie }, redirect: "manual" });
  assert.is(allowed.status, 200);
  assert.is(((await allowed.json()) as { user: string }).user, admin.person.email);
});

test("a Remote-User header sent by the client is replaced, never passed through", async () => {
  const { person, cookie } = await sessionCookie("provider");
  const res = await fetch(`${nginx.url}/x`, { headers: { cookie, "remote-user": "someone.else@example.org" } });
  assert.is(((await res.json()) as { user: string }).user, person.email);
  const anonymous = await fetch(`${nginx.url}/x`, { headers: { "remote-user": "someone.else@example.org" }, redirect: "manual" });
  assert.is(anonymous.status, 302);
});

test.run();
