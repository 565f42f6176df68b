import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { MINUTE } from "../clock.ts";
import type { CodeFailure } from "./codes.ts";

/**
 * Account lockout (NIST 800-63B 3.2.2, ASVS 6.3.1): LOCKOUT_THRESHOLD consecutive failures,
 * passwords and codes counted together, lock the account for LOCKOUT_MS. The counter restarts
 * when the lock is set, so after it lifts another full run of failures is needed to lock again.
 */
export const LOCKOUT_THRESHOLD = 10;
export const LOCKOUT_MS = 15 * MINUTE;

/**
 * What counts toward the lock, decided once for every flow and factor: a guess that was compared
 * and was wrong. A code that could not be tried at all (expired, used up, none live) compared
 * nothing, so it tells an attacker nothing and counts nothing; the code's own MAX_CODE_ATTEMPTS
 * bounds the guesses on each code. A wrong password counts (login.ts), as a wrong code does.
 */
export function countsTowardLockout(reason: CodeFailure): boolean {
  return reason === "wrong";
}

export function isLocked(user: { lockedUntil: Date | null }, clock: Clock): boolean {
  return user.lockedUntil !== null && user.lockedUntil.getTime() > clock.now().getTime();
}

/** Counts one failure in a single UPDATE (parallel failures all count). Failures while locked neither count nor extend the lock. */
export async function recordFailure(db: Db, clock: Clock, userId: string): Promise<{ locked: boolean }> {
  const now = clock.now();
  const lockUntil = new Date(now.getTime() + LOCKOUT_MS);
  const [row] = await db<{ lockedUntil: Date | null }[]>`
    update users set
      failed_attempts = case
        when locked_until > ${now} then failed_attempts
        when failed_attempts + 1 >= ${LOCKOUT_THRESHOLD} then 0
        else failed_attempts + 1 end,
      locked_until = case
        when locked_until > ${now} then locked_until
        when failed_attempts + 1 >= ${LOCKOUT_THRESHOLD} then ${lockUntil}
        else locked_until end
    where id = ${userId}
    returning locked_until as "lockedUntil"`;
  return { locked: !!row?.lockedUntil && row.lockedUntil.getTime() > now.getTime() };
}

/** A passed check restarts the count. It does not lift a running lock (unlockUser does). */
export async function recordSuccess(db: Db, userId: string): Promise<void> {
  await db`update users set failed_attempts = 0 where id = ${userId} and failed_attempts <> 0`;
}

/** An administrator's unlock, or a completed password reset. */
export async function unlockUser(db: Db, userId: string): Promise<void> {
  await db`update users set failed_attempts = 0, locked_until = null where id = ${userId}`;
}
