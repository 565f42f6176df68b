import type { Db, Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Outbox } from "../delivery/outbox.ts";
import { appendAudit } from "../auth/audit.ts";
import type { LoginOption, User } from "../auth/users.ts";
import type { StartedSession } from "../auth/sessions.ts";
import { deleteFlow, loadFlow, loadFlowWithUser, type Flow, type FlowKind } from "./flow-store.ts";

/**
 * The stepped-flow kit every flow is built from (registration, sign-in, password reset, and the
 * flows to come): what a flow needs from the app, who asked, what a step comes to, and loading a
 * flow with its user. A flow module holds only its states and transitions; moving a flow is
 * flow-store's guarded advanceFlow.
 */

/** What the flows need from the app (structurally part of AppDeps, without the web). */
export interface FlowDeps {
  sql: Sql;
  clock: Clock;
  config: Config;
  outbox: Outbox;
}

/**
 * Who asked, for rate limits and the audit log. `rememberToken` is the browser's Remember Me
 * token, if any; `actorId` the administrator acting on someone else's account, if any.
 */
export interface RequestMeta {
  ip: string;
  userAgent: string;
  rememberToken?: string;
  actorId?: string | null;
}

/** Where the browser goes instead of the step it asked for: the step its flow is on, or (no live flow) the first page. */
export type Moved = { kind: "moved"; path: string; expired?: boolean };

/** A step's field or form message (`field` names the input it belongs to; none: the form). */
export interface StepMessage {
  message: string;
  field?: string;
}

/** What every step of every flow comes to; the route turns it into a redirect, a page or a session. */
export type StepResult<V> =
  /** No such flow, or it is on another step: 303 there (the flow's first page, with ?expired=1, when it is gone). */
  | Moved
  /**
   * Moved on: 303 to `path`; a `token` replaces the flow cookie (null: the flow cookie is cleared).
   * `flow`: the flow as the move returned it, for the next step's page when it is answered in
   * the same request (flow-store's withHandedFlow), so it is not read back.
   */
  | { kind: "next"; path: string; token?: string | null; clearRemember?: boolean; flow?: Flow }
  /** The step again, with a message; `also`: more messages, each at its field, shown with it at once (GOV.UK: every error at once). */
  | {
      kind: "error";
      view: V;
      message: string;
      field?: string;
      also?: Record<string, string>;
      status: 400 | 401 | 403 | 404 | 409 | 422 | 429;
      retryAfterSeconds?: number;
      /** A flow this very request made (its first try failed): the browser keeps it for the next try. */
      token?: string;
    }
  /**
   * The call has not confirmed the code yet (the poll, or Continue), or a page to show as it is.
   * `wrongTries`: the wrong codes keyed on the call so far, which the page says (the poll's
   * answer is news only when it grew).
   */
  | { kind: "pending"; view: V; wrongTries?: number }
  | { kind: "show"; view: V }
  /**
   * Every factor passed: the route starts the session (and writes the Remember Me cookie when a
   * token is given), then goes to `returnTo`. `started`: the session the flow's last transaction
   * already wrote with the flow's end (the route then only puts its cookie down).
   */
  | {
      kind: "signed_in";
      user: User;
      option: LoginOption | null;
      amr: string[];
      authenticatedAt: Date | null;
      rememberToken: string | null;
      clearRemember?: boolean;
      returnTo: string | null;
      started?: StartedSession;
    };

/** A flow taken one step at a time by the browser: its stored kind, its first page, its step URLs. */
export interface SteppedFlow<S extends string> {
  kind: FlowKind;
  start: string;
  stepPath(state: string | null | undefined): string;
  /** Never set: it ties the flow to its state names, so flowAt and flowAndUser refuse a name of another flow. */
  readonly states?: readonly S[];
}

/** The URL table of a flow's states, as a stepPath: unknown or ended states mean the first page. */
export function stepPaths<S extends string>(start: string, paths: Partial<Record<S, string>>): (state: string | null | undefined) => string {
  return (state) => (state && (paths as Record<string, string | undefined>)[state]) || start;
}

/** Loads the flow and checks it is on one of `states`; otherwise where the browser should go instead. */
export async function flowAt<S extends string>(deps: FlowDeps, of: SteppedFlow<S>, token: string | undefined, states: readonly NoInfer<S>[]): Promise<Flow | Moved> {
  return checkState(of, token, await loadFlow(deps.sql, deps.clock, token, of.kind), states);
}

function checkState<S extends string>(of: SteppedFlow<S>, token: string | undefined, flow: Flow | null, states: readonly S[]): Flow | Moved {
  if (!flow) return { kind: "moved", path: of.start, expired: token !== undefined };
  if (!(states as readonly string[]).includes(flow.state)) return { kind: "moved", path: of.stepPath(flow.state) };
  return flow;
}

export function isMoved<T extends object>(value: T | Moved): value is Moved {
  return (value as { kind?: unknown }).kind === "moved";
}

/** The flow and its account, for a step after the account is known; a gone or disabled account ends the flow. */
export async function flowAndUser<S extends string>(
  deps: FlowDeps,
  of: SteppedFlow<S>,
  token: string | undefined,
  states: readonly NoInfer<S>[],
): Promise<{ flow: Flow; user: User } | Moved> {
  const found = await loadFlowWithUser(deps.sql, deps.clock, token, of.kind);
  const flow = checkState(of, token, found?.flow ?? null, states);
  if (isMoved(flow)) return flow;
  const user = found?.user ?? null;
  if (!user || user.status !== "active") {
    await deleteFlow(deps.sql, flow.id);
    return { kind: "moved", path: of.start, expired: true };
  }
  return { flow, user };
}

/**
 * Thrown inside a transaction to roll it back for an expected outcome that shows only once its
 * statements, sent together, have answered (a guarded move that found the flow gone, a limit
 * that refused); unlessRolledBack turns it into null. Any other error goes on as it is.
 */
export const ROLLBACK: unique symbol = Symbol("rollback");

export async function unlessRolledBack<T>(transaction: Promise<T>): Promise<T | null> {
  try {
    return await transaction;
  } catch (error) {
    if (error === ROLLBACK) return null;
    throw error;
  }
}

/** An audit event of this request (its address, browser and acting administrator), in `db` (the step's transaction) or on its own. */
export function audit(deps: FlowDeps, meta: RequestMeta, event: string, userId: string | null, detail: Record<string, unknown> = {}, db: Db = deps.sql) {
  return appendAudit(db, deps.clock, { event, userId, actorId: meta.actorId ?? null, ip: meta.ip, userAgent: meta.userAgent, detail });
}

export function tooManyAttempts(seconds: number): string {
  return `Too many attempts from this network. Wait ${describeWait(seconds)} and try again.`;
}

export function tooManySends(seconds: number): string {
  return `Too many codes were sent. Wait ${describeWait(seconds)} before asking for another.`;
}

function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

export const TERMS_REQUIRED = "Select the box to agree to the Terms of Use.";
