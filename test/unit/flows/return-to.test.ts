/**
 * src/flows/return-to.ts: where a finished sign-in may go instead of /home. Never an open
 * redirect (security.md "Forward-auth and rd"): only a path of the portal or a URL on
 * PUBLIC_URL's origin, whatever trick the text tries.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { checkReturnTo } from "../../../src/flows/return-to.ts";

const test = suite("flows/return-to");
const deps = { config: { publicUrl: "https://portal.example" } };

test("a path of the portal is kept, with its query and fragment (rebuilt from the parsed URL)", async () => {
  assert.is(await checkReturnTo(deps, "/home"), "/home");
  assert.is(await checkReturnTo(deps, "/apps/chart?patient=7&tab=notes#top"), "/apps/chart?patient=7&tab=notes#top");
  assert.is(await checkReturnTo(deps, "/a/../b"), "/b", "dot segments resolved");
  assert.is(await checkReturnTo(deps, "/%2F%2Fevil.example"), "/%2F%2Fevil.example", "an encoded slash stays a path");
});

test("a URL on PUBLIC_URL's origin comes back as its path; any other origin is refused", async () => {
  assert.is(await checkReturnTo(deps, "https://portal.example/apps/x?y=1"), "/apps/x?y=1");
  assert.is(await checkReturnTo(deps, "HTTPS://PORTAL.EXAMPLE/apps"), "/apps", "scheme and host are case-insensitive");
  for (const raw of [
    "https://evil.example/",
    "http://portal.example/", // another scheme is another origin
    "https://portal.example:8443/",
    "https://portal.example.evil.example/",
    "https://evil.example/https://portal.example/",
    "https://user:pass@portal.example/",
    "https://portal.example@evil.example/",
  ]) {
    assert.is(await checkReturnTo(deps, raw), null, raw);
  }
});

test("the open-redirect tricks are refused: //host, backslashes, whitespace and controls, other schemes, relative paths", async () => {
  for (const raw of [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\\/evil.example",
    "\\/evil.example",
    "/\t/evil.example", // the URL parser drops the tab: "//evil.example"
    "/\n/evil.example",
    " /home",
    "/home ",
    "/ho\u0000me",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:x",
    "mailto:a@b.example",
    "evil.example",
    "home",
    "./home",
    "../home",
    "https:evil.example",
    "https:/evil.example",
    "",
  ]) {
    assert.is(await checkReturnTo(deps, raw), null, JSON.stringify(raw));
  }
  assert.is(await checkReturnTo(deps, undefined), null);
  assert.is(await checkReturnTo(deps, `/${"a".repeat(3000)}`), null, "too long");
});

test.run();
