/**
 * HTTP refusals on a real socket (issue 18): after a 413, 400, 403 or 429 the connection is
 * either still usable for the next request or was announced closed (Connection: close) and
 * closed: never left half-read, where the next request on it would be taken for the rest of the
 * refused body or hang. Against the compiled server on the embedded database, over raw TCP.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compiledArgs } from "../support/compiled.ts";
import { freePort } from "./support/net.ts";
import { BODY_LIMIT } from "../../src/app.tsx";

const root = resolve(import.meta.dirname, "../..");
let child: ChildProcess;
let port: number;
let dataDir: string;
let output = "";

test.before(async () => {
  port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), "mfa-portal-conn-"));
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    LOG_REQUESTS: "0",
    NODE_ENV: "development",
    // Low enough to reach a 429 in a few requests.
    SIGNIN_START_LIMIT: "2/1m",
  };
  delete env.DATABASE_URL;
  delete env.TEST_DATABASE_URL;
  child = spawn(process.execPath, compiledArgs("src/main.ts"), { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const started = Date.now();
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() - started > 60_000 || child.exitCode !== null) throw new Error(`the app did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

test.after(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One keep-alive TCP connection that sends raw requests and reads responses one at a time. */
class Connection {
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  private socket: Socket;

  constructor() {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on("error", () => {});
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async more(deadline: number): Promise<boolean> {
    if (this.closed) return false;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise<void>((done) => {
      const timer = setTimeout(done, left);
      this.waiters.push(() => {
        clearTimeout(timer);
        done();
      });
    });
    return true;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((done) => {
      if (this.closed || this.socket.destroyed) return done();
      this.socket.write(data, () => done());
    });
  }

  /** The next response, or null when the connection closed (or nothing whole came within `ms`). */
  async read(ms = 5000): Promise<RawResponse | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const parsed = parseResponse(this.buffer);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.used);
        return parsed.response;
      }
      if (!(await this.more(deadline))) return null;
    }
  }

  /** Resolves true when the server closed the connection within `ms`. */
  async closedWithin(ms = 3000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed) if (!(await this.more(deadline))) break;
    return this.closed;
  }

  destroy() {
    this.socket.destroy();
  }
}

/** One whole response at the start of `buffer` and the bytes it took, or null while incomplete. */
function parseResponse(buffer: Buffer): { response: RawResponse; used: number } | null {
  const end = buffer.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const head = buffer.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(head[0]!.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let offset = end + 4;
  if (headers["transfer-encoding"] !== "chunked") {
    const length = Number(headers["content-length"] ?? 0);
    if (buffer.length < offset + length) return null;
    return { response: { status, headers, body: buffer.subarray(offset, offset + length).toString("utf8") }, used: offset + length };
  }
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = buffer.indexOf("\r\n", offset);
    if (lineEnd < 0) return null;
    const size = parseInt(buffer.subarray(offset, lineEnd).toString("latin1"), 16);
    if (buffer.length < lineEnd + 2 + size + 2) return null;
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
    if (size === 0) return { response: { status, headers, body: Buffer.concat(parts).toString("utf8") }, used: offset };
  }
}

const host = () => `Host: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\nAccept-Encoding: identity\r\n`;
const healthz = () => `GET /healthz HTTP/1.1\r\n${host()}\r\n`;

/**
 * After a refusal: either the connection answers the next request (and that answer is the
 * health check's, not a misread of leftover body), or the refusal said Connection: close and
 * the server closed it.
 */
async function assertSane(connection: Connection, refusal: RawResponse, what: string): Promise<"reused" | "closed"> {
  if ((refusal.headers.connection ?? "").toLowerCase() === "close") {
    assert.ok(await connection.closedWithin(), `${what}: announced close, and closed`);
    if (process.env.SHOW_CONNECTIONS) console.log(`  ${what}: announced close, closed`);
    return "closed";
  }
  assert.not.ok(connection.closed, `${what}: closed without announcing it`);
  await connection.write(healthz());
  const next = await connection.read();
  assert.ok(next, `${what}: the next request on the connection got no answer`);
  assert.is(next!.status, 200, `${what}: the next request is answered as itself`);
  assert.is(next!.body, "ok", `${what}: and it is the health check's answer`);
  if (process.env.SHOW_CONNECTIONS) console.log(`  ${what}: connection reused`);
  return "reused";
}

test("413: a declared body over the limit is refused before it is read, and the connection is closed or reusable", async () => {
  const connection = new Connection();
  const size = BODY_LIMIT * 4;
  await connection.write(`POST /login HTTP/1.1\r\n${host()}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${size}\r\n\r\n`);
  await connection.write("option=email&x=" + "a".repeat(size - 15));
  const refusal = await connection.read();
  assert.ok(refusal, "an answer to the oversized body");
  assert.is(refusal!.status, 413);
  await assertSane(connection, refusal!, "413 with Content-Length");
  connection.destroy();
});

test("413: a chunked body that grows past the limit", async () => {
  const connection = new Connection();
  await connection.write(`POST /login HTTP/1.1\r\n${host()}Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const chunk = "a".repeat(16 * 1024);
  let refusal: RawResponse | null = null;
  for (let i = 0; i < 8; i++) await connection.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  await connection.write("0\r\n\r\n");
  refusal = await connection.read();
  assert.ok(refusal, "an answer to the oversized chunked body");
  assert.is(refusal!.status, 413);
  await assertSane(connection, refusal!, "413 chunked");
  connection.destroy();
});

test("403 (a foreign Origin), 400 (a form the portal cannot read) and 429 (too many presses) keep the connection usable", async () => {
  const connection = new Connection();
  const form = (body: string, origin = `http://127.0.0.1:${port}`) =>
    `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${origin}\r\nAccept-Encoding: identity\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  await connection.write(form("option=email", "https://evil.example"));
  const forbidden = await connection.read();
  assert.is(forbidden?.status, 403);
  const after403 = await assertSane(connection, forbidden!, "403");

  const second = after403 === "reused" ? connection : new Connection();
  await second.write(form("option=%zz%00"));
  const bad = await second.read();
  assert.ok(bad && bad.status >= 400 && bad.status < 500, `a 4xx for an unreadable form (got ${bad?.status})`);
  const after400 = await assertSane(second, bad!, String(bad!.status));

  const third = after400 === "reused" ? second : new Connection();
  let limited: RawResponse | null = null;
  for (let i = 0; i < 5 && !limited; i++) {
    await third.write(form("option=email"));
    const answer = await third.read();
    assert.ok(answer, `press ${i + 1} answered`);
    if (answer!.status === 429) limited = answer;
  }
  assert.ok(limited, "SIGNIN_START_LIMIT=2/1m: a 429 within 5 presses");
  assert.ok(Number(limited!.headers["retry-after"]) >= 1, "with Retry-After");
  await assertSane(third, limited!, "429");
  for (const c of new Set([connection, second, third])) c.destroy();
});

test("a malformed request line gets Node's 400 with Connection: close, and the connection closes", async () => {
  const connection = new Connection();
  await connection.write("GARBAGE\r\n\r\n");
  const refusal = await connection.read();
  assert.is(refusal?.status, 400);
  assert.is(await assertSane(connection, refusal!, "malformed request"), "closed");
  connection.destroy();
});

test.run();
