import { AsyncLocalStorage } from "node:async_hooks";
import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { generateTokenPair, secretMatches, splitToken, type TokenPair } from "../auth/tokens.ts";
import { userColumns, type LoginOption, type User } from "../auth/users.ts";

/**
 * A multi-step flow (Ory Kratos style): a stored row with a kind, an explicit state and an
 * expiry, held by one browser through a cookie token "<id>.<secret>". Every step moves it with
 * a guarded UPDATE (`where state = <expected>`), so a double submit, a second tab or a replayed
 * form finds the row already moved and cannot skip or repeat a step. This module is the only
 * one that writes `flows`.
 */
export type FlowKind = "registration" | "login" | "password_reset" | "account" | "factor_setup";

export interface Flow {
  id: string;
  kind: FlowKind;
  userId: string | null;
  state: string;
  loginOption: LoginOption | null;
  remember: boolean;
  data: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

const FLOW_COLUMNS = (db: Db) =>
  db`id, kind, user_id as "userId", state, login_option as "loginOption", remember, data,
    created_at as "createdAt", updated_at as "updatedAt", expires_at as "expiresAt"`;

export async function createFlow(
  db: Db,
  clock: Clock,
  input: { kind: FlowKind; userId: string | null; state: string; ttlMs: number; loginOption?: LoginOption | null; remember?: boolean; data?: Record<string, unknown> },
): Promise<{ token: string; flow: Flow }> {
  const pair = generateTokenPair();
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + input.ttlMs);
  const [flow] = await db<Flow[]>`
    insert into flows (id, secret_hash, kind, user_id, state, login_option, remember, data, created_at, updated_at, expires_at)
    values (${pair.id}, ${pair.secretHash}, ${input.kind}, ${input.userId}, ${input.state}, ${input.loginOption ?? null},
      ${input.remember ?? false}, ${db.json((input.data ?? {}) as never)}, ${now}, ${now}, ${expiresAt})
    returning ${FLOW_COLUMNS(db)}`;
  return { token: pair.token, flow: flow! };
}

/**
 * The flow a step has just moved, as its guarded statement returned it, handed to the page that
 * follows in the same request (an htmx step answered with the next step in place, web/steps.tsx
 * nextInPlace): that page's loadFlow takes it instead of reading the row back. Only for the
 * token it was handed with, and only once; nothing else sees it.
 */
const handedFlow = new AsyncLocalStorage<{ token: string; flow: Flow | null }>();

export function withHandedFlow<T>(token: string, flow: Flow, run: () => T): T {
  return handedFlow.run({ token, flow }, run);
}

function takeHandedFlow(token: string, kind: FlowKind): Flow | undefined {
  const handed = handedFlow.getStore();
  if (!handed?.flow || handed.token !== token || handed.flow.kind !== kind) return undefined;
  const flow = handed.flow;
  handed.flow = null;
  return flow;
}

/** The flow the cookie token names, if it is of this kind and has not expired. */
export async function loadFlow(db: Db, clock: Clock, token: string | undefined, kind: FlowKind): Promise<Flow | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const handed = takeHandedFlow(token!, kind);
  if (handed) return handed.expiresAt.getTime() > clock.now().getTime() ? handed : null;
  const [row] = await db<(Flow & { secretHash: Uint8Array })[]>`
    select ${FLOW_COLUMNS(db)}, secret_hash as "secretHash" from flows where id = ${parts.id} and kind = ${kind}`;
  if (!row) return null;
  const { secretHash, ...flow } = row;
  return live(parts.secret, secretHash, flow, clock);
}

/** The flow a token names, when the token's secret is its own and it has not expired. */
function live(secret: string, secretHash: Uint8Array, flow: Flow, clock: Clock): Flow | null {
  if (!secretMatches(secret, secretHash)) return null;
  return flow.expiresAt.getTime() > clock.now().getTime() ? flow : null;
}

/**
 * loadFlow and the flow's account (null when it has none or it is gone) in one statement: the
 * steps after the password ask both on every request.
 */
export async function loadFlowWithUser(db: Db, clock: Clock, token: string | undefined, kind: FlowKind): Promise<{ flow: Flow; user: User | null } | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  // The flow's columns are prefixed with f (fKind, fState, …): the account's keep their own names.
  const [r] = await db<Record<string, unknown>[]>`
    select ${userColumns(db, "u")}, u.id is not null as "userFound", f.kind as "fKind", f.user_id as "fUserId", f.state as "fState",
      f.login_option as "fLoginOption", f.remember as "fRemember", f.data as "fData", f.created_at as "fCreatedAt",
      f.updated_at as "fUpdatedAt", f.expires_at as "fExpiresAt", f.secret_hash as "fSecretHash"
    from flows f left join users u on u.id = f.user_id
    where f.id = ${parts.id} and f.kind = ${kind}`;
  if (!r) return null;
  const flow = live(parts.secret, r.fSecretHash as Uint8Array, {
    id: parts.id,
    kind: r.fKind as FlowKind,
    userId: r.fUserId as string | null,
    state: r.fState as string,
    loginOption: r.fLoginOption as LoginOption | null,
    remember: r.fRemember as boolean,
    data: r.fData as Record<string, unknown>,
    createdAt: r.fCreatedAt as Date,
    updatedAt: r.fUpdatedAt as Date,
    expiresAt: r.fExpiresAt as Date,
  }, clock);
  if (!flow) return null;
  const user = r.userFound ? (Object.fromEntries(Object.entries(r).filter(([key]) => !/^f[A-Z]/.test(key) && key !== "userFound")) as unknown as User) : null;
  return { flow, user };
}

/**
 * Moves a flow from one of `from` to `to`, merging `data` into its data. Returns the moved flow,
 * or null when the flow was no longer in an expected state (someone else moved it first).
 */
export async function advanceFlow(
  db: Db,
  clock: Clock,
  flowId: string,
  from: string | string[],
  to: string,
  changes: { data?: Record<string, unknown>; ttlMs?: number; loginOption?: LoginOption | null; remember?: boolean } = {},
): Promise<Flow | null> {
  const now = clock.now();
  const states = [from].flat();
  const [flow] = await db<Flow[]>`
    update flows set
      state = ${to},
      data = data || ${db.json((changes.data ?? {}) as never)},
      updated_at = ${now},
      expires_at = ${changes.ttlMs === undefined ? db`expires_at` : new Date(now.getTime() + changes.ttlMs)},
      login_option = ${changes.loginOption === undefined ? db`login_option` : changes.loginOption},
      remember = ${changes.remember === undefined ? db`remember` : changes.remember}
    where id = ${flowId} and state in ${db(states)} and expires_at > ${now}
    returning ${FLOW_COLUMNS(db)}`;
  return flow ?? null;
}

/**
 * One more wrong try of a factor without a code row of its own (the authenticator app, a
 * recovery code), counted in the flow in one UPDATE so parallel tries all count; the new count.
 */
export async function countFlowFailure(db: Db, flowId: string, counter: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    update flows set data = jsonb_set(data, ${[counter]}, to_jsonb(coalesce((data->>${counter})::int, 0) + 1))
    where id = ${flowId}
    returning (data->>${counter})::int as n`;
  return row?.n ?? Number.MAX_SAFE_INTEGER;
}

/**
 * Uses up the challenge a flow holds (a passkey's, `data.challenge`): only the first of answers
 * sent at once finds it, so it works once. The flow as it is now, or null (gone, expired, taken).
 */
export async function takeFlowChallenge(db: Db, clock: Clock, flowId: string, challenge: string): Promise<Flow | null> {
  const now = clock.now();
  const [flow] = await db<Flow[]>`
    update flows set data = data - 'challenge', updated_at = ${now}
    where id = ${flowId} and data->>'challenge' = ${challenge} and expires_at > ${now}
    returning ${FLOW_COLUMNS(db)}`;
  return flow ?? null;
}

/** A flow that learned its account on the way (Sign in with a passkey: from the credential). */
export async function bindFlowUser(db: Db, clock: Clock, flowId: string, userId: string): Promise<void> {
  await db`update flows set user_id = ${userId}, updated_at = ${clock.now()} where id = ${flowId} and user_id is null`;
}

export async function deleteFlow(db: Db, flowId: string): Promise<void> {
  await db`delete from flows where id = ${flowId}`;
}

/** The guarded end of a flow on `from`: true for the one request (of racing ones) that ended it. */
export async function endFlow(db: Db, clock: Clock, flowId: string, from: string): Promise<boolean> {
  const ended = await db`delete from flows where id = ${flowId} and state = ${from} and expires_at > ${clock.now()} returning id`;
  return ended.length === 1;
}

/**
 * Replaces a flow still on `from` by a new one (new id and secret, so a new cookie token) in ONE
 * statement: the guarded delete is the old flow's claim (a racing second request finds it gone
 * and gets null), the insert takes its remember box from the deleted row. The new flow.
 */
export async function replaceFlow(
  db: Db,
  clock: Clock,
  pair: TokenPair,
  input: { flowId: string; kind: FlowKind; from: string; userId: string; state: string; loginOption: LoginOption | null; ttlMs: number; data: Record<string, unknown> },
): Promise<Flow | null> {
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + input.ttlMs);
  const [flow] = await db<Flow[]>`
    with old as (
      delete from flows where id = ${input.flowId} and kind = ${input.kind} and state = ${input.from} and expires_at > ${now}
      returning remember)
    insert into flows (id, secret_hash, kind, user_id, state, login_option, remember, data, created_at, updated_at, expires_at)
    select ${pair.id}, ${pair.secretHash}, ${input.kind}, ${input.userId}, ${input.state}, ${input.loginOption}, old.remember,
      ${db.json(input.data as never)}, ${now}, ${now}, ${expiresAt}
    from old
    returning ${FLOW_COLUMNS(db)}`;
  return flow ?? null;
}

/**
 * Ends every flow of these kinds for a user (a new invitation, a reset), so older browsers cannot
 * continue; `exceptFlowId` keeps the caller's own.
 */
export async function deleteUserFlows(db: Db, userId: string | null, kind: FlowKind | FlowKind[], exceptFlowId: string | null = null): Promise<void> {
  await db`delete from flows where user_id = ${userId} and kind in ${db([kind].flat())} and id is distinct from ${exceptFlowId}`;
}

/** The newest state and data of a user's flows of a kind (expired ones included), leaving out `except` states. */
export async function latestUserFlow(db: Db, userId: string, kind: FlowKind, exceptState: string): Promise<{ state: string; data: Record<string, unknown> } | null> {
  const [row] = await db<{ state: string; data: Record<string, unknown> }[]>`
    select state, data from flows
    where user_id = ${userId} and kind = ${kind} and state <> ${exceptState}
    order by updated_at desc limit 1`;
  return row ?? null;
}

/** The user a flow cookie names, even when that flow expired or failed (Reset on the Registration error page). */
export async function flowHolder(db: Db, token: string | undefined, kind: FlowKind): Promise<string | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const [row] = await db<{ userId: string | null; secretHash: Uint8Array }[]>`
    select user_id as "userId", secret_hash as "secretHash" from flows where id = ${parts.id} and kind = ${kind}`;
  if (!row || !row.userId || !secretMatches(parts.secret, row.secretHash)) return null;
  return row.userId;
}
