/** One JSON line per event on stdout. Callers pass only what is safe to keep: never a token, code or password. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export function createLogger(write: (line: string) => void = (line) => console.log(line)): Logger {
  const emit = (level: string, event: string, fields: Record<string, unknown> = {}) =>
    write(JSON.stringify({ at: new Date().toISOString(), level, event, ...fields }));
  return { info: (e, f) => emit("info", e, f), error: (e, f) => emit("error", e, f) };
}

export const silentLogger: Logger = { info() {}, error() {} };
