import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { parse as parseCookies } from "hono/utils/cookie";
import type { AppDeps, AppEnv } from "./env.ts";
import { redirectTo, render, wantsFragment, type View } from "./render.tsx";
import { heldBody } from "./compress.ts";
import { clearCookie, cookieName, readCookie, writeCookie } from "./cookies.ts";
import { completeSignIn } from "./sign-in.ts";
import { FORM_UNREADABLE, type FormProblem } from "./form.ts";
import type { RequestMeta, StepResult } from "../flows/steps.ts";
import { withHandedFlow, type Flow } from "../flows/flow-store.ts";
import { KEYED_WRONG_MESSAGE } from "../flows/factors/phone.ts";
import type { FieldErrors } from "../../templates/components.tsx";
import { CallWaiting, PhoneChoice, SmsCodeEntry, type PhoneActions, type StepError } from "../../templates/phone-factor.tsx";

/**
 * The web half of the step kit (src/flows/steps.ts): who asked, the flow cookie, and the one
 * answer every flow's result gets (a redirect, the step again, a poll's 204, or the session).
 */
export type C = Context<AppEnv>;

export function requestMeta(c: C, deps: AppDeps): RequestMeta {
  return { ip: c.get("ip"), userAgent: c.get("userAgent"), rememberToken: readCookie(c, deps.config, "remember") };
}

export function flowToken(c: C, deps: AppDeps): string | undefined {
  return readCookie(c, deps.config, "flow");
}

/**
 * What a step's page shows besides its error: the call has not confirmed the code yet (`notYet`),
 * every field's message, and on a call page how many wrong codes were keyed on the call (the
 * poll sends it back, so only a new one redraws the page).
 */
export interface StepExtra {
  notYet?: boolean;
  fieldErrors?: FieldErrors;
  wrongTries?: number;
}

/** How a stepped flow's pages are drawn from its view. */
export interface StepPages<V> {
  /** The flow's first page: where a gone or expired flow sends the browser (with ?expired=1). */
  start: string;
  view(deps: AppDeps, view: V, error?: StepError, extra?: StepExtra): View;
  /**
   * Where a Continue that found the call pending goes without JavaScript (post/redirect/get: the
   * page it shows is a GET, so a reload posts nothing); null or absent: it is shown in place, as
   * registration's call page must be (its keypad code lives only in that answer).
   */
  waitingPath?(view: V): string | null;
}

/** The query a waiting page carries (pages.waitingPath): its GET says the call has not confirmed the code yet. */
const WAITING = "waiting";
/** …and, once a wrong code was keyed on the call, how many: its GET says so in the error summary. */
const WRONG = "wrong";

/** A call page's words for the wrong codes keyed on the call so far: the error, and the count its poll carries. */
function keyedWrong(wrongTries: number): { error?: StepError; extra: StepExtra } {
  return wrongTries > 0 ? { error: { message: KEYED_WRONG_MESSAGE }, extra: { wrongTries } } : { extra: { notYet: true } };
}

/** The count of wrong keyed codes a call page's GET was sent with (a Continue's redirect), 0 without. */
function wrongTriesQuery(c: C): number {
  const value = c.req.query(WRONG) ?? "";
  return /^[1-9]\d?$/.test(value) ? Number(value) : 0;
}

/**
 * Turns a flow function's result into the answer. `poll`: the Call Me page's background check;
 * `wrongShown`: the wrong keyed codes the polling page already says (its poll sends the count).
 */
export async function answer<V>(c: C, deps: AppDeps, pages: StepPages<V>, result: StepResult<V>, extra: { poll?: boolean; wrongShown?: number } = {}): Promise<Response> {
  switch (result.kind) {
    case "moved":
      return redirectTo(c, result.expired ? `${pages.start}?expired=1` : result.path);
    case "next":
      if (result.token) writeCookie(c, deps.config, "flow", result.token);
      else if (result.token === null) clearCookie(c, deps.config, "flow");
      if (result.clearRemember) clearCookie(c, deps.config, "remember");
      return wantsFragment(c) && c.req.method === "POST"
        ? nextInPlace(c, deps, result.path, { flow: result.token, remember: result.clearRemember ? null : undefined }, result.flow)
        : redirectTo(c, result.path);
    case "show": {
      if (c.req.query(WAITING) !== "1") return render(c, deps, pages.view(deps, result.view));
      // Only a call page (the flow's waiting page, at this very path) says what its Continue found.
      const onCallPage = pages.waitingPath?.(result.view) === c.req.path;
      const shown = keyedWrong(onCallPage ? wrongTriesQuery(c) : 0);
      return render(c, deps, pages.view(deps, result.view, shown.error, shown.extra));
    }
    case "error":
      if (result.retryAfterSeconds !== undefined) c.header("Retry-After", String(result.retryAfterSeconds));
      if (result.token) writeCookie(c, deps.config, "flow", result.token);
      return render(c, deps, {
        ...pages.view(deps, result.view, { message: result.message, field: result.field }, result.also && result.field ? { fieldErrors: { [result.field]: result.message, ...result.also } } : {}),
        status: result.status,
      });
    case "pending": {
      const wrongTries = result.wrongTries ?? 0;
      const shown = keyedWrong(wrongTries);
      // The poll: nothing changed, so nothing on screen should (htmx does not swap a 204); a wrong
      // code keyed on the call since the page was drawn is news: the page again, saying so.
      if (extra.poll) return wrongTries > (extra.wrongShown ?? 0) ? render(c, deps, pages.view(deps, result.view, shown.error, shown.extra)) : c.body(null, 204);
      const waiting = wantsFragment(c) ? null : (pages.waitingPath?.(result.view) ?? null);
      if (waiting) return redirectTo(c, `${waiting}?${WAITING}=1${wrongTries > 0 ? `&${WRONG}=${wrongTries}` : ""}`);
      return render(c, deps, pages.view(deps, result.view, shown.error, shown.extra));
    }
    case "signed_in":
      return completeSignIn(c, deps, result);
  }
}

/** Request headers that belong to the POST (its body, its origin) and not to the GET that follows it. */
const POST_ONLY_HEADERS = ["content-type", "content-length", "content-encoding", "transfer-encoding", "origin"];

/**
 * htmx's answer to a step that moved on: the next step's fragment at once, where a 303 would
 * have had its fetch ask for it in a second request (one round trip a step instead of two, on a
 * clinic's slow network as on the server). The app answers the GET the redirect would have
 * caused, with the same headers and cookies (this answer's flow cookie in place of the old one),
 * through every middleware; its HX-Replace-Url puts the step's own address in the location bar,
 * so a reload or Back asks for that GET, never this POST again. Without JavaScript, and for a
 * GET that itself redirects, the browser gets the 303 as before.
 */
async function nextInPlace(c: C, deps: AppDeps, path: string, cookies: { flow?: string | null; remember?: null }, moved?: Flow): Promise<Response> {
  const dispatch = c.get("dispatch");
  if (!dispatch || !path.startsWith("/") || path.startsWith("//")) return redirectTo(c, path);
  // A plain record (lower-case names), converted once by the Request, not copied through a Headers first.
  const headers: Record<string, string> = c.req.header();
  for (const name of POST_ONLY_HEADERS) delete headers[name];
  const jar: Record<string, string> = parseCookies(headers.cookie ?? "");
  for (const [kind, value] of Object.entries(cookies) as Array<["flow" | "remember", string | null | undefined]>) {
    if (value === null) delete jar[cookieName(deps.config, kind)];
    else if (value !== undefined) jar[cookieName(deps.config, kind)] = value;
  }
  headers.cookie = Object.entries(jar).map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join("; ");
  const ask = () => dispatch(new Request(new URL(path, c.req.url), { headers }), c.env);
  // The step's page takes the flow as the step's move returned it instead of reading it back.
  const token = jar[cookieName(deps.config, "flow")];
  const next = await (moved && token ? withHandedFlow(token, moved, ask) : ask());
  if (next.status >= 300 && next.status < 400) return redirectTo(c, path);
  // Already compressed when the browser takes it; the compression middleware leaves an encoded body alone.
  // The page's bytes as held (compress.ts), not through arrayBuffer(), which builds a web Response and its stream first.
  const body = heldBody(next) ?? (await next.arrayBuffer());
  return c.body(body as string | ArrayBuffer, { status: next.status as ContentfulStatusCode, headers: next.headers });
}

/**
 * The step again as a 400 after its form did not pass (validForm's `again`): the flow's view
 * (`shown`, the step's GET result) with the first message as the step's error, or, for a step
 * that marks each field (`perField`), every message at its field. A flow that is not on the step
 * (or is gone) sends the browser where it belongs instead.
 */
export async function showAgain<V>(
  c: C,
  deps: AppDeps,
  pages: StepPages<V>,
  shown: StepResult<V>,
  problem: FormProblem,
  options: { edit?: (view: V) => V; perField?: boolean } = {},
): Promise<Response> {
  if (shown.kind !== "show") return answer(c, deps, pages, shown);
  const view = options.edit ? options.edit(shown.view) : shown.view;
  // A mangled form (a field twice, a file) is the form's problem before it is any field's.
  const unreadable = problem.unreadable ? { message: FORM_UNREADABLE } : undefined;
  if (options.perField) return render(c, deps, { ...pages.view(deps, view, unreadable, { fieldErrors: problem.errors }), status: 400 });
  const [field, message] = Object.entries(problem.errors)[0] ?? ["form", "Check the form and try again."];
  const error = unreadable ?? { message: message ?? "", field: field === "form" ? undefined : field };
  return render(c, deps, { ...pages.view(deps, view, error), status: 400 });
}

/**
 * The phone factor's three pages (choose Send Code or Call Me, type the SMS code, wait for the
 * call), for any flow that asks the phone: its URLs and the heading of its first page.
 */
export function phoneStepView(
  page: "choose" | "code" | "call",
  props: { chooseHeading: string; maskedPhone: string; keypadCode: string | null; actions: PhoneActions; error?: StepError; notYet?: boolean; wrongTries?: number },
): View {
  switch (page) {
    case "choose":
      return { title: props.chooseHeading, body: <PhoneChoice heading={props.chooseHeading} maskedPhone={props.maskedPhone} actions={props.actions} error={props.error} /> };
    case "code":
      return {
        title: "Enter the verification code",
        body: <SmsCodeEntry heading="Enter the verification code" maskedPhone={props.maskedPhone} actions={props.actions} error={props.error} sent />,
      };
    case "call":
      return {
        title: "Answer the call",
        body: (
          <CallWaiting
            heading="Answer the call"
            maskedPhone={props.maskedPhone}
            keypadCode={props.keypadCode ?? ""}
            actions={props.actions}
            notYet={props.notYet}
            error={props.error}
            wrongTries={props.wrongTries}
          />
        ),
      };
  }
}
