/**
 * Forward-auth decisions with Authelia's contract, through app.request(), with the headers
 * nginx (X-Original-URL) and Traefik/Caddy (X-Forwarded-*) send. Deny by default.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, PUBLIC_URL, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { createSession } from "../../src/auth/sessions.ts";
import { createForwardAuthApplication, isRegisteredApplicationUrl } from "../../src/apps/registry.ts";
import { createOrganization } from "../../src/orgs/organizations.ts";
import { putMembership } from "../../src/orgs/memberships.ts";

const test = suite("apps-forward-auth");
let ctx: TestContext;
const host = `fa-${process.pid}-${Date.now().toString(36)}.example.org`;
const APP = `https://${host}/`;
const REPORTS = `https://${host}/reports`;

test.before(async () => {
  ctx = await createTestContext();
  const everyone = await createForwardAuthApplication(ctx.sql, { name: "EHR", url: APP });
  const admins = await createForwardAuthApplication(ctx.sql, { name: "Reports", url: REPORTS, group: "admin" });
  assert.ok(everyone.ok && admins.ok);
});

async function cookieFor(role: "provider" | "admin" = "provider") {
  const person = await createActiveUser(ctx.sql, { method: "phone", role, name: "Sam Okafor" });
  const { token } = await createSession(ctx.sql, ctx.clock, person.id, "phone");
  return { person, cookie: `session=${token}` };
}

const authRequest = (url: string | null, cookie?: string) =>
  ctx.app.request("/api/authz/auth-request", { headers: { ...(url === null ? {} : { "x-original-url": url }), ...(cookie ? { cookie } : {}) } });

const forwardAuth = (url: URL, method: string, cookie?: string) =>
  ctx.app.request("/api/authz/forward-auth", {
    headers: {
      "x-forwarded-proto": url.protocol.replace(":", ""),
      "x-forwarded-host": url.host,
      "x-forwarded-uri": url.pathname + url.search,
      "x-forwarded-method": method,
      ...(cookie ? { cookie } : {}),
    },
  });

test("auth-request, signed in and allowed: 200 with Remote-User, -Email, -Name, -Groups", async () => {
  const { person, cookie } = await cookieFor();
  const res = await authRequest(`${APP}charts/42?tab=1`, cookie);
  assert.is(res.status, 200);
  assert.is(res.headers.get("remote-user"), person.email);
  assert.is(res.headers.get("remote-email"), person.email);
  assert.is(res.headers.get("remote-name"), "Sam Okafor");
  assert.is(res.headers.get("remote-groups"), "provider");
  assert.is(res.headers.get("cache-control"), "no-store");
});

test("Remote-Groups: the role, then the person's organizations with a provider's group (product.md §5), and --group admits an organization's members", async () => {
  const { person, cookie } = await cookieFor();
  const tag = Date.now().toString(36);
  const group = await createOrganization(ctx.sql, ctx.clock, { name: `Valley Health ${tag}` });
  assert.ok(group.ok);
  const clinic = await createOrganization(ctx.sql, ctx.clock, { name: `Valley Clinic ${tag}`, parentId: group.ok ? group.organization.id : null });
  assert.ok(clinic.ok);
  if (!group.ok || !clinic.ok) return;
  await putMembership(ctx.sql, ctx.clock, { organizationId: clinic.organization.id, userId: person.id, role: "provider_staff" });
  const res = await authRequest(`${APP}charts/1`, cookie);
  assert.is(res.headers.get("remote-groups"), `provider,Valley Clinic ${tag},Valley Health ${tag}`);
  const gated = await createForwardAuthApplication(ctx.sql, { name: "Clinic only", url: `https://${host}/clinic-${tag}/`, group: `Valley Health ${tag}` });
  assert.ok(gated.ok);
  assert.is((await authRequest(`https://${host}/clinic-${tag}/x`, cookie)).status, 200, "a member of the group's provider is in the group");
  const outsider = await cookieFor();
  assert.is((await authRequest(`https://${host}/clinic-${tag}/x`, outsider.cookie)).status, 403);
});

test("auth-request, not signed in: 401 with Location to the sign-in carrying rd (percent-encoded original URL)", async () => {
  const original = `${APP}charts/42?tab=1&x=%20y`;
  const res = await authRequest(original);
  assert.is(res.status, 401);
  const location = new URL(res.headers.get("location")!);
  assert.is(location.origin + location.pathname, `${PUBLIC_URL}/login`);
  assert.is(location.searchParams.get("rd"), original);
  assert.ok(res.headers.get("location")!.includes(encodeURIComponent(original)));
});

test("forward-auth, not signed in: 302 for GET and HEAD, 401 for POST, Location the same", async () => {
  const url = new URL(`${APP}inbox`);
  for (const method of ["GET", "HEAD"]) {
    const res = await forwardAuth(url, method);
    assert.is(res.status, 302, method);
    assert.is(new URL(res.headers.get("location")!).searchParams.get("rd"), url.toString());
  }
  const post = await forwardAuth(url, "POST");
  assert.is(post.status, 401);
  assert.ok(post.headers.get("location"));
});

test("forward-auth, signed in: 200 with the Remote-* headers", async () => {
  const { person, cookie } = await cookieFor("admin");
  const res = await forwardAuth(new URL(`${REPORTS}/monthly`), "GET", cookie);
  assert.is(res.status, 200);
  assert.is(res.headers.get("remote-user"), person.email);
  assert.is(res.headers.get("remote-groups"), "admin");
});

test("the application's group: someone outside it gets 403, someone in it 200; the longest prefix decides", async () => {
  const provider = await cookieFor("provider");
  const admin = await cookieFor("admin");
  assert.is((await authRequest(`${REPORTS}/q3`, provider.cookie)).status, 403);
  assert.is((await authRequest(REPORTS, provider.cookie)).status, 403);
  assert.is((await authRequest(`${REPORTS}/q3`, admin.cookie)).status, 200);
  // /reportsX is not under /reports: it belongs to the everyone-app at /
  assert.is((await authRequest(`${APP}reportsX`, provider.cookie)).status, 200);
});

test("deny by default: a URL under no registered application is 403, signed in or not; a missing URL is 400", async () => {
  const { cookie } = await cookieFor("admin");
  assert.is((await authRequest("https://elsewhere.example.net/", cookie)).status, 403);
  assert.is((await authRequest("https://elsewhere.example.net/")).status, 403);
  assert.is((await authRequest(`http://${host}/`, cookie)).status, 403, "another scheme is another origin");
  assert.is((await authRequest(`https://${host}:8443/`, cookie)).status, 403, "another port is another origin");
  assert.is((await authRequest(null, cookie)).status, 400);
  assert.is((await authRequest("not a url", cookie)).status, 400);
});

test("a forged X-Original-URL gets a decision only: the sign-in link is built from PUBLIC_URL, never from the headers", async () => {
  const res = await ctx.app.request("/api/authz/auth-request", {
    headers: { "x-original-url": `${APP}x`, host: "evil.example.net", "x-forwarded-host": "evil.example.net" },
  });
  assert.is(res.status, 401);
  assert.ok(res.headers.get("location")!.startsWith(`${PUBLIC_URL}/login?rd=`));
});

test("a disabled person's session gives no access", async () => {
  const { person, cookie } = await cookieFor();
  await ctx.sql`update users set status = 'disabled' where id = ${person.id}`;
  assert.is((await authRequest(`${APP}x`, cookie)).status, 401);
});

test("isRegisteredApplicationUrl: under a registered application's URL only (for rd after sign-in)", async () => {
  assert.ok(await isRegisteredApplicationUrl(ctx.sql, `${APP}charts?x=1`));
  assert.ok(await isRegisteredApplicationUrl(ctx.sql, `${REPORTS}/a`));
  assert.not.ok(await isRegisteredApplicationUrl(ctx.sql, `https://evil.example.net/${host}/`));
  assert.not.ok(await isRegisteredApplicationUrl(ctx.sql, `https://${host}.evil.example.net/`));
  assert.not.ok(await isRegisteredApplicationUrl(ctx.sql, `https://user:pass@${host}/`));
  assert.not.ok(await isRegisteredApplicationUrl(ctx.sql, `javascript:alert(1)`));
  assert.not.ok(await isRegisteredApplicationUrl(ctx.sql, `//${host}/`));
});

test("rd to a registered application: a signed-in person goes by the same-origin continue page, whose refresh and link lead there", async () => {
  const { cookie } = await cookieFor();
  const target = `${APP}chart?patient=7`;
  const login = await ctx.app.request(`/login?rd=${encodeURIComponent(target)}`, { headers: { cookie } });
  assert.is(login.status, 303);
  const location = login.headers.get("location")!;
  assert.is(location, `/login/continue?rd=${encodeURIComponent(target)}`);
  const page = await ctx.app.request(location, { headers: { cookie } });
  assert.is(page.status, 200);
  const html = await page.text();
  assert.ok(html.includes(`content="0;url=${target}"`), "meta refresh to the application");
  assert.ok(html.includes(`href="${target}"`), "a link for everyone");
});

test("rd to an address under no registered application, or a look-alike host, is dropped: home, never an open redirect", async () => {
  const { cookie } = await cookieFor();
  for (const rd of ["https://evil.example/", `https://${host}.evil.example/`, `https://user:pw@${host}/`, "javascript:alert(1)"]) {
    const login = await ctx.app.request(`/login?rd=${encodeURIComponent(rd)}`, { headers: { cookie } });
    assert.is(login.headers.get("location"), "/home", rd);
  }
  const forged = await ctx.app.request(`/login/continue?rd=${encodeURIComponent("https://evil.example/")}`, { headers: { cookie } });
  assert.is(forged.status, 303);
  assert.is(forged.headers.get("location"), "/home");
});

test.run();
