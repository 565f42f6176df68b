/**
 * Login with Email, driven over HTTP as a browser without JavaScript does it (plain POST → 303 →
 * GET), by the buttons' visible names. `walkLoginWithEmail` times every round trip; the walk also
 * yields the two requests a password step needs, which the throughput phase replays.
 */
import type { HttpAgent } from "./http.ts";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { CookieJar, send, type Reply } from "./http.ts";
import { checkSameForms, findButton, formBody, readForms, type FormButton, type PageForm } from "./forms.ts";
import type { BenchUser } from "./db.ts";

/** The buttons of Login with Email, in order (product.md §2). */
export const LOGIN_WITH_EMAIL = ["Login with Email", "Sign in", "Send Verification Code", "Verify Code", "Continue"] as const;
export const PASSWORD_BUTTON = "Sign in";
const CREDENTIAL_LABELS = { email: "Email Address", password: "Password", code: "Verification Code" };

export interface StepTiming {
  step: string;
  ms: number;
  status: number;
}

export interface Client {
  port: number;
  origin: string;
  agent: HttpAgent;
  /** Client address the app sees (TRUST_PROXY=1 and X-Forwarded-For), so per-address limits apply per simulated person. */
  ip: string;
}

export const BROWSER_HEADERS = {
  "accept": "text/html,application/xhtml+xml",
  "accept-encoding": "gzip, deflate, br",
  "user-agent": "mfa-portal-bench",
};

export function decodeBody(reply: Reply): string {
  const encoding = reply.headers["content-encoding"];
  const raw =
    encoding === "br" ? brotliDecompressSync(reply.body) : encoding === "gzip" ? gunzipSync(reply.body) : encoding === "deflate" ? inflateSync(reply.body) : reply.body;
  return raw.toString("utf8");
}

/** Path with long random-looking segments replaced, so steps of different iterations group together. */
export function stepPath(location: string): string {
  const path = new URL(location, "http://x").pathname;
  return path
    .split("/")
    .map((s) => (s.length >= 20 && !/^[a-z]+(-[a-z]+)*$/.test(s) ? ":token" : s))
    .join("/");
}

function headersFor(client: Client, jar: CookieJar, extra: Record<string, string> = {}): Record<string, string> {
  const cookie = jar.header();
  return { ...BROWSER_HEADERS, "x-forwarded-for": client.ip, ...(cookie ? { cookie } : {}), ...extra };
}

function summarize(html: string): string {
  return html
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}

export interface ReplayPlan {
  start: { action: string; body: string };
  credentials: { action: string; form: PageForm; button: FormButton };
  /** Where a right password leads (path pattern), to tell success from a re-rendered error. */
  nextPath: string;
  /** The credentials form's action names the flow (then each iteration must read it from the page). */
  actionPerFlow: boolean;
}

export interface Walk {
  steps: StepTiming[];
  plan: ReplayPlan | null;
  /** Why the walk stopped before the home page (the steps before it are still timed). */
  error?: string;
}

/**
 * One whole sign-in, from GET /login to the home page. Throws with what the page said when a step
 * does not go on (a missing feature shows up here as "no next button").
 */
export async function walkLoginWithEmail(client: Client, user: BenchUser, codeFor: (email: string) => Promise<string | null>, options: { javascript?: boolean } = {}): Promise<Walk> {
  const walk: Walk = { steps: [], plan: null };
  try {
    await walkSteps(client, user, codeFor, walk, options.javascript === true);
  } catch (error) {
    walk.error = error instanceof Error ? error.message : String(error);
  }
  return walk;
}

/** The first pages a run reads are read by both form readers too, which must agree (forms.ts). */
const PAGES_TO_CHECK = 60;
let pagesChecked = 0;

/**
 * What htmx 4 sends with a request of an hx-post form whose target is <main id="main">
 * (templates/components.tsx), and with the GET its fetch makes when the answer is a redirect
 * (fetch keeps a request's headers across a same-origin redirect).
 */
function htmxHeaders(client: Client, path: string): Record<string, string> {
  return { "hx-request": "true", "hx-source": "button", "hx-target": "main#main", "hx-request-type": "partial", "hx-current-url": client.origin + path, accept: "text/html" };
}

/**
 * `javascript`: as a browser running htmx does it: each form's POST carries htmx's headers; a
 * 200 is the next step's fragment (swapped into <main>, its HX-Replace-Url the new address), a
 * 303 is followed by fetch with the same headers, and a 204 with HX-Redirect loads that page
 * whole. Without: post, follow the 303, load the whole page, as without JavaScript.
 */
async function walkSteps(client: Client, user: BenchUser, codeFor: (email: string) => Promise<string | null>, walk: Walk, javascript: boolean): Promise<void> {
  const jar = new CookieJar();
  const steps = walk.steps;
  const get = async (path: string, extra: Record<string, string> = {}) => {
    const reply = await send(client.agent, { port: client.port, path, headers: headersFor(client, jar, extra) });
    jar.take(reply.headers);
    steps.push({ step: `GET ${stepPath(path)}`, ms: reply.ms, status: reply.status });
    return reply;
  };
  let path = "/login";
  let reply = await get(path);
  if (reply.status !== 200) throw new Error(`GET /login answered ${reply.status}: ${summarize(decodeBody(reply))}`);
  let html = decodeBody(reply);
  let position = 0;
  let start: ReplayPlan["start"] | null = null;
  let credentials: ReplayPlan["credentials"] | null = null;
  let nextPath = "";
  while (position < LOGIN_WITH_EMAIL.length) {
    if (pagesChecked < PAGES_TO_CHECK) {
      pagesChecked++;
      checkSameForms(html, path);
    }
    const forms = readForms(html, path);
    let found: { form: PageForm; button: FormButton } | null = null;
    let name = "";
    for (let k = position; k < LOGIN_WITH_EMAIL.length && !found; k++) {
      found = findButton(forms, LOGIN_WITH_EMAIL[k]!);
      if (found) {
        name = LOGIN_WITH_EMAIL[k]!;
        position = k + 1;
      }
    }
    if (!found) {
      const buttons = forms.flatMap((f) => f.buttons.map((b) => b.text));
      throw new Error(`no next Login with Email button on ${stepPath(path)} (buttons: ${JSON.stringify(buttons)}; page: ${summarize(html)})`);
    }
    const values: Record<string, string> = { [CREDENTIAL_LABELS.email]: user.email, [CREDENTIAL_LABELS.password]: user.password };
    if (name === "Verify Code") {
      const code = await codeFor(user.email);
      if (!code) throw new Error(`no emailed code found for ${user.email}`);
      values[CREDENTIAL_LABELS.code] = code;
    }
    const body = formBody(found.form, found.button, values, { "Remember Me": false });
    const action = found.form.action;
    const hx = javascript && found.form.htmx ? htmxHeaders(client, path) : null;
    reply = await send(client.agent, { port: client.port, method: "POST", path: action, headers: headersFor(client, jar, { origin: client.origin, ...hx }), body });
    jar.take(reply.headers);
    steps.push({ step: `POST ${name}${name === PASSWORD_BUTTON ? " (argon2id)" : ""}`, ms: reply.ms, status: reply.status });
    if (hx && reply.status === 200) {
      // The next step's fragment, in place.
      const replaced = reply.headers["hx-replace-url"];
      if (typeof replaced !== "string") throw new Error(`"${name}" answered 200 to htmx without HX-Replace-Url: ${summarize(decodeBody(reply))}`);
      path = replaced;
      html = decodeBody(reply);
      continue;
    }
    if (hx && reply.status === 204 && typeof reply.headers["hx-redirect"] === "string") {
      path = reply.headers["hx-redirect"];
      reply = await get(path);
      if (reply.status !== 200) throw new Error(`GET ${stepPath(path)} answered ${reply.status}: ${summarize(decodeBody(reply))}`);
      html = decodeBody(reply);
      continue;
    }
    if (reply.status !== 303 || !reply.headers.location) {
      throw new Error(`"${name}" answered ${reply.status}, not 303: ${summarize(decodeBody(reply))}`);
    }
    if (name === "Login with Email") start = { action, body };
    if (name === PASSWORD_BUTTON) {
      credentials = { action, form: found.form, button: found.button };
      nextPath = stepPath(reply.headers.location);
      // Enough for the throughput phase, even if a later step fails.
      if (start) walk.plan = { start, credentials, nextPath, actionPerFlow: stepPath(credentials.action) !== credentials.action };
    }
    const from = path;
    path = new URL(reply.headers.location, client.origin).pathname + new URL(reply.headers.location, client.origin).search;
    reply = await get(path, hx ? htmxHeaders(client, from) : {});
    // A redirect chain (e.g. / → /home) is followed the same way.
    for (let hops = 0; reply.status === 303 && reply.headers.location && hops < 3; hops++) {
      path = new URL(reply.headers.location, client.origin).pathname;
      reply = await get(path);
    }
    if (reply.status !== 200) throw new Error(`GET ${stepPath(path)} answered ${reply.status}: ${summarize(decodeBody(reply))}`);
    html = decodeBody(reply);
  }
  if (!/^\/home\b/.test(path) || !/<h1[^>]*>\s*Home\s*</.test(html)) {
    throw new Error(`Login with Email ended on ${stepPath(path)}, not the home page: ${summarize(html)}`);
  }
}

/**
 * One password step as the throughput phase counts it: start a Login with Email flow (its own
 * POST, as a person would), then post the right password. True when it went on to the next step.
 */
export async function passwordStep(client: Client, plan: ReplayPlan, user: BenchUser): Promise<boolean> {
  const jar = new CookieJar();
  const started = await send(client.agent, {
    port: client.port,
    method: "POST",
    path: plan.start.action,
    headers: headersFor(client, jar, { origin: client.origin }),
    body: plan.start.body,
  });
  jar.take(started.headers);
  if (started.status !== 303) return false;
  let { action, form, button } = plan.credentials;
  if (plan.actionPerFlow) {
    // The form names the flow: read it off the page, as a browser would.
    const page = await send(client.agent, { port: client.port, path: new URL(started.headers.location!, client.origin).pathname, headers: headersFor(client, jar) });
    const found = findButton(readForms(decodeBody(page), "/login"), PASSWORD_BUTTON);
    if (!found) return false;
    ({ form, button } = found);
    action = found.form.action;
  }
  const body = formBody(form, button, { [CREDENTIAL_LABELS.email]: user.email, [CREDENTIAL_LABELS.password]: user.password }, { "Remember Me": false });
  const reply = await send(client.agent, { port: client.port, method: "POST", path: action, headers: headersFor(client, jar, { origin: client.origin }), body });
  return reply.status === 303 && !!reply.headers.location && stepPath(reply.headers.location) === plan.nextPath;
}
