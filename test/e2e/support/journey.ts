/**
 * One run of one path in one mode (JavaScript on or off): its own browser context, its own
 * people, and the checks made at every step: axe, reflow at 320 CSS px, screenshots at 1280×800
 * and 375×812, and (for keyboard paths) visible focus and focus placement after each swap.
 * Everything on the page is found by role and accessible name.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { BrowserContext, CDPSession, Locator, Page } from "playwright-core";
import type { E2E } from "./e2e.ts";
import { invite } from "./app.ts";
import { Inbox } from "./outbox.ts";
import { runAxe, type AxeViolation } from "./browser.ts";

export type Mode = "js" | "nojs";
type Role = Parameters<Page["getByRole"]>[0];

const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 375, height: 812 };
const REFLOW = { width: 320, height: 800 };

/** Runs in the page before its own scripts: counts htmx requests and swaps, names the document. */
const INIT_SCRIPT = `(() => {
  const state = { doc: Math.random().toString(36).slice(2), done: 0, settles: 0, leaving: false };
  Object.defineProperty(window, "__e2e", { value: state });
  // HX-Redirect (and friends) make htmx load another page after the request finished.
  document.addEventListener("htmx:after:request", (event) => {
    const headers = event.detail && event.detail.ctx && event.detail.ctx.response && event.detail.ctx.response.headers;
    if (headers && (headers.get("hx-redirect") || headers.get("hx-refresh") === "true" || headers.get("hx-location"))) state.leaving = true;
  });
  document.addEventListener("htmx:finally:request", () => { state.done++; });
  document.addEventListener("htmx:after:settle", () => { state.settles++; });
})();`;

let addressCounter = 0;
const PHONE_AREAS = ["202", "212", "312", "415", "617", "646", "713", "206", "303", "404", "503", "602"];
let phoneCounter = 0;

export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
}

export interface FocusInfo {
  tag: string;
  name: string;
  inMain: boolean;
  heading: boolean;
  invalid: boolean;
  firstInvalid: boolean;
  summary: boolean;
  visible: boolean;
  style: string;
}

const FOCUS_PROBE = `(() => {
  const a = document.activeElement;
  if (!a || a === document.body || a === document.documentElement) return { tag: "body", name: "", inMain: false, heading: false, invalid: false, firstInvalid: false, summary: false, visible: false, style: "" };
  const s = getComputedStyle(a);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  const shadow = !!s.boxShadow && s.boxShadow !== "none";
  const labelled = a.labels && a.labels.length ? a.labels[0].textContent : "";
  const name = (a.getAttribute("aria-label") || labelled || a.textContent || a.getAttribute("name") || "").replace(/\\s+/g, " ").trim().slice(0, 60);
  const main = document.getElementById("main");
  return {
    tag: a.tagName.toLowerCase(), name,
    inMain: !!main && main.contains(a),
    heading: /^H[1-6]$/.test(a.tagName),
    invalid: a.getAttribute("aria-invalid") === "true",
    firstInvalid: !!main && main.querySelector('[aria-invalid="true"]') === a,
    // The GOV.UK error summary takes focus after a failed submit; its links lead to the fields.
    summary: a.hasAttribute("data-error-summary"),
    visible: outline || shadow,
    style: "outline: " + s.outlineStyle + " " + s.outlineWidth + "; box-shadow: " + s.boxShadow,
  };
})()`;

export class Journey {
  readonly problems: string[] = [];
  private step = 0;
  private lastLabel = "start";
  private cdp: CDPSession | null = null;
  private readonly appErrorsAtStart: number;
  /** Set by keyboard paths: every swap or load must leave focus on the heading or the first error. */
  keyboard = false;
  /** Set while a path prepares something it does not test (a user registered before a sign-in path): no checks, no screenshots. */
  private quiet = false;

  private constructor(
    readonly env: E2E,
    readonly title: string,
    readonly mode: Mode,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly dir: string,
  ) {
    this.appErrorsAtStart = env.app.errors().length;
  }

  static async open(env: E2E, title: string, mode: Mode): Promise<Journey> {
    addressCounter++;
    const context = await env.browser.newContext({
      javaScriptEnabled: mode === "js",
      viewport: WIDE,
      baseURL: env.app.url,
      // Each run is its own client address (the app trusts one proxy hop in the e2e run).
      extraHTTPHeaders: { "X-Forwarded-For": `10.${(addressCounter >> 8) & 255}.${addressCounter & 255}.${1 + (process.pid % 250)}` },
    });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(30_000);
    if (mode === "js") await context.addInitScript(INIT_SCRIPT);
    const page = await context.newPage();
    const dir = join(env.shotsDir, slug(title), mode);
    mkdirSync(dir, { recursive: true });
    return new Journey(env, title, mode, context, page, dir);
  }

  get js(): boolean {
    return this.mode === "js";
  }

  get url(): string {
    return this.page.url();
  }

  /* ───────────── people ───────────── */

  /** A fresh address for this run of this path. */
  email(tag = "user"): string {
    return `${slug(this.title).slice(0, 24)}-${tag}-${this.mode}-${randomBytes(4).toString("hex")}@example.org`;
  }

  /** A fresh, valid 10-digit US direct line (the fictional 555-01xx range, accepted by the app). */
  phone(): string {
    // A counter, not a random pick: two runs going at once must never share a number (each would read the other's code).
    const i = phoneCounter++;
    const area = PHONE_AREAS[Math.floor(i / 100) % PHONE_AREAS.length]!;
    return `${area}55501${String(i % 100).padStart(2, "0")}`;
  }

  password(): string {
    return `Lantern-${randomBytes(4).toString("hex")}-Harbor!`;
  }

  inbox(address: string): Inbox {
    return new Inbox(this.env.app, address);
  }

  /** `npm run invite` for a new person: their address, inbox and registration link. */
  async invite(options: { tag?: string; name?: string; admin?: boolean } = {}) {
    const email = this.email(options.tag);
    const inbox = this.inbox(email);
    this.trace("invite…");
    const link = await invite(this.env.app, { email, name: options.name ?? "Pat Example", admin: options.admin });
    this.trace("invited");
    await inbox.expect("email"); // the invitation email, so later expects see only newer mail
    this.trace("invitation email seen");
    return { email, inbox, link };
  }

  /* ───────────── finding things (role and accessible name only) ───────────── */

  button(name: string | RegExp): Locator {
    return this.page.getByRole("button", { name, exact: typeof name === "string" });
  }

  link(name: string | RegExp): Locator {
    return this.page.getByRole("link", { name, exact: typeof name === "string" });
  }

  field(label: string | RegExp): Locator {
    return this.page.getByLabel(label, { exact: typeof label === "string" });
  }

  heading(name: string | RegExp, level = 1): Locator {
    return this.page.getByRole("heading", { name, level, exact: typeof name === "string" });
  }

  async headingText(): Promise<string> {
    return ((await this.page.getByRole("heading", { level: 1 }).first().textContent()) ?? "").trim();
  }

  /** Waits until `target` is visible (the sign that the next step arrived). */
  async see(target: Locator, what?: string, timeout = 15_000): Promise<void> {
    try {
      await target.first().waitFor({ state: "visible", timeout });
    } catch {
      const heading = await this.headingText().catch(() => "?");
      throw new Error(`expected ${what ?? String(target)} on ${this.url} (heading "${heading}"), not there after ${timeout / 1000} s`);
    }
  }

  async fill(label: string | RegExp, value: string): Promise<void> {
    const field = this.field(label);
    await this.see(field, `the field "${label}"`);
    await field.fill(value);
  }

  async check(label: string | RegExp): Promise<void> {
    await this.page.getByRole("checkbox", { name: label, exact: typeof label === "string" }).check();
  }

  /* ───────────── moving on ───────────── */

  async goto(pathOrUrl: string, label: string, expect?: Locator): Promise<void> {
    await this.page.goto(pathOrUrl, { waitUntil: "load" });
    if (expect) await this.see(expect);
    await this.checkpoint(label);
  }

  /**
   * Does `action` (a click or a key press that submits), waits until the answer is on the page
   * (the htmx swap settled, or a new page loaded), optionally for `expect`, then runs the
   * step's checks under `label`.
   */
  async act(action: () => Promise<void>, label: string, expect?: Locator): Promise<void> {
    await this.settleAfter(action, label);
    if (expect) await this.see(expect, undefined);
    await this.checkpoint(label);
  }

  /** Press the button named `name` (a click) and check the step it leads to. */
  async press(name: string | RegExp, label?: string, expect?: Locator): Promise<void> {
    const button = this.button(name);
    await this.see(button, `the button "${name}"`);
    await this.act(() => button.first().click(), label ?? `after ${String(name)}`, expect);
  }

  /** Follow the link named `name`. */
  async follow(name: string | RegExp, label?: string, expect?: Locator): Promise<void> {
    const link = this.link(name);
    await this.see(link, `the link "${name}"`);
    await this.act(() => link.first().click(), label ?? `after link ${String(name)}`, expect);
  }

  private async settleAfter(action: () => Promise<void>, label: string): Promise<void> {
    if (!this.js) {
      const loaded = this.page.waitForEvent("load", { timeout: 30_000 });
      loaded.catch(() => {});
      await action();
      try {
        await loaded;
      } catch {
        throw new Error(`${label}: no new page loaded within 30 s after the action on ${this.url}`);
      }
      if (this.keyboard) await this.checkFocusAfterLoad(label);
      return;
    }
    const before = await this.page.evaluate(() => ({ doc: (window as any).__e2e?.doc as string, done: (window as any).__e2e?.done as number }));
    await action();
    const started = Date.now();
    let navigated = false;
    for (;;) {
      try {
        const now = await this.page.evaluate(() => ({
          doc: (window as any).__e2e?.doc as string,
          done: (window as any).__e2e?.done as number,
          leaving: (window as any).__e2e?.leaving as boolean,
        }));
        if (now.doc !== before.doc) {
          navigated = true;
          break;
        }
        if (now.done > before.done && !now.leaving) break;
      } catch {
        // the document changed under the evaluation; look again
      }
      if (Date.now() - started > 30_000) throw new Error(`${label}: the page did not answer within 30 s on ${this.url}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.page.waitForLoadState("load");
    if (!this.keyboard) return;
    if (navigated) await this.checkFocusAfterLoad(label);
    else await this.checkFocusAfterSwap(label);
  }

  /** Notes something wrong that does not stop the path (reported, with the rest, when it ends). */
  problem(what: string): void {
    if (!this.quiet) this.problems.push(`${what} at ${this.url} [after step ${this.step} "${this.lastLabel}"]`);
  }

  /** Runs `work` without step checks (set-up that another path already tests). */
  async quietly<T>(work: () => Promise<T>): Promise<T> {
    const was = this.quiet;
    this.quiet = true;
    try {
      return await work();
    } finally {
      this.quiet = was;
    }
  }

  /* ───────────── checks at every step ───────────── */

  /** Sync JavaScript in the page through the DevTools protocol: works with the page's JavaScript off. */
  async probe<T>(expression: string): Promise<T> {
    this.cdp ??= await this.context.newCDPSession(this.page);
    const result = (await this.cdp.send("Runtime.evaluate", { expression, returnByValue: true })) as {
      result: { value: T };
      exceptionDetails?: { text: string };
    };
    if (result.exceptionDetails) throw new Error(`probe failed: ${result.exceptionDetails.text}`);
    return result.result.value;
  }

  async focus(): Promise<FocusInfo> {
    return this.probe<FocusInfo>(FOCUS_PROBE);
  }

  /** axe, reflow at 320 px and screenshots of what the page shows now. */
  private lastTime = Date.now();
  trace(what: string) {
    if (!process.env.E2E_TRACE) return;
    const now = Date.now();
    console.log(`    [${this.mode}] +${now - this.lastTime} ms ${what}`);
    this.lastTime = now;
  }

  async checkpoint(label: string): Promise<void> {
    this.trace(`reached "${label}"`);
    if (this.quiet) {
      this.lastLabel = `(set-up) ${label}`;
      return;
    }
    this.step++;
    this.lastLabel = label;
    const name = `${String(this.step).padStart(2, "0")}-${slug(label)}`;
    const where = `${this.url} [step ${this.step} "${label}"]`;

    const violations: AxeViolation[] = await runAxe(this.page, this.js, this.env.axe);
    this.env.stats.pages++;
    this.env.stats.violations += violations.length;
    for (const v of violations) {
      const nodes = v.nodes
        .slice(0, 3)
        .map((n) => `${JSON.stringify(n.target)} ${n.html.slice(0, 140)}${n.failureSummary ? ` — ${n.failureSummary.split("\n").slice(1, 2).join(" ").trim()}` : ""}`)
        .join("; ");
      this.problems.push(`axe ${v.id} (${v.impact}) at ${where}: ${v.help} — ${nodes}`);
    }

    await this.shoot(`${name}-1280`);
    await this.page.setViewportSize(NARROW);
    await this.shoot(`${name}-375`);
    await this.page.setViewportSize(REFLOW);
    const width = await this.probe<{ scroll: number; client: number }>(
      "({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })",
    );
    if (width.scroll > REFLOW.width) {
      await this.shoot(`${name}-320-overflow`);
      this.problems.push(`reflow at ${where}: scrollWidth ${width.scroll} > 320 at 320 CSS px wide (screenshot ${name}-320-overflow.png)`);
    }
    await this.page.setViewportSize(WIDE);
    this.trace(`checked "${label}"`);
  }

  private async shoot(name: string): Promise<string> {
    const file = join(this.dir, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true, animations: "disabled" });
    this.env.stats.screenshots++;
    return file;
  }

  /* ───────────── keyboard ───────────── */

  private async checkFocusAfterSwap(label: string): Promise<void> {
    // app.js moves focus on the same htmx:after:settle event; give it a frame.
    let info = await this.focus();
    for (let i = 0; i < 20 && !(info.inMain && (info.heading || info.firstInvalid || info.summary)); i++) {
      await new Promise((r) => setTimeout(r, 25));
      info = await this.focus();
    }
    if (!(info.inMain && (info.heading || info.firstInvalid || info.summary))) {
      this.problems.push(`focus after the swap at ${this.url} ["${label}"] is on <${info.tag}> "${info.name}", not on the new step's heading, error summary or first error`);
    } else if (!info.visible) {
      this.problems.push(`focus after the swap at ${this.url} ["${label}"] is on <${info.tag}> "${info.name}" but not visible (${info.style})`);
    }
  }

  /** A new page (JavaScript off, or a redirect): a page with errors must start on its first error. */
  private async checkFocusAfterLoad(label: string): Promise<void> {
    const hasError = await this.probe<boolean>(`!!document.querySelector('#main [aria-invalid="true"], #main [data-error-summary]')`);
    // Chromium applies autofocus at its next rendering update after load, not at load itself.
    let info = await this.focus();
    for (let i = 0; hasError && i < 20 && !info.summary; i++) {
      await new Promise((r) => setTimeout(r, 25));
      info = await this.focus();
    }
    if (hasError && !info.summary) {
      this.problems.push(`after "${label}" at ${this.url} the page shows an error but focus is on <${info.tag}> "${info.name}", not on the error summary`);
    }
  }

  /**
   * Tab (or Shift+Tab) until `target` has focus, checking at every stop that focus is visible.
   * Throws when it is not reached within `max` presses.
   */
  async tabTo(target: Locator, what: string, options: { back?: boolean; max?: number } = {}): Promise<void> {
    const key = options.back ? "Shift+Tab" : "Tab";
    const max = options.max ?? 40;
    const focused = target.and(this.page.locator(":focus"));
    if ((await focused.count()) > 0) return; // already there (the step put focus on it)
    for (let i = 0; i < max; i++) {
      await this.page.keyboard.press(key);
      const info = await this.focus();
      if (info.tag !== "body" && !info.visible) {
        this.problems.push(`focus not visible on <${info.tag}> "${info.name}" at ${this.url} (${info.style})`);
      }
      if ((await focused.count()) > 0) return;
    }
    throw new Error(`${what}: not reached with ${max} presses of ${key} on ${this.url}`);
  }

  async tabToButton(name: string, options?: { back?: boolean; max?: number }) {
    await this.tabTo(this.button(name), `the button "${name}"`, options);
  }

  async tabToField(label: string, options?: { back?: boolean; max?: number }) {
    await this.tabTo(this.field(label), `the field "${label}"`, options);
  }

  async tabToLink(name: string, options?: { back?: boolean; max?: number }) {
    await this.tabTo(this.link(name), `the link "${name}"`, options);
  }

  /** Types into whatever has focus (checked to be `label` first). */
  async typeInto(label: string, text: string, options?: { back?: boolean; max?: number }) {
    await this.tabToField(label, options);
    await this.page.keyboard.press("ControlOrMeta+A");
    await this.page.keyboard.type(text);
  }

  /** A key that submits (Enter on a button or link, Space on a button), then the step's checks. */
  async key(key: "Enter" | "Space", label: string, expect?: Locator): Promise<void> {
    await this.act(() => this.page.keyboard.press(key === "Space" ? " " : key), label, expect);
  }

  /* ───────────── the end ───────────── */

  assertClean(): void {
    if (this.problems.length) {
      const error = new Error(`${this.problems.length} problem(s) found on the way:\n    - ${this.problems.join("\n    - ")}`);
      error.stack = "Error";
      throw error;
    }
  }

  async explain(error: unknown): Promise<Error> {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes("problem(s) found on the way")) return error as Error;
    let shot = "";
    try {
      shot = await this.shoot(`${String(this.step + 1).padStart(2, "0")}-FAILED`);
    } catch {
      // the page is gone
    }
    const heading = await this.headingText().catch(() => "?");
    const appErrors = this.env.app.errors().slice(this.appErrorsAtStart);
    const logged = appErrors.length ? `\n  the app logged while this path ran (some may be other paths'):\n    ${appErrors.slice(-5).join("\n    ")}` : "";
    const more = this.problems.length ? `\n  also ${this.problems.length} problem(s) found on the way:\n    - ${this.problems.join("\n    - ")}` : "";
    const wrapped = new Error(
      `${message}\n  at ${this.url} (heading "${heading}") after step ${this.step} "${this.lastLabel}"` + (shot ? `\n  screenshot: ${shot}` : "") + logged + more,
    );
    wrapped.stack = "Error"; // the message says where; a stack of the harness would only repeat it
    return wrapped;
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => {});
  }
}
