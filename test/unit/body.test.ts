/**
 * limitBody(): the posted body read once and bounded. On the real @hono/node-server it is read
 * from Node's request (no web Request built); a form, the raw Request's body (as the OIDC routes
 * read it) and a chunked body all arrive whole, and a body over the limit, declared or counted,
 * gets the refusal. Through app.request() (no Node request, as on Deno) hono/body-limit does it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { limitBody } from "../../src/web/body.ts";

const LIMIT = 1024;

function buildApp() {
  const app = new Hono();
  app.use(limitBody(LIMIT, (c) => c.text("too large", 413)));
  app.post("/form", async (c) => {
    const form = await c.req.parseBody({ all: true });
    return c.json({ form });
  });
  app.post("/raw", async (c) => c.text(new TextDecoder().decode(await c.req.raw.arrayBuffer())));
  app.post("/text", async (c) => c.text(await c.req.text()));
  // Which reader ran: the Node one leaves the bytes on Node's request.
  app.post("/reader", (c) => c.text((c.env as { incoming?: { rawBody?: Buffer } } | undefined)?.incoming?.rawBody ? "node" : "standard"));
  return app;
}

async function withServer(run: (port: number) => Promise<void>) {
  const app = buildApp();
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    await run((server.address() as AddressInfo).port);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

function post(port: number, path: string, body: string | string[], headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const chunked = Array.isArray(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...(chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(Buffer.byteLength(body)) }), ...headers },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on("error", (error) => ((error as { code?: string }).code === "ECONNRESET" || (error as { code?: string }).code === "EPIPE" ? undefined : reject(error)));
    for (const part of chunked ? body : [body]) req.write(part);
    req.end();
  });
}

test("on Node: a form arrives whole, a field sent twice stays two values", async () => {
  await withServer(async (port) => {
    assert.is((await post(port, "/reader", "a=1")).text, "node");
    const res = await post(port, "/form", "email=a%40example.org&password=p%26w&x=1&x=2");
    assert.is(res.status, 200);
    assert.equal(JSON.parse(res.text).form, { email: "a@example.org", password: "p&w", x: ["1", "2"] });
  });
});

test("on Node: the raw Request's body and the text are the bytes posted", async () => {
  await withServer(async (port) => {
    const body = "grant_type=authorization_code&code=abc%20def&redirect_uri=https%3A%2F%2Fapp.example.org%2Fcb";
    assert.is((await post(port, "/raw", body)).text, body);
    assert.is((await post(port, "/text", "ünïcode=✓")).text, "ünïcode=✓");
  });
});

test("on Node: a chunked body under the limit arrives whole; over it, in either form, is refused", async () => {
  await withServer(async (port) => {
    const parts = ["a=", "1".repeat(300), "&b=", "2".repeat(300)];
    const whole = await post(port, "/form", parts);
    assert.is(whole.status, 200);
    assert.equal(JSON.parse(whole.text).form, { a: "1".repeat(300), b: "2".repeat(300) });
    const declared = await post(port, "/form", "a=" + "x".repeat(LIMIT));
    assert.is(declared.status, 413);
    assert.is(declared.text, "too large");
    const counted = await post(port, "/form", ["a=", "x".repeat(600), "y".repeat(600)]);
    assert.is(counted.status, 413);
  });
});

test("without a Node request (app.request, Deno): hono/body-limit reads and bounds the body", async () => {
  const app = buildApp();
  const ok = await app.request("/form", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=1&b=2" });
  assert.is(ok.status, 200);
  assert.equal((await ok.json()).form, { a: "1", b: "2" });
  const big = await app.request("/form", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=" + "x".repeat(LIMIT) });
  assert.is(big.status, 413);
  const reader = await app.request("/reader", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=1" });
  assert.is(await reader.text(), "standard");
});

test.run();
