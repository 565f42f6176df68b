/**
 * compressResponses(): pages and JSON compressed in one call (brotli, else gzip), small bodies and
 * precompressed or non-text answers left alone, through app.request() and through the real
 * @hono/node-server (whose held string body the middleware reads without streaming it).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import http from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { compressResponses } from "../../src/web/compress.ts";

const PAGE = "<!doctype html><html><body>" + "<p>Multi-Factor Authentication Help</p>".repeat(80) + "</body></html>";

function buildApp() {
  const app = new Hono();
  app.use(compressResponses());
  app.get("/page", (c) => {
    c.header("Vary", "HX-Request");
    return c.html(PAGE);
  });
  app.get("/small", (c) => c.html("<p>short</p>"));
  app.get("/json", (c) => c.json({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, channel: "email" })) }));
  app.get("/bytes", (c) => c.body(new Uint8Array(4096).fill(120), 200, { "Content-Type": "application/octet-stream" }));
  app.get("/pre", (c) => c.body("already", 200, { "Content-Type": "text/css", "Content-Encoding": "br" }));
  app.get("/stream", (c) =>
    c.body(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(PAGE));
          controller.close();
        },
      }),
      200,
      { "Content-Type": "text/html; charset=UTF-8" },
    ),
  );
  app.get("/redirect", (c) => c.redirect("/page", 303));
  return app;
}

function decode(encoding: string | null, bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes);
  return (encoding === "br" ? brotliDecompressSync(buffer) : encoding === "gzip" ? gunzipSync(buffer) : buffer).toString();
}

test("a page goes out as brotli when accepted, with Vary naming both headers it depends on", async () => {
  const res = await buildApp().request("/page", { headers: { "accept-encoding": "gzip, deflate, br" } });
  assert.is(res.status, 200);
  assert.is(res.headers.get("content-encoding"), "br");
  assert.is(res.headers.get("vary"), "HX-Request, Accept-Encoding");
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.ok(bytes.length < PAGE.length / 5, `compressed to ${bytes.length}`);
  assert.is(decode("br", bytes), PAGE);
});

test("gzip when brotli is not accepted (or refused with q=0); identity without Accept-Encoding", async () => {
  const app = buildApp();
  for (const accept of ["gzip", "br;q=0, gzip"]) {
    const res = await app.request("/page", { headers: { "accept-encoding": accept } });
    assert.is(res.headers.get("content-encoding"), "gzip", accept);
    assert.is(decode("gzip", new Uint8Array(await res.arrayBuffer())), PAGE);
  }
  const plain = await app.request("/page");
  assert.is(plain.headers.get("content-encoding"), null);
  assert.is(plain.headers.get("vary"), "HX-Request, Accept-Encoding");
  assert.is(await plain.text(), PAGE);
});

test("small bodies, binary types, precompressed answers and redirects are left as they are", async () => {
  const app = buildApp();
  const headers = { "accept-encoding": "br, gzip" };
  const small = await app.request("/small", { headers });
  assert.is(small.headers.get("content-encoding"), null);
  assert.is(await small.text(), "<p>short</p>");
  const bytes = await app.request("/bytes", { headers });
  assert.is(bytes.headers.get("content-encoding"), null);
  assert.is((await bytes.arrayBuffer()).byteLength, 4096);
  const pre = await app.request("/pre", { headers });
  assert.is(pre.headers.get("content-encoding"), "br");
  assert.is(await pre.text(), "already");
  const redirect = await app.request("/redirect", { headers });
  assert.is(redirect.status, 303);
  assert.is(redirect.headers.get("content-encoding"), null);
});

test("JSON and streamed bodies are compressed too (read the standard way)", async () => {
  const app = buildApp();
  const json = await app.request("/json", { headers: { "accept-encoding": "br" } });
  assert.is(json.headers.get("content-encoding"), "br");
  assert.is(JSON.parse(decode("br", new Uint8Array(await json.arrayBuffer()))).items.length, 200);
  const stream = await app.request("/stream", { headers: { "accept-encoding": "gzip" } });
  assert.is(stream.headers.get("content-encoding"), "gzip");
  assert.is(decode("gzip", new Uint8Array(await stream.arrayBuffer())), PAGE);
});

test("through @hono/node-server: the held page body is compressed and sent with its length, not chunked", async () => {
  const server = serve({ fetch: buildApp().fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const port = (server.address() as { port: number }).port;
  try {
    for (const accept of ["br", "gzip"]) {
      const reply = await new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port, path: "/page", headers: { "accept-encoding": accept } }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
          })
          .on("error", reject);
      });
      assert.is(reply.headers["content-encoding"], accept);
      assert.is(reply.headers["transfer-encoding"], undefined);
      assert.is(Number(reply.headers["content-length"]), reply.body.length);
      assert.is(reply.headers.vary, "HX-Request, Accept-Encoding");
      assert.is(decode(accept, reply.body), PAGE);
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test.run();
