import type { Transport } from "./transport.ts";

/**
 * The dev outbox: without provider credentials a message is printed to the console and kept
 * in the outbox table (text included) for /dev/outbox. Nothing leaves the machine.
 */
export function createDevTransport(print: (line: string) => void = (line) => console.log(line)): Transport {
  return {
    provider: "dev",
    keepsText: true,
    async send(message) {
      const lines = [`[dev outbox #${message.id}] ${message.channel} to ${message.to}`];
      if (message.subject) lines.push(`Subject: ${message.subject}`);
      lines.push(message.text);
      if (message.channel === "voice") lines.push(`(answer it: POST /dev/outbox/${message.id}/answer with digits=…, or use /dev/outbox)`);
      print(lines.join("\n"));
      return { providerId: null };
    },
  };
}
