import { createServer, type Server } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler } from "@electric-sql/pglite-socket";

const SYNC = 0x53; // 'S': ends an extended-protocol group (Parse/Bind/Describe/Execute…)
const QUERY = 0x51; // 'Q': a simple query, complete in itself
const TERMINATE = 0x58; // 'X'
const SYNC_MESSAGE = new Uint8Array([SYNC, 0, 0, 0, 4]);
// A transaction that keeps others waiting this long is most likely a query inside
// sql.begin() that used the pool instead of the transaction: on one backend that never ends.
const STALL_WARNING_MS = 10_000;

interface Pending {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

/**
 * PGlite has one backend session. pglite-socket's own queue interleaves messages of different
 * connections one by one, so one client's Bind can land between another's Parse and Execute
 * ("portal does not exist"). This queue gives the backend to one connection from its first
 * message to its Sync (or simple Query), and keeps it there while a transaction is open.
 */
class GroupedQueryQueue {
  private waiting: Pending[] = [];
  private owner: number | null = null;
  private running = false;
  constructor(private db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ handlerId, message, onData, resolve, reject });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.waiting.length) {
        const index = this.owner === null ? 0 : this.waiting.findIndex((p) => p.handlerId === this.owner);
        if (index < 0) {
          this.watchForStall(); // the owner's next message has not arrived yet
          break;
        }
        const item = this.waiting.splice(index, 1)[0]!;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          this.owner = this.db.isInTransaction() ? item.handlerId : null;
          item.reject(error);
          continue;
        }
        const type = item.message[0];
        const startup = type === 0; // the startup packet has no type byte
        const groupEnds = startup || type === SYNC || type === QUERY || type === TERMINATE;
        this.owner = !groupEnds || this.db.isInTransaction() ? item.handlerId : null;
        item.resolve(bytes);
      }
    } finally {
      this.running = false;
    }
  }

  private stallTimer: ReturnType<typeof setTimeout> | null = null;

  private watchForStall(): void {
    if (this.stallTimer) return;
    const owner = this.owner;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (this.owner !== null && this.owner === owner && this.waiting.length) {
        console.error(
          `embedded database: connection ${owner} has held a transaction for ${STALL_WARNING_MS / 1000}s while ${this.waiting.length} message(s) of other connections wait. ` +
            "Inside sql.begin(tx => …) every query must use tx: a query on the pool waits for the transaction, which waits for it.",
        );
      }
    }, STALL_WARNING_MS);
    this.stallTimer.unref?.();
  }

  clearQueueForHandler(handlerId: number): void {
    this.waiting = this.waiting.filter((p) => {
      if (p.handlerId !== handlerId) return true;
      p.reject(new Error("connection closed"));
      return false;
    });
  }

  /** A connection closed while it owned the backend: end its half-sent group and its transaction. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    // After an error the backend skips messages until a Sync; without this one, the next
    // connection's first group would be swallowed.
    await this.db.runExclusive(() => this.db.execProtocolRawStream(SYNC_MESSAGE, { onRawData: () => {} })).catch(() => {});
    if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
    this.owner = null;
    void this.pump();
  }
}

/** Serves an embedded PGlite on a loopback port for postgres.js (and for `npm run invite` while the app runs). */
export async function serveEmbedded(db: PGlite): Promise<{ port: number; stop(): Promise<void> }> {
  const queue = new GroupedQueryQueue(db);
  const handlers = new Set<PGLiteSocketHandler>();
  const server: Server = createServer((socket) => {
    // The handler's types ask for pglite-socket's own queue class; ours has the same methods.
    const handler = new PGLiteSocketHandler({ queryQueue: queue as never, closeOnDetach: true });
    handlers.add(handler);
    handler.addEventListener("close", () => handlers.delete(handler));
    handler.addEventListener("error", () => handlers.delete(handler));
    handler.attach(socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("embedded database did not get a port");
  return {
    port: address.port,
    async stop() {
      for (const handler of handlers) await handler.detach(true);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
