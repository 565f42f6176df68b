import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import type { Channel } from "./outbox.ts";
import { spokenText } from "./messages.ts";

export interface DevOutboxEntry {
  id: number;
  channel: Channel;
  to: string;
  subject: string | null;
  /** Email or SMS text; for a call, what the call says. */
  text: string;
  createdAt: string;
}

const LIST_LIMIT = 500;

/** Channels whose messages go to the dev outbox under this configuration. */
export function devChannels(config: Config): Channel[] {
  const channels: Channel[] = [];
  if (config.mail.kind === "dev") channels.push("email");
  if (config.phone.kind === "dev") channels.push("sms", "voice");
  return channels;
}

/** The dev outbox, newest first: every message of a dev channel (queued or printed), optionally for one recipient. */
export async function listDevOutbox(db: Db, config: Config, filter: { to?: string } = {}): Promise<DevOutboxEntry[]> {
  const channels = devChannels(config);
  if (!channels.length) return [];
  const rows = await db<{ id: string; channel: Channel; recipient: string; subject: string | null; body: string; createdAt: Date }[]>`
    select id::text as id, channel, recipient, subject, body, created_at as "createdAt"
      from outbox
     where channel in ${db(channels)} and body is not null
       ${filter.to ? db`and recipient = ${filter.to}` : db``}
     order by outbox.id desc
     limit ${LIST_LIMIT}`;
  return rows.map((row) => ({
    id: Number(row.id),
    channel: row.channel,
    to: row.recipient,
    subject: row.subject,
    text: row.channel === "voice" ? spokenText(row.body) : row.body,
    createdAt: row.createdAt.toISOString(),
  }));
}

/** The code a dev-outbox call confirms, or null when the id is no dev call. */
export async function findDevCall(db: Db, config: Config, id: number): Promise<{ codeId: string } | null> {
  if (config.phone.kind !== "dev" || !Number.isSafeInteger(id)) return null;
  const [row] = await db<{ codeId: string | null }[]>`
    select code_id::text as "codeId" from outbox where id = ${id} and channel = 'voice'`;
  return row?.codeId ? { codeId: row.codeId } : null;
}
