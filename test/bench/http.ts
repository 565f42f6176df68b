/**
 * The bench's HTTP client: single requests for driving flows, a closed-loop load generator
 * bounded in count and time, and a wire-byte counter for page weight. Loopback only: every
 * request goes to 127.0.0.1. Requests go through undici's dispatcher with keep-alive
 * connections: the load generator shares the two cores with what it measures, and undici's
 * `dispatch` costs it about half of node:http's CPU per request (0.10 against 0.24 ms for a
 * small answer, 0.21 against 0.36 for the sign-in page), taken from both servers alike. The
 * wire-byte counter stays on node:http, whose socket counts the bytes received.
 */
import http from "node:http";
import { Agent } from "undici";

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

export interface Target {
  port: number;
  method?: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Keep-alive connections to each server, at most `sockets` at once per server. */
export type HttpAgent = Agent;

export function keepAliveAgent(sockets: number): HttpAgent {
  return new Agent({ connections: sockets, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
}

/** One request; the body is read whole (still compressed if the server compressed it). `false`: on a connection of its own. */
export async function send(agent: HttpAgent | false, target: Target): Promise<Reply> {
  if (agent === false) {
    const own = keepAliveAgent(1);
    try {
      return await send(own, target);
    } finally {
      await own.close();
    }
  }
  const started = performance.now();
  const headers: Record<string, string> = { ...target.headers };
  if (target.body !== undefined) headers["content-type"] ??= "application/x-www-form-urlencoded";
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let replyHeaders: http.IncomingHttpHeaders = {};
    agent.dispatch(
      { origin: `http://127.0.0.1:${target.port}`, method: target.method ?? "GET", path: target.path, headers, body: target.body },
      {
        // Its presence tells undici this is a handler of its current (controller) interface.
        onRequestStart() {},
        onResponseStart(_controller, statusCode, received) {
          status = statusCode;
          // As node:http gives them: Set-Cookie always a list.
          const cookies = received["set-cookie"];
          replyHeaders = { ...received, "set-cookie": cookies === undefined ? undefined : ([] as string[]).concat(cookies) } as http.IncomingHttpHeaders;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          resolve({ status, headers: replyHeaders, body: Buffer.concat(chunks), ms: performance.now() - started });
        },
        onResponseError(_controller, error) {
          reject(error);
        },
      },
    );
  });
}

/** Bytes received on a fresh connection for one request: status line, headers, chunk framing and body, as sent. */
export function wireBytes(target: Target): Promise<{ status: number; bytes: number; bodyBytes: number; encoding: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: target.port, method: target.method ?? "GET", path: target.path, headers: { ...target.headers, connection: "close" }, agent: false },
      (res) => {
        let bodyBytes = 0;
        res.on("data", (chunk: Buffer) => (bodyBytes += chunk.length));
        res.on("end", () => {
          const socket = res.socket;
          const done = () =>
            resolve({ status: res.statusCode ?? 0, bytes: socket.bytesRead, bodyBytes, encoding: res.headers["content-encoding"] });
          if (socket.destroyed) done();
          else socket.once("close", done);
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** Replies whose status was not the expected one (counted, not in `requests`). */
  unexpected: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Client (this process) CPU seconds spent while generating the load. */
  clientCpuSeconds: number;
  firstFailure?: string;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * Closed loop: `connections` workers, each sending its next request as soon as the last answer
 * is read. Stops at `maxRequests` or `maxMs`, whichever comes first. `next(i)` builds request i;
 * `check` says whether a reply counts (an error page must not count as throughput).
 */
export async function runLoad(options: {
  connections: number;
  maxRequests: number;
  maxMs: number;
  next: (i: number) => Target | Promise<Target>;
  check?: (reply: Reply) => boolean;
  warmup?: number;
  /** When given, every counted latency (ms) is appended here, to merge percentiles over rounds. */
  keepLatencies?: number[];
}): Promise<LoadResult> {
  const agent = keepAliveAgent(options.connections);
  const check = options.check ?? ((r) => r.status === 200);
  // Warm-up: open the connections and let the JIT settle; not counted.
  const warm = options.warmup ?? options.connections * 20;
  let wi = 0;
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (wi < warm) {
        const i = wi++;
        try {
          await send(agent, await options.next(-1 - i));
        } catch {
          /* counted in the measured part if it persists */
        }
      }
    }),
  );
  const latencies = new Float64Array(options.maxRequests);
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let unexpected = 0;
  let firstFailure: string | undefined;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const deadline = started + options.maxMs;
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (issued < options.maxRequests && performance.now() < deadline) {
        const i = issued++;
        try {
          const reply = await send(agent, await options.next(i));
          if (check(reply)) latencies[ok++] = reply.ms;
          else {
            unexpected++;
            firstFailure ??= `status ${reply.status}${reply.headers.location ? ` → ${reply.headers.location}` : ""} (${reply.headers["content-type"] ?? "no type"})`;
          }
        } catch (error) {
          errors++;
          firstFailure ??= String(error);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await agent.close();
  const sorted = latencies.subarray(0, ok).sort();
  if (options.keepLatencies) for (const ms of sorted) options.keepLatencies.push(ms);
  return {
    requests: ok,
    errors,
    unexpected,
    seconds,
    perSecond: ok / seconds,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    firstFailure,
  };
}

/** Minimal cookie jar: name=value pairs from Set-Cookie, sent back as one Cookie header. */
export class CookieJar {
  private cookies = new Map<string, string>();
  take(headers: http.IncomingHttpHeaders): void {
    for (const line of headers["set-cookie"] ?? []) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = /max-age=0\b/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line);
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}
