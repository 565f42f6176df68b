/**
 * What every command line (npm run invite, organization, application) does before its work:
 * read its arguments against its options, answer --help, and refuse bad input or a bad
 * configuration with a one-line reason and exit status 1.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfig, type Config } from "../config.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

const HELP = { help: { type: "boolean", short: "h", default: false } } as const;

/** Prints `message` to stderr and exits 1: a command's refusal of its input. */
export function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/**
 * `args` (by default the command line's) read strictly against `options` and --help/-h.
 * An unknown option or a missing value fails with the parser's words and `usage`; --help
 * prints `usage` and exits 0 before anything is opened.
 */
export function readArguments<const O extends Options>(usage: string, options: O, settings: { args?: string[]; positionals?: boolean } = {}) {
  let parsed;
  try {
    parsed = parseArgs({ args: settings.args ?? process.argv.slice(2), options: { ...options, ...HELP }, strict: true, allowPositionals: settings.positionals ?? false });
  } catch (error) {
    fail(`${(error as Error).message}\n${usage}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}

/** The configuration from the environment, or a failure naming each problem on a "Configuration error:" line. */
export function loadConfigOrFail(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message.split("\n").map((line) => `Configuration error: ${line}`).join("\n"));
    throw error;
  }
}
