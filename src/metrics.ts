import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type * as PromClient from "prom-client";
import type { Clock } from "./clock.ts";
import type { Sql } from "./db/client.ts";

/**
 * Prometheus metrics (prom-client), served on 127.0.0.1:METRICS_PORT only, never on the public
 * port. Counts only: every label value comes from a fixed list or from an event name the code
 * chose; no address, email, phone number or token ever becomes a label.
 *
 * prom-client is loaded, and the counters made, only when metrics are switched on (the first
 * startMetricsServer or metricsRegistry call): a process without METRICS_PORT counts nothing and
 * does not carry the package (a few MB).
 */
export const METRIC_PREFIX = "mfa_portal_";
const PREFIX = METRIC_PREFIX;

type Counter = PromClient.Counter<string>;
interface Metrics {
  prom: typeof PromClient;
  registry: PromClient.Registry;
  auditEvents: Counter;
  signIns: Counter;
  registrations: Counter;
  codes: Counter;
  lockouts: Counter;
  deliveries: Counter;
}
let metrics: Metrics | null = null;

/** The registry, switching metrics on at the first call. */
export function metricsRegistry(): PromClient.Registry {
  return switchOn().registry;
}

function switchOn(): Metrics {
  if (metrics) return metrics;
  const prom = createRequire(import.meta.url)("prom-client") as typeof PromClient;
  const registry = new prom.Registry();
  const counter = (name: string, help: string, labelNames: string[]) => new prom.Counter({ name: `${PREFIX}${name}`, help, labelNames, registers: [registry] });
  metrics = {
    prom,
    registry,
    auditEvents: counter("audit_events_total", "Audit log entries written, by event name", ["event"]),
    signIns: counter(
      "signin_events_total",
      "Sign-in steps by method (the Login with Email / Phone option, or the factor) and outcome (success, password_failed, locked, rate_limited, …)",
      ["method", "outcome"],
    ),
    registrations: counter("registration_events_total", "Registration steps by method and outcome (method_chosen, email_verified, password_created, phone_verified, …)", ["method", "outcome"]),
    codes: counter(
      "codes_total",
      "One-time codes and calls by channel and result: sent, send_limited (refused by a send limit), failed (a wrong, expired or used code entered)",
      ["channel", "result"],
    ),
    lockouts: counter("lockouts_total", "Accounts locked after too many failed attempts, by where it happened", ["during"]),
    deliveries: counter("delivery_attempts_total", "Outbox send attempts by provider, channel and result (sent, retry, failed = given up)", ["provider", "channel", "result"]),
  };
  return metrics;
}

const METHODS = new Set(["email", "phone", "sms", "voice", "passkey", "totp", "authenticator", "recovery", "recovery_code", "oidc", "staff", "remember_me"]);
const CHANNELS = new Set(["email", "sms", "voice"]);
const PLACES = new Set(["signin", "login", "registration", "resume", "password_reset", "code"]);
const NAME = /^[a-z][a-z0-9_.]{0,63}$/;

function pick(set: Set<string>, ...values: unknown[]): string {
  for (const value of values) if (typeof value === "string" && set.has(value)) return value;
  return "unknown";
}

/**
 * Called by appendAudit for every audit entry: the one place every flow already reports what
 * happened, so no flow carries metrics calls of its own. Counted when the entry is written; an
 * entry whose transaction later rolls back is still counted (rare: a failure after the audit).
 */
export function countAuditEvent(event: string, detail: Record<string, unknown>): void {
  if (!metrics || !NAME.test(event)) return; // event names are code constants; anything else is a bug, not a label
  const { auditEvents, signIns, registrations, codes, lockouts } = metrics;
  auditEvents.inc({ event });
  const [area, outcome = "unknown"] = splitEvent(event);
  const method = pick(METHODS, detail.method, detail.option, detail.factor, detail.channel);
  if (area === "signin") signIns.inc({ method, outcome });
  if (area === "registration") {
    registrations.inc({ method, outcome });
    const channel = { email_code_sent: "email", phone_code_sent: "sms", call_started: "voice" }[outcome];
    if (channel) codes.inc({ channel, result: "sent" });
  }
  if (area === "code") {
    const result = outcome === "sent" || outcome === "send_limited" || outcome === "failed" ? outcome : "other";
    codes.inc({ channel: pick(CHANNELS, detail.channel), result });
  }
  if (event === "account.locked" || event === "signin.locked") lockouts.inc({ during: event === "signin.locked" ? "signin" : pick(PLACES, detail.during) });
}

function splitEvent(event: string): [string, string] {
  const dot = event.indexOf(".");
  return dot < 0 ? [event, "unknown"] : [event.slice(0, dot), event.slice(dot + 1).replace(/\./g, "_")];
}

/** Called by the outbox after each send attempt. */
export function countDelivery(provider: string, channel: string, result: "sent" | "retry" | "failed"): void {
  metrics?.deliveries.inc({ provider: NAME.test(provider) ? provider : "other", channel: pick(CHANNELS, channel), result });
}

/** What postgres.js's pool names itself to the server, so the pool gauge can find its own connections. */
export const DB_APPLICATION_NAME = `mfa-portal ${process.pid}`.slice(0, 63);

let defaultsCollected = false;

export interface MetricsServer {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the metrics listener on 127.0.0.1:port and registers the gauges that read the database
 * at scrape time (outbox depth and oldest pending message; the pool's connections).
 */
export async function startMetricsServer(options: { port: number; sql: Sql; clock: Clock; poolSize: number }): Promise<MetricsServer> {
  const { sql, clock } = options;
  const { prom, registry } = switchOn();
  if (!defaultsCollected) {
    prom.collectDefaultMetrics({ register: registry }); // process_* and nodejs_*: memory, CPU, event loop lag, GC
    // Gauges named like counters, which promtool refuses; nodejs_active_handles (by type) and its
    // siblings carry the same numbers.
    for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) registry.removeSingleMetric(name);
    defaultsCollected = true;
  }
  registerDatabaseGauges(prom, registry, sql, clock, options.poolSize);

  const server: Server = createServer((request, response) => {
    if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found: the metrics are at /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: Error) => response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`metrics failed: ${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function registerDatabaseGauges(prom: typeof PromClient, registry: PromClient.Registry, sql: Sql, clock: Clock, poolSize: number): void {
  for (const name of [`${PREFIX}outbox_messages`, `${PREFIX}outbox_oldest_pending_age_seconds`, `${PREFIX}db_pool_connections`, `${PREFIX}db_pool_size`]) {
    registry.removeSingleMetric(name); // a second start in one process (tests) replaces the first's
  }
  let outboxRead: Promise<{ pending: number; sending: number; oldest: Date | null } | null> | null = null;
  // Both outbox gauges come from one query per scrape.
  const readOutbox = () =>
    (outboxRead ??= sql<{ pending: number; sending: number; oldest: Date | null }[]>`
      select count(*) filter (where status = 'pending')::int as pending,
             count(*) filter (where status = 'sending')::int as sending,
             min(created_at) filter (where status = 'pending') as oldest
        from outbox where status in ('pending', 'sending')`
      .then(([row]) => row ?? null, () => null)
      .finally(() => setTimeout(() => (outboxRead = null), 0)));
  new prom.Gauge({
    name: `${PREFIX}outbox_messages`,
    help: "Messages waiting in the outbox, by status (pending = due or waiting for a retry, sending = claimed by an instance)",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const row = await readOutbox();
      if (!row) return;
      this.set({ status: "pending" }, row.pending);
      this.set({ status: "sending" }, row.sending);
    },
  });
  new prom.Gauge({
    name: `${PREFIX}outbox_oldest_pending_age_seconds`,
    help: "Age of the oldest pending outbox message (0 when none is pending)",
    registers: [registry],
    async collect() {
      const row = await readOutbox();
      if (!row) return;
      this.set(row.oldest ? Math.max(0, (clock.now().getTime() - row.oldest.getTime()) / 1000) : 0);
    },
  });
  new prom.Gauge({
    name: `${PREFIX}db_pool_size`,
    help: "Connections the database pool may open",
    registers: [registry],
    collect() {
      this.set(poolSize);
    },
  });
  new prom.Gauge({
    name: `${PREFIX}db_pool_connections`,
    help: "This instance's open database connections by state (active excludes the scrape's own query)",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      const rows = await sql<{ state: string | null; n: number }[]>`
        select state, count(*)::int as n from pg_stat_activity where application_name = ${DB_APPLICATION_NAME} group by state`.catch(() => null);
      if (!rows) return;
      this.reset();
      const counts: Record<string, number> = { active: 0, idle: 0, idle_in_transaction: 0 };
      for (const row of rows) {
        const state = (row.state ?? "other").replace(/ /g, "_");
        counts[state in counts ? state : "other"] = (counts[state in counts ? state : "other"] ?? 0) + row.n;
      }
      counts.active = Math.max(0, counts.active! - 1);
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
}
