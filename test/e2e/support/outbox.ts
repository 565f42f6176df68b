/**
 * The dev outbox as a person's mailbox and phone: read what was sent to an address from
 * /dev/outbox.json, pull the code or link out of it, answer a call with the keypad.
 */
import type { RunningApp } from "./app.ts";

export interface OutboxEntry {
  id: number;
  channel: "email" | "sms" | "voice";
  to: string;
  subject: string | null;
  text: string;
  createdAt: string;
}

/** An E.164 US number as the app stores it, from any 10-digit form. */
export function e164(phone: string): string {
  const digits = phone.replace(/\D/g, "").replace(/^1(?=\d{10}$)/, "");
  return `+1${digits}`;
}

function recipient(address: string): string {
  return address.includes("@") ? address.toLowerCase() : e164(address);
}

/** Every message to `address`, newest first. */
export async function messagesTo(app: RunningApp, address: string): Promise<OutboxEntry[]> {
  const res = await fetch(`${app.url}/dev/outbox.json?to=${encodeURIComponent(recipient(address))}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`/dev/outbox.json answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as OutboxEntry[];
}

/**
 * A person's inbox: `expect(channel)` waits for the next message on that channel that arrived
 * after the last one this inbox handed out (or after `mark()`), so an old code is never reused.
 */
export class Inbox {
  private seen = 0;
  constructor(
    private app: RunningApp,
    readonly address: string,
  ) {}

  /** Forget everything sent so far: the next expect() waits for something newer. */
  async mark(): Promise<void> {
    const all = await messagesTo(this.app, this.address);
    this.seen = Math.max(this.seen, ...all.map((m) => m.id));
  }

  async expect(channel: OutboxEntry["channel"], timeoutMs = 15_000): Promise<OutboxEntry> {
    const started = Date.now();
    for (;;) {
      const all = await messagesTo(this.app, this.address);
      const next = all.filter((m) => m.id > this.seen && m.channel === channel).sort((a, b) => a.id - b.id)[0];
      if (next) {
        this.seen = next.id;
        return next;
      }
      if (Date.now() - started > timeoutMs) {
        const got = all.slice(0, 5).map((m) => `#${m.id} ${m.channel} "${m.subject ?? ""}" ${m.text.slice(0, 80).replace(/\s+/g, " ")}`);
        throw new Error(`no new ${channel} message to ${this.address} within ${timeoutMs / 1000} s (newest: ${got.join(" | ") || "none"})`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async code(channel: "email" | "sms" = "email"): Promise<string> {
    return codeOf(await this.expect(channel));
  }

  async link(): Promise<string> {
    return linkOf(await this.expect("email"), this.app);
  }
}

export function codeOf(message: OutboxEntry): string {
  const match = /\b\d{6}\b/.exec(message.text);
  if (!match) throw new Error(`no 6-digit code in ${message.channel} #${message.id}: ${message.text}`);
  return match[0];
}

/** The first link to the app in an email. */
export function linkOf(message: OutboxEntry, app: RunningApp): string {
  const links = message.text.match(/https?:\/\/[^\s<>"')]+/g) ?? [];
  const link = links.find((l) => l.startsWith(app.url)) ?? links[0];
  if (!link) throw new Error(`no link in email #${message.id} "${message.subject}": ${message.text}`);
  return link.replace(/[.,;:]+$/, "");
}

/** Answer a dev-outbox call as a person keying `digits` would (POST /dev/outbox/{id}/answer). */
export async function answerCall(app: RunningApp, call: OutboxEntry, digits: string): Promise<string> {
  const res = await fetch(`${app.url}/dev/outbox/${call.id}/answer`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ digits }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`answering call #${call.id} gave ${res.status}: ${text}`);
  try {
    return String((JSON.parse(text) as { result?: unknown }).result);
  } catch {
    return text;
  }
}
