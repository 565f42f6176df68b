import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { generateTokenPair, secretMatches, splitToken } from "../auth/tokens.ts";
import type { LoginOption } from "../auth/users.ts";

/**
 * A multi-step flow (Ory Kratos style): a stored row with a kind, an explicit state and an
 * expiry, held by one browser through a cookie token "<id>.<secret>". Every step moves it with
 * a guarded UPDATE (`where state = <expected>`), so a double submit, a second tab or a replayed
 * form finds the row already moved and cannot skip or repeat a step.
 */
export type FlowKind = "registration" | "login" | "password_reset";

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

/** The flow the cookie token names, if it is of this kind and has not expired. */
export async function loadFlow(db: Db, clock: Clock, token: string | undefined, kind: FlowKind): Promise<Flow | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const [row] = await db<(Flow & { secretHash: Uint8Array })[]>`
    select ${FLOW_COLUMNS(db)}, secret_hash as "secretHash" from flows where id = ${parts.id} and kind = ${kind}`;
  if (!row || !secretMatches(parts.secret, row.secretHash)) return null;
  if (row.expiresAt.getTime() <= clock.now().getTime()) return null;
  const { secretHash: _ignored, ...flow } = row;
  return flow;
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

export async function deleteFlow(db: Db, flowId: string): Promise<void> {
  await db`delete from flows where id = ${flowId}`;
}

/** Ends every flow of a kind for a user (a new invitation, a reset), so older browsers cannot continue. */
export async function deleteUserFlows(db: Db, userId: string, kind: FlowKind): Promise<void> {
  await db`delete from flows where user_id = ${userId} and kind = ${kind}`;
}
