import type { Db } from "../../db/client.ts";
import { recoveryCodeUsedNotice } from "../../delivery/messages.ts";
import { MAX_CODE_ATTEMPTS } from "../../auth/codes.ts";
import { countsTowardLockout, recordFailure, recordSuccess } from "../../auth/lockout.ts";
import { countRecoveryCodesLeft, replaceRecoveryCodes, useRecoveryCode } from "../../auth/recovery-codes.ts";
import { openSecret, sealSecret } from "../../auth/secret-box.ts";
import { countFlowFailure, type Flow } from "../flow-store.ts";
import { audit, type FlowDeps, type RequestMeta } from "../steps.ts";
import { refuseBeforeCompare, type CheckInput, type CheckOutcome, type FactorModule, type StartOutcome } from "./code.ts";

/**
 * Recovery codes: ten look-up secrets issued when the first authenticator app or passkey is
 * added (and again by Generate new recovery codes), each standing in once for the second factor
 * through **Use a recovery code** on every second-factor step. The database keeps only their
 * HMACs (auth/recovery-codes.ts); until the person ticks "I have saved my recovery codes" the
 * flow keeps them sealed under SECRET_KEY so the page can be shown again (and a no-JavaScript
 * reload works), then forgets them. Each use emails a notice. Wrong codes count as other codes do.
 */
const SEAL_PURPOSE = "recovery_codes";
const FAILURES = "recoveryFailures";

export interface RecoveryStartInput {
  flow: Flow;
  userId: string;
  /** The flow's guarded move, in the same transaction, given the codes sealed for the flow's data. */
  move(tx: Db, sealedCodes: string): Promise<Flow | null>;
}

/** A new set (the old codes die) and the flow's move, in `db` (the step's transaction) when given. */
async function startRecoveryCodes(deps: FlowDeps, meta: RequestMeta, input: RecoveryStartInput, db?: Db): Promise<StartOutcome> {
  const run = async (tx: Db) => {
    const codes = await replaceRecoveryCodes(tx, deps.clock, deps.config.secretKey, input.userId);
    const moved = await input.move(tx, sealCodes(deps.config.secretKey, codes));
    if (!moved) throw new NotMoved();
    await audit(deps, meta, "recovery_codes.issued", input.userId, { count: codes.length }, tx);
    return moved;
  };
  try {
    const flow = db ? await run(db) : await deps.sql.begin(run);
    return { kind: "sent", flow };
  } catch (error) {
    if (error instanceof NotMoved && !db) return { kind: "moved" };
    throw error;
  }
}

class NotMoved extends Error {}

function sealCodes(secretKey: string, codes: string[]): string {
  return Buffer.from(sealSecret(secretKey, SEAL_PURPOSE, new TextEncoder().encode(JSON.stringify(codes)))).toString("base64");
}

/** The codes a flow holds to show (until the person said they saved them). */
export function shownRecoveryCodes(secretKey: string, sealed: string | undefined | null): string[] {
  if (!sealed) return [];
  const opened = openSecret(secretKey, SEAL_PURPOSE, new Uint8Array(Buffer.from(sealed, "base64")));
  return opened ? (JSON.parse(new TextDecoder().decode(opened)) as string[]) : [];
}

/** Checks a typed recovery code: limits and lock as for any code, then the code used up (once); a notice goes out. */
async function checkRecoveryCode(deps: FlowDeps, meta: RequestMeta, input: CheckInput & { code: string }, db: Db = deps.sql): Promise<CheckOutcome> {
  const { user, purpose } = input;
  const what = { purpose, channel: "recovery_code" };
  const refused = await refuseBeforeCompare(deps, meta, input, what.channel, db);
  if (refused) return refused;
  if (((input.flow.data[FAILURES] as number | undefined) ?? 0) >= MAX_CODE_ATTEMPTS) {
    await audit(deps, meta, "code.failed", user.id, { ...what, reason: "exhausted" }, db);
    return { kind: "failed", reason: "exhausted", locked: false };
  }
  if (await useRecoveryCode(db, deps.clock, deps.config.secretKey, user.id, input.code)) {
    await recordSuccess(db, user.id);
    const left = await countRecoveryCodesLeft(db, user.id);
    await deps.outbox.enqueue(db, { channel: "email", to: user.email, ...recoveryCodeUsedNotice(deps.config.portalName, left) });
    await audit(deps, meta, "recovery_code.used", user.id, { purpose, left }, db);
    deps.outbox.kick();
    return { kind: "passed", destination: user.email };
  }
  // A used code is indistinguishable from a wrong one here (only hashes are kept), so both count.
  await audit(deps, meta, "code.failed", user.id, { ...what, reason: "wrong" }, db);
  let locked = false;
  if (countsTowardLockout("wrong")) {
    await countFlowFailure(db, input.flow.id, FAILURES);
    locked = (await recordFailure(db, deps.clock, user.id)).locked;
    if (locked) await audit(deps, meta, "signin.locked", user.id, { purpose }, db);
  }
  return { kind: "failed", reason: "wrong", locked };
}

/**
 * What the page and the audit say of this factor. RFC 8176 has no value for a look-up secret:
 * a recovery code proves only that a second factor passed ("mfa").
 */
function describeRecoveryCode(): { kind: "recovery_code"; label: string; shown: string; amr: "mfa" } {
  return { kind: "recovery_code", label: "Recovery code", shown: "a recovery code", amr: "mfa" };
}

export const recoveryCode = {
  start: startRecoveryCodes,
  check: checkRecoveryCode,
  describe: describeRecoveryCode,
} satisfies FactorModule<RecoveryStartInput, CheckInput & { code: string }, []>;
