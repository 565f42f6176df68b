/**
 * Compiles the server (src + templates) to dist/ with esbuild, so the running server needs no
 * TypeScript loader: one ES module per entry (main, the two CLIs) with shared chunks, packages
 * left to node_modules, source maps for stack traces (run with --enable-source-maps).
 * Plain JavaScript on purpose: it runs before anything is compiled, under plain node.
 *   node scripts/build.mjs          (what `npm start`, `npm run migrate` and `npm run invite` run first)
 */
import { build } from "esbuild";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Builds dist/ afresh; returns how long it took in milliseconds. */
export async function buildServer({ quiet = false } = {}) {
  const started = performance.now();
  // Written over in place, not deleted first: a server already running from dist/ may still
  // load a lazy chunk (the embedded database) while another `npm start` builds.
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: "src/main.ts", "cli/migrate": "src/cli/migrate.ts", "cli/invite": "src/cli/invite.ts" },
    outdir: "dist",
    bundle: true,
    splitting: true, // the CLIs share the config/db chunks with main
    format: "esm",
    platform: "node",
    target: "node24",
    packages: "external", // node_modules stay where they are, resolved at run time
    sourcemap: true,
    sourcesContent: false, // the map points at src/, which is beside dist/
    jsx: "automatic",
    jsxImportSource: "hono/jsx",
    tsconfig: "tsconfig.json",
    logLevel: quiet ? "warning" : "info",
    logOverride: { "empty-import-meta": "silent" },
    legalComments: "none",
    metafile: true,
  });
  removeStale(join(root, "dist"), new Set(Object.keys(result.metafile.outputs).map((file) => join(root, file))));
  return Math.round(performance.now() - started);
}

/** Drops chunks an earlier build left that this one no longer writes. */
function removeStale(dir, keep) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) removeStale(path, keep);
    else if (!keep.has(path)) rmSync(path, { force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ms = await buildServer({ quiet: true });
  if (!process.argv.includes("--quiet")) console.error(`built dist/ in ${ms} ms`);
}
