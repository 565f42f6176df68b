/**
 * What the npm scripts run for an entry: the compiled JavaScript in dist/ (test/run.ts builds it
 * once before any test), not the TypeScript through a loader, so the process tests exercise the
 * artifact `npm start` serves.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

/** Node arguments that start `entry` ("src/main.ts", "src/cli/invite.ts") the way `npm start` does. */
export function compiledArgs(entry: string): string[] {
  const match = /^src\/(.+)\.ts$/.exec(entry);
  if (!match) throw new Error(`not a server entry under src/: ${entry}`);
  const file = `dist/${match[1]}.js`;
  if (!existsSync(resolve(root, file))) throw new Error(`${file} is missing: run the tests through test/run.ts (npm test), which builds it`);
  return ["--enable-source-maps", file];
}
