/** Shared set-up for the auth unit tests: the run's database, users and flows to hang codes on. */
import { getTestDatabase, uniqueEmail } from "../../support/harness.ts";
import { createManualClock, HOUR, type ManualClock } from "../../../src/clock.ts";
import { createFlow, type FlowKind } from "../../../src/flows/flow-store.ts";
import { normalizeEmail } from "../../../src/auth/users.ts";
import type { Sql } from "../../../src/db/client.ts";

export const SECRET_KEY = "unit-test-secret-key-unit-test-secret-key";

export async function database(): Promise<Sql> {
  return (await getTestDatabase()).sql;
}

export function clockAt(iso = "2026-03-02T10:00:00Z"): ManualClock {
  return createManualClock(new Date(iso));
}

export async function createUser(sql: Sql, status: "invited" | "active" | "disabled" = "active"): Promise<{ id: string; email: string }> {
  const email = uniqueEmail("auth");
  const [row] = await sql<{ id: string }[]>`
    insert into users (email, email_normalized, status) values (${email}, ${normalizeEmail(email)}, ${status}) returning id`;
  return { id: row!.id, email };
}

export async function createTestFlow(sql: Sql, clock: ManualClock, userId: string | null, kind: FlowKind = "login") {
  return createFlow(sql, clock, { kind, userId, state: "start", ttlMs: 4 * HOUR });
}

/** A unique key suffix so rate-limit buckets of different tests never meet in the shared database. */
let counter = 0;
export function uniqueKey(prefix: string): string {
  counter += 1;
  return `${prefix}:${process.pid}:${Date.now().toString(36)}:${counter}`;
}
