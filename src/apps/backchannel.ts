import type Provider from "oidc-provider";
import type { Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { appendAudit } from "../auth/audit.ts";
import { claimOwedLogouts } from "./application-sessions.ts";
import { deliverLogoutToken } from "./provider.ts";

/**
 * Back-channel logout (OpenID Connect Back-Channel Logout 1.0, product.md §5): sends the logout
 * tokens endApplicationSessions and the provider's end-session endpoint owe, after the request
 * that ended the sessions has answered. Clients are told at once and in parallel, each with a
 * short timeout; one that fails is logged and audited (application.backchannel_logout_failed)
 * and not retried: its refresh tokens are already revoked, so it learns at its next refresh.
 */
export interface BackchannelLogouts {
  /** The provider whose keys sign the tokens (the web layer's, rebuilt when keys rotate). */
  useProvider(get: () => Promise<Provider>): void;
  /** Send what is owed now, in the background. Never throws, never waits. */
  kick(): void;
  /** Resolves when the sends started so far have finished (tests, shutdown). */
  drain(): Promise<void>;
}

export interface BackchannelOptions {
  sql: Sql;
  clock: Clock;
  log: Logger;
}

export function createBackchannelLogouts(options: BackchannelOptions): BackchannelLogouts {
  const { sql, clock, log } = options;
  let getProvider: (() => Promise<Provider>) | null = null;
  let running: Promise<void> | null = null;
  let again = false;

  async function sendOwed(): Promise<void> {
    for (;;) {
      const owed = await claimOwedLogouts(sql);
      if (!owed.length) return;
      const provider = await getProvider!();
      await Promise.all(
        owed.map(async (logout) => {
          const result = await deliverLogoutToken(provider, logout.clientId, logout.accountId, logout.sid);
          if (result.sent) {
            log.info("backchannel_logout_sent", { client_id: logout.clientId });
          } else if (result.reason === "failed") {
            log.error("backchannel_logout_failed", { client_id: logout.clientId, error: result.error });
            await appendAudit(sql, clock, {
              event: "application.backchannel_logout_failed",
              userId: logout.accountId,
              detail: { client_id: logout.clientId, uri: result.uri, error: result.error },
            }).catch((error: Error) => log.error("backchannel_audit_failed", { message: error.message }));
          }
          // no_client / no_uri: the application was removed or its URI cleared since; nothing to tell.
        }),
      );
    }
  }

  function kick(): void {
    if (!getProvider) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await sendOwed();
        } catch (error) {
          log.error("backchannel_logout_error", { name: (error as Error).name, message: (error as Error).message });
        }
      } while (again);
    })().finally(() => {
      running = null;
    });
  }

  return {
    useProvider(get) {
      getProvider = get;
    },
    kick,
    async drain() {
      while (running) await running;
    },
  };
}
