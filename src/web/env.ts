import type { Config } from "../config.ts";
import type { Clock } from "../clock.ts";
import type { Sql } from "../db/client.ts";
import type { Session } from "../auth/sessions.ts";
import type { User } from "../auth/users.ts";
import type { Assets } from "./assets.ts";
import type { Outbox } from "../delivery/outbox.ts";
import type { Logger } from "../log.ts";
import type { BackchannelLogouts } from "../apps/backchannel.ts";

/** Everything the app needs from outside, handed to createApp so tests can swap each piece. */
export interface AppDeps {
  config: Config;
  sql: Sql;
  clock: Clock;
  outbox: Outbox;
  assets: Assets;
  log: Logger;
  /** Sends owed back-channel logout tokens; createApp makes one when none is given (tests pass theirs to drain it). */
  backchannelLogouts?: BackchannelLogouts;
  /** The socket's peer address for a request (runtime-specific); undefined under app.request(). */
  remoteAddress?: (request: Request, env: unknown) => string | undefined;
}

export interface AppEnv {
  Variables: {
    user: User | null;
    session: Session | null;
    /** Client address per TRUST_PROXY, and the user agent: for rate limits and the audit log. */
    ip: string;
    userAgent: string;
    /** The signed-in user administers an organization (not the portal): they get the Administration link. */
    administers?: boolean;
    /** The app itself, for answering an htmx step with the next step's page in place of a redirect (steps.tsx, nextInPlace). */
    dispatch?: (request: Request, env: unknown) => Response | Promise<Response>;
  };
}
