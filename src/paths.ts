import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The project's root folder (the one holding package.json, migrations/ and static/), found by
 * walking up from this module: the same answer whether it runs from src/ (tsx, Deno) or from the
 * compiled bundle in dist/, where import.meta.url is a chunk at another depth.
 */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "migrations"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no project root (package.json beside migrations/) above ${start}`);
  }
}

/** A path inside the project: projectPath("static", "app.css"). */
export const projectPath = (...parts: string[]) => join(PROJECT_ROOT, ...parts);
