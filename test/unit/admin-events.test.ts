import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describeEvent, EVENT_LABELS, shortBrowser } from "../../templates/admin/events.ts";

test("a short browser name from a whole user-agent string", () => {
  assert.is(shortBrowser("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"), "Chrome 120 on Windows");
  assert.is(
    shortBrowser("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"),
    "Safari 17 on iOS",
  );
  assert.is(shortBrowser("npm run invite"), "npm run invite", "a short unknown one as it is");
  assert.is(shortBrowser("x".repeat(100)).length, 40, "a long unknown one cut");
  assert.is(shortBrowser(null), "");
});

test("every audit event the code writes has plain words", () => {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) for (const m of readFileSync(path, "utf8").matchAll(/audit\([^"]*"([a-z_]+\.[a-z_]+)"/g)) names.add(m[1]!);
    }
  };
  walk("src");
  assert.ok(names.size > 20, `found the events (${names.size})`);
  for (const name of names) assert.ok(EVENT_LABELS[name], `plain words for ${name}`);
  assert.is(describeEvent("org.member_added"), "org member added");
});

test.run();
