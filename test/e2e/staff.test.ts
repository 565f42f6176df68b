/**
 * Staff sign-in in Chromium, JavaScript on and off: Staff Login, and home realm discovery from
 * the Email Address field of Login with Email. This suite runs its own app (STAFF_OIDC_* pointing
 * at a local issuer started here) next to the shared one, whose sign-in page stays without
 * staff sign-in. The issuer (oauth2-mock-server) signs the person in at once and sends the
 * browser back; everything on the portal's side is the real thing.
 */
import { randomBytes } from "node:crypto";
import { suite } from "uvu";
import type { Browser } from "playwright-core";
import { startApp, type RunningApp } from "./support/app.ts";
import { AxeReplay, launchBrowser } from "./support/browser.ts";
import { SHOTS_DIR, type E2E } from "./support/e2e.ts";
import { Journey, type Mode } from "./support/journey.ts";
import { signedInBanner } from "./support/steps.ts";
import { startStaffIssuer, type StaffIssuer } from "../support/staff-issuer.ts";

const s = suite("e2e: staff sign-in");
const ADMIN_GROUP = "portal-admins";

let issuer: StaffIssuer;
let app: RunningApp;
let browser: Browser;
let env: E2E;

s.before(async () => {
  issuer = await startStaffIssuer();
  [app, browser] = await Promise.all([startApp(issuer.env({ STAFF_OIDC_ADMIN_GROUP: ADMIN_GROUP })), launchBrowser()]);
  env = { app, browser, axe: new AxeReplay(browser), shotsDir: SHOTS_DIR, stats: { pages: 0, violations: 0, screenshots: 0, paths: 0 } };
});

s.after(async () => {
  await env?.axe.close().catch(() => {});
  await browser?.close().catch(() => {});
  await app?.stop().catch((error) => console.error("stopping the staff app:", error));
  await issuer?.stop().catch(() => {});
  if (env) console.log(`\n  e2e staff: ${env.stats.paths} path runs, axe on ${env.stats.pages} pages: ${env.stats.violations} violations`);
});

/** The staff member the issuer signs in next: a new sub and an address of STAFF_EMAIL_DOMAINS. */
function nextStaffMember(mode: Mode, claims: Record<string, unknown> = {}) {
  const tag = `${mode}-${randomBytes(4).toString("hex")}`;
  const person = { sub: `e2e-staff-${tag}`, email: `e2e.staff.${tag}@kepro.com`, name: `Staff ${tag}`, amr: ["pwd", "mfa"], ...claims };
  issuer.claims = person;
  return person;
}

function path(title: string, run: (j: Journey, mode: Mode) => Promise<void>) {
  for (const mode of ["js", "nojs"] as Mode[]) {
    s(`${title} (${mode === "js" ? "JavaScript on" : "JavaScript off"})`, async () => {
      const journey = await Journey.open(env, `staff ${title}`, mode);
      try {
        await run(journey, mode);
        journey.assertClean();
      } catch (error) {
        throw await journey.explain(error);
      } finally {
        env.stats.paths++;
        await journey.close();
      }
    });
  }
}

path("Staff Login → the issuer → Home, as an administrator from the groups claim", async (j, mode) => {
  const person = nextStaffMember(mode, { groups: [ADMIN_GROUP] });
  await j.goto("/login", "sign-in page with the Staff section", j.heading("Staff", 2));
  await j.see(j.heading("Customer/Provider", 2), 'the heading "Customer/Provider"');
  await j.press("Staff Login", "signed in: home", j.heading("Home"));
  await signedInBanner(j);
  // The account was made just in time, as staff, with the administrator role from the token.
  await j.follow("Administration", "administration", j.heading("Administration"));
  await j.fill("Search", person.email);
  await j.press("Search", "the staff account in the list", j.page.getByRole("cell", { name: person.email, exact: true }));
  await j.see(j.page.getByRole("cell", { name: `Staff sign-in (${new URL(issuer.url).host})` }), "the account listed as staff, with its issuer");
  await j.see(j.page.getByRole("cell", { name: "Administrator", exact: true }), "the administrator role");
});

path("home realm discovery: a staff address in Login with Email's Email Address goes to the issuer, no password asked", async (j, mode) => {
  const person = nextStaffMember(mode);
  await j.goto("/login", "sign-in page", j.button("Login with Email"));
  await j.press("Login with Email", "Login with Email: credentials", j.field("Email Address"));
  await j.fill("Email Address", person.email);
  await j.press("Sign in", "signed in: home", j.heading("Home"));
  await signedInBanner(j);
  const hinted = issuer.authorizeRequests.at(-1)?.searchParams.get("login_hint");
  if (hinted !== person.email) throw new Error(`the issuer got login_hint "${hinted}", not ${person.email}`);
  if ((await j.link("Administration").count()) !== 0) j.problem("a staff member without the admin group sees Administration");
});

path("a token without MFA is refused with a message and Staff Login again", async (j, mode) => {
  nextStaffMember(mode, { amr: ["pwd"] });
  await j.goto("/login", "sign-in page", j.button("Staff Login"));
  await j.press("Staff Login", "refused: no MFA", j.heading("Staff sign-in"));
  await j.see(j.page.getByRole("alert").filter({ hasText: "multi-factor authentication" }), "the message about MFA");
  await j.see(j.button("Staff Login"), 'the button "Staff Login"');
});

s.run();
