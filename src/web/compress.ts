import type { Context, MiddlewareHandler } from "hono";
import { parseAccept } from "hono/utils/accept";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const COMPRESSIBLE = /^(text\/(html|plain|css|javascript|xml)|application\/(json|javascript|xml|xhtml\+xml))\b/i;
// Below this the saving is smaller than the headers that announce it.
const MIN_BYTES = 1024;
/**
 * The output buffer of each zlib call. Node's default is 16 KB, a fresh malloc per call that the
 * result (a slice of it) keeps until V8 collects it: thousands of compressed pages between two
 * collections leave tens of MB in glibc's heap that it never gives back (5,000 brotli calls on a
 * 5 KB page in a bare Node 24: RSS 131 MB with 16 KB, 84 MB with this). Below 4 KB, Buffer.allocUnsafe takes it from Node's
 * shared 8 KB pool instead; a page compresses to a few KB at most, and a bigger answer just
 * takes several chunks.
 */
const CHUNK = 4095;
/**
 * Brotli 5 is near the size of 11 on a few KB of HTML at a tenth of the time; gzip 6 is zlib's
 * default. Brotli's default window is 4 MB, set up for every call: a 64 KB window (every page is
 * smaller) and the size told in advance made a 3.3 KB sign-in page 1,135 bytes instead of 1,140
 * in about two thirds of the time (80–118 µs → 58 µs on this machine).
 */
const BROTLI_WINDOW_BITS = 16;
const brotliOptions = (size: number) => ({
  chunkSize: CHUNK,
  params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS, [constants.BROTLI_PARAM_SIZE_HINT]: size },
});
const GZIP = { chunkSize: CHUNK };

function pickEncoding(header: string | undefined): "br" | "gzip" | null {
  if (!header) return null;
  const accepted = parseAccept(header);
  const q = (name: string) => accepted.find((a) => a.type.toLowerCase() === name)?.q ?? accepted.find((a) => a.type === "*")?.q ?? 0;
  const br = q("br");
  const gzip = q("gzip");
  if (br > 0 && br >= gzip) return "br";
  return gzip > 0 ? "gzip" : null;
}

/**
 * The body of a response that is still held as a string or bytes. @hono/node-server's Response
 * keeps it so (under the symbol "cache": [status, body, headers]) and writes it straight to the
 * socket; reading `.body` or `.arrayBuffer()` would turn it into a web stream first, and the
 * Response built from the result would go out by the slow, streaming path. Elsewhere (Deno,
 * app.request in tests) this finds nothing and the caller reads the body the standard way.
 */
export function heldBody(res: Response): string | Uint8Array | undefined {
  const key = Object.getOwnPropertySymbols(res).find((symbol) => symbol.description === "cache");
  const body = key ? (res as unknown as Record<symbol, unknown[] | undefined>)[key]?.[1] : undefined;
  return typeof body === "string" || body instanceof Uint8Array ? body : undefined;
}

/**
 * Puts `res` (which already carries every header of the answer it replaces) in place of c.res.
 * Assigning over a response makes Hono merge the two, reading `.body` of the new one, which
 * turns a held body into a stream again; clearing first skips that merge.
 */
function replace(c: Context, res: Response): void {
  c.res = undefined;
  c.res = res;
}

/**
 * Compresses pages, fragments and JSON in one synchronous zlib call. Every such answer here is a
 * few KB already whole in memory; hono/compress streams each one through a CompressionStream,
 * which in Node costs more CPU than rendering the page, and runs on libuv's thread pool, where
 * it queues behind argon2id hashes during a sign-in burst. Brotli when the browser takes it (all
 * current ones do), else gzip. Static assets arrive precompressed and are left alone.
 */
export function compressResponses(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const res = c.res;
    if (c.req.method === "HEAD" || res.status === 204 || res.status === 304 || res.headers.has("Content-Encoding")) return;
    const type = res.headers.get("Content-Type");
    if (!type || !COMPRESSIBLE.test(type) || /\bno-transform\b/i.test(res.headers.get("Cache-Control") ?? "")) return;
    const vary = res.headers.get("Vary");
    if (!vary) res.headers.set("Vary", "Accept-Encoding");
    else if (vary !== "*" && !/\baccept-encoding\b/i.test(vary)) res.headers.set("Vary", `${vary}, Accept-Encoding`);
    const encoding = pickEncoding(c.req.header("Accept-Encoding"));
    if (!encoding) return;
    const held = heldBody(res);
    let body: Uint8Array;
    if (held !== undefined) body = typeof held === "string" ? Buffer.from(held) : held;
    else if (res.body === null) return;
    else body = new Uint8Array(await res.arrayBuffer());
    if (body.byteLength < MIN_BYTES) {
      if (held === undefined) replace(c, new Response(body as Uint8Array<ArrayBuffer>, { status: res.status, headers: res.headers }));
      return;
    }
    const compressed = encoding === "br" ? brotliCompressSync(body, brotliOptions(body.byteLength)) : gzipSync(body, GZIP);
    const headers = res.headers;
    headers.set("Content-Encoding", encoding);
    headers.delete("Content-Length");
    replace(c, new Response(new Uint8Array(compressed.buffer, compressed.byteOffset, compressed.byteLength), { status: res.status, headers }));
  };
}
