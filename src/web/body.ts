import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { IncomingMessage } from "node:http";

/**
 * The posted body, read once and bounded: over `maxSize` bytes (declared by Content-Length or
 * counted as a chunked body arrives) the request gets `tooLarge`'s answer and the rest is never
 * read.
 *
 * On Node the bytes are read from the socket's request itself and left where Hono and
 * @hono/node-server look first (Hono's body cache, and `rawBody` on the request, from which
 * node-server builds a web Request's body if anything asks for one). hono/body-limit reads
 * `c.req.raw.body`, which makes node-server build a whole web Request (its headers converted
 * one by one, an AbortController, a ReadableStream over the socket) for every form post: about
 * a tenth of what a sign-in allocated, for a body of a few hundred bytes. Elsewhere (Deno,
 * app.request() in tests) there is no Node request, and hono/body-limit does the same job.
 */
export function limitBody(maxSize: number, tooLarge: (c: Context) => Response | Promise<Response>): MiddlewareHandler {
  const fallback = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    const incoming = nodeRequestOf(c);
    if (!incoming) return fallback(c, next);
    const declared = incoming.headers["content-length"];
    if (declared !== undefined && incoming.headers["transfer-encoding"] === undefined && Number(declared) > maxSize) return tooLarge(c);
    const body = await readAtMost(incoming, maxSize);
    if (body === null) return tooLarge(c);
    (incoming as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    // Hono keeps promises there (its type says otherwise) and turns them into the form or text when asked.
    (c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    return next();
  };
}

/** Node's request behind this context, when its body is still unread; else null (the standard way applies). */
function nodeRequestOf(c: Context): IncomingMessage | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming || typeof incoming.read !== "function" || incoming.readableDidRead || "rawBody" in incoming) return null;
  // Already read by someone through the web Request (or its body asked for): leave it to that path.
  if (Object.keys(c.req.bodyCache).length > 0) return null;
  return incoming;
}

/** The whole body, or null as soon as it passes `maxSize` (the rest is left unread). */
function readAtMost(incoming: IncomingMessage, maxSize: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const detach = () => incoming.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    const done = (result: Buffer | null) => {
      detach();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxSize) {
        incoming.pause();
        done(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    // The client went away mid-body: as when the web Request's stream errors.
    const onError = (error?: Error) => {
      detach();
      reject(error ?? new Error("the request closed before its body ended"));
    };
    const onClose = () => {
      if (!incoming.complete) onError();
    };
    incoming.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}
