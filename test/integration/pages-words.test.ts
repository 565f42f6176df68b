/**
 * Issue 17's words and pages: PORTAL_SUPPORT_CONTACT where help is offered, the registration
 * error page offering Reset only when it can do something, the SMS naming the portal, the
 * sign-in page's order (what is on the left comes first), and the no-JavaScript words.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, type TestContext } from "../support/harness.ts";
import { smsCode } from "../../src/delivery/messages.ts";

let support: TestContext;
let plain: TestContext;

test.before(async () => {
  support = await createTestContext({ env: { PORTAL_SUPPORT_CONTACT: "help@clinic.example", PORTAL_NAME: "Clinic Portal" } });
  plain = await createTestContext();
});

test("PORTAL_SUPPORT_CONTACT is shown, as a link, on every page that offers help", async () => {
  const browser = support.browser();
  for (const path of ["/help", "/help/mfa", "/trouble", "/register/error?reason=completed"]) {
    const page = await browser.get(path);
    const link = page.document.querySelector('main a[href="mailto:help@clinic.example"]');
    assert.ok(link, `${path}: a link to the support contact`);
    assert.is(link!.textContent, "help@clinic.example");
  }
});

test("without PORTAL_SUPPORT_CONTACT the pages say whom to contact, with no empty link", async () => {
  const page = await plain.browser().get("/help/mfa");
  assert.match(page.text, "Contact your portal administrator.");
  assert.is(page.document.querySelectorAll('main a[href^="mailto:"]').length, 0);
});

test("the registration error page offers Reset only where it does something", async () => {
  const browser = plain.browser();
  for (const reason of ["completed", "unavailable", "invalid"]) {
    const page = await browser.get(`/register/error?reason=${reason}`);
    assert.not.ok(texts(page, "button").includes("Reset"), `${reason}: no Reset`);
    assert.match(page.text, "ask your portal administrator", `${reason}: the way that helps`);
  }
  // No flow in this browser: Reset would email no one.
  const expired = await browser.get("/register/error?reason=expired");
  assert.not.ok(texts(expired, "button").includes("Reset"), "expired, no flow in the browser: no Reset");
});

test("the SMS names the portal first", () => {
  assert.match(smsCode("123456", "10 minutes", "Clinic Portal").text, /^Clinic Portal: Your verification code is 123456\./);
});

test("the sign-in page: the left column (who signs in here) before the Login buttons in the page, as on screen", async () => {
  const page = await plain.browser().get("/login");
  const html = page.text;
  assert.ok(html.indexOf('id="about-heading"') < html.indexOf('id="provider-heading"'), "about before the Customer/Provider form");
});

test("without JavaScript the Call Me words do not promise that the page moves on by itself", async () => {
  const { CallCheck } = await import("../../templates/phone-factor.tsx");
  const html = String(CallCheck({ action: "/x", notYet: null }));
  assert.match(html, "select Continue");
  assert.match(html, /<span class="js-only">[^<]*moves on by itself/, "the promise is only shown with JavaScript");
});

test.run();
