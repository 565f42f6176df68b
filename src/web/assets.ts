import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { projectPath } from "../paths.ts";

export interface Asset {
  url: string;
  type: string;
  body: Uint8Array;
  gzip: Uint8Array;
  brotli: Uint8Array;
}

export interface Assets {
  css: string;
  js: string;
  htmx: string;
  /** @simplewebauthn/browser's bundle (window.SimpleWebAuthnBrowser) and the passkey buttons that use it. */
  webauthn: string;
  passkey: string;
  byUrl: Map<string, Asset>;
}

type AssetKey = "css" | "js" | "htmx" | "webauthn" | "passkey";

const staticFile = (name: string) => projectPath("static", name);

/**
 * Reads the static files once at start, names each by a hash of its content (so they can be cached
 * for a year) and compresses them once, not per request. htmx comes from the installed, pinned package.
 */
export function loadAssets(): Assets {
  const require = createRequire(import.meta.url);
  const sources: Array<[key: AssetKey, path: string, base: string, type: string]> = [
    ["css", staticFile("app.css"), "app", "text/css; charset=utf-8"],
    ["js", staticFile("app.js"), "app", "text/javascript; charset=utf-8"],
    ["htmx", require.resolve("htmx.org/dist/htmx.min.js"), "htmx", "text/javascript; charset=utf-8"],
    // The package exports only its modules; its UMD bundle (no bundler here) sits beside them.
    ["webauthn", join(dirname(require.resolve("@simplewebauthn/browser")), "../dist/bundle/index.umd.min.js"), "webauthn", "text/javascript; charset=utf-8"],
    ["passkey", staticFile("passkey.js"), "passkey", "text/javascript; charset=utf-8"],
  ];
  const byUrl = new Map<string, Asset>();
  const urls = {} as Record<AssetKey, string>;
  for (const [key, path, base, type] of sources) {
    const body = readFileSync(path);
    const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
    const ext = type.startsWith("text/css") ? "css" : "js";
    const url = `/static/${base}.${hash}.${ext}`;
    byUrl.set(url, {
      url,
      type,
      body,
      gzip: gzipSync(body, { level: 9 }),
      brotli: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    });
    urls[key] = url;
  }
  return { ...urls, byUrl };
}
