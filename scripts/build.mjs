/**
 * Compiles the server (src + templates) to dist/ with esbuild, so the running server needs no
 * TypeScript loader: one ES module per entry (main, the two CLIs) with shared chunks, packages
 * left to node_modules, source maps for stack traces (run with --enable-source-maps).
 * Plain JavaScript on purpose: it runs before anything is compiled, under plain node.
 *   node scripts/build.mjs          (what `npm start`, `npm run migrate` and `npm run invite` run first)
 */
import { build } from "esbuild";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Builds dist/ afresh; returns how long it took in milliseconds. */
export async function buildServer({ quiet = false } = {}) {
  const started = performance.now();
  // Never deleted first and never written in place: a server already running from dist/ may
  // still load a lazy chunk (the embedded database), and two `npm run …` started together build
  // at once; a reader must see a whole old file or a whole new one (see writeOutputs).
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: "src/main.ts", "cli/migrate": "src/cli/migrate.ts", "cli/invite": "src/cli/invite.ts", "cli/organization": "src/cli/organization.ts", "cli/application": "src/cli/application.ts" },
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
    write: false,
  });
  writeOutputs(result.outputFiles);
  removeStale(join(root, "dist"), new Set(Object.keys(result.metafile.outputs).map((file) => join(root, file))));
  return Math.round(performance.now() - started);
}

/**
 * Writes each output that differs from what dist/ holds through a temporary file renamed over
 * it (atomic on one file system). An unchanged file is left alone, so a rebuild of the same
 * sources writes nothing. esbuild's own writer truncates and rewrites in place, and a CLI
 * started beside another build once imported a half-written chunk ("does not provide an export").
 */
function writeOutputs(files) {
  for (const file of files) {
    let current;
    try {
      current = readFileSync(file.path);
    } catch {
      current = undefined;
    }
    if (current && Buffer.compare(current, file.contents) === 0) continue;
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}

/** Drops chunks an earlier build left that this one no longer writes (not another build's temporary files). */
function removeStale(dir, keep) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) removeStale(path, keep);
    else if (!keep.has(path) && !name.endsWith(".tmp")) rmSync(path, { force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ms = await buildServer({ quiet: true });
  if (!process.argv.includes("--quiet")) console.error(`built dist/ in ${ms} ms`);
}
