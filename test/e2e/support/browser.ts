/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser), and axe-core.
 * axe runs inside the page when JavaScript is on. With JavaScript off Chromium runs no script at
 * all, not even one a test evaluates asynchronously, so the page's DOM (exactly the server's HTML,
 * since nothing ran) is replayed at the same URL in a separate axe-only context, with the same
 * stylesheet and no scripts, and axe runs there.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The flags this machine needs (node-svc notes): no sandbox as root, no background networking. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchBrowser(): Promise<Browser> {
  // playwright-core gives every launch a fresh, empty user-data-dir of its own.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: Array<{ target: unknown[]; html: string; failureSummary?: string }>;
}

async function runAxeIn(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (window as any).axe !== "undefined");
  if (!loaded) await page.evaluate(axeSource);
  return page.evaluate(
    (tags) =>
      (window as any).axe
        .run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] })
        .then((r: any) =>
          r.violations.map((v: any) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            helpUrl: v.helpUrl,
            nodes: v.nodes.map((n: any) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })),
          })),
        ),
    AXE_TAGS,
  );
}

/** Replays no-JavaScript pages for axe; one page, used by one check at a time. */
export class AxeReplay {
  private context: BrowserContext | null = null;
  private page: Page | null = null;
  private html = "";
  private url = "";
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private browser: Browser) {}

  private async open(): Promise<Page> {
    if (this.page) return this.page;
    this.context = await this.browser.newContext({ bypassCSP: true, javaScriptEnabled: true });
    this.context.setDefaultTimeout(20_000);
    const page = await this.context.newPage();
    await page.route(
      () => true,
      async (route) => {
        const request = route.request();
        if (request.isNavigationRequest() && request.url() === this.url) {
          return route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: this.html });
        }
        // The replayed page must stay as it was without JavaScript: no htmx, no app.js.
        if (request.resourceType() === "script") return route.abort();
        return route.continue();
      },
    );
    this.page = page;
    return page;
  }

  run(url: string, html: string, viewport: { width: number; height: number }): Promise<AxeViolation[]> {
    const job = this.queue.then(async () => {
      const page = await this.open();
      this.url = url;
      this.html = html;
      await page.setViewportSize(viewport);
      await page.goto(url, { waitUntil: "load" });
      return runAxeIn(page);
    });
    this.queue = job.catch(() => {});
    return job;
  }

  async close() {
    await this.context?.close().catch(() => {});
  }
}

/** axe on what `page` shows now: in place with JavaScript on, replayed without it. */
export async function runAxe(page: Page, javaScript: boolean, replay: AxeReplay): Promise<AxeViolation[]> {
  if (javaScript) return runAxeIn(page);
  const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
  return replay.run(page.url(), await page.content(), viewport);
}
