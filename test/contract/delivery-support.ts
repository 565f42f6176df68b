/**
 * Shared by the delivery tests: a stub HTTP server on 127.0.0.1 that records every request and
 * answers as told, a voice code to call about, and a clock for outboxes that must only see the
 * rows their own test file writes.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { Sql } from "../../src/db/client.ts";
import type { Clock } from "../../src/clock.ts";
import { createManualClock, MINUTE, type ManualClock } from "../../src/clock.ts";
import { createFlow } from "../../src/flows/flow-store.ts";
import { createCode } from "../../src/auth/codes.ts";

export interface StubRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StubReply {
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
}

export interface Stub {
  url: string;
  requests: StubRequest[];
  /** The next replies, in order; when none is left, `fallback` answers. */
  replies: StubReply[];
  fallback: (request: StubRequest) => StubReply;
  close(): Promise<void>;
}

export async function startStub(fallback: (request: StubRequest) => StubReply): Promise<Stub> {
  const stub: Stub = {
    url: "",
    requests: [],
    replies: [],
    fallback,
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: StubRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      stub.requests.push(request);
      const reply = stub.replies.shift() ?? stub.fallback(request);
      const body = reply.json === undefined ? "" : JSON.stringify(reply.json);
      res.writeHead(reply.status, { "content-type": "application/json", ...(reply.headers ?? {}) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

/** A voice code bound to a fresh flow, as the registration and sign-in flows make one before a call. */
export async function createVoiceCode(sql: Sql, clock: Clock, secretKey: string, phone = "+14155550123"): Promise<{ codeId: string; code: string; flowId: string }> {
  const { flow } = await createFlow(sql, clock, { kind: "login", userId: null, state: "phone_call", ttlMs: 30 * MINUTE });
  const { id, code } = await createCode(sql, clock, secretKey, {
    flowId: flow.id,
    userId: null,
    purpose: "login_phone",
    channel: "voice",
    destination: phone,
    ttlMs: 5 * MINUTE,
  });
  return { codeId: id, code, flowId: flow.id };
}

/**
 * A clock in 2001. Rows this outbox writes are due for it at once, while rows that other test
 * files queued (stamped with today's time) are not yet due: its passes never take those, so
 * no stub sees another file's messages and no other file loses one to a stub.
 */
export function isolatedClock(): ManualClock {
  return createManualClock(new Date("2001-02-03T04:05:06Z"));
}
