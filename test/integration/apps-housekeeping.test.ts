/**
 * purgeApplicationRecords (for src/db/housekeeping.ts): expired provider rows and signing keys
 * retired more than RETIRED_KEY_KEEP_MS ago go; live rows, the active key and recently retired
 * keys stay. On a 1990 clock, so no other test file's rows are reachable.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { getTestDatabase } from "../support/harness.ts";
import { createManualClock, DAY, HOUR } from "../../src/clock.ts";
import { purgeApplicationRecords } from "../../src/apps/application-sessions.ts";
import { RETIRED_KEY_KEEP_MS } from "../../src/apps/keys.ts";

test("expired oidc_models rows and long-retired keys are deleted, nothing else", async () => {
  const { sql } = await getTestDatabase();
  const clock = createManualClock(new Date("1990-06-01T12:00:00Z"));
  const at = (ms: number) => new Date(clock.now().getTime() + ms);
  const tag = `hk-${process.pid}-${Date.now()}`;
  await sql`insert into oidc_models (model, id, payload, expires_at) values
    ('AccessToken', ${tag + "-expired"}, '{}', ${at(-HOUR)}),
    ('AccessToken', ${tag + "-live"}, '{}', ${at(HOUR)}),
    ('Grant', ${tag + "-forever"}, '{}', null)`;
  await sql`insert into oidc_signing_keys (kid, alg, public_jwk, private_jwk_sealed, created_at, retired_at) values
    (${tag + "-old"}, 'RS256', '{}', '\\x00', ${at(-30 * DAY)}, ${at(-RETIRED_KEY_KEEP_MS - HOUR)}),
    (${tag + "-recent"}, 'RS256', '{}', '\\x00', ${at(-30 * DAY)}, ${at(-HOUR)}),
    (${tag + "-active"}, 'RS256', '{}', '\\x00', ${at(-30 * DAY)}, null)`;
  const counts = await purgeApplicationRecords(sql, clock);
  assert.is(counts.oidc_models, 1);
  assert.is(counts.oidc_signing_keys, 1);
  const models = (await sql<{ id: string }[]>`select id from oidc_models where id like ${tag + "%"} order by id`).map((r) => r.id);
  assert.equal(models, [tag + "-forever", tag + "-live"]);
  const keys = (await sql<{ kid: string }[]>`select kid from oidc_signing_keys where kid like ${tag + "%"} order by kid`).map((r) => r.kid);
  assert.equal(keys, [tag + "-active", tag + "-recent"]);
  await sql`delete from oidc_models where id like ${tag + "%"}`;
  await sql`delete from oidc_signing_keys where kid like ${tag + "%"}`;
});

test.run();
