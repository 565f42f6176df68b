import { createRequire } from "node:module";
import type { MailService as MailServiceType } from "@sendgrid/mail";
import type { Config } from "../config.ts";
import type { Transport } from "./transport.ts";

type SendgridSettings = Extract<Config["mail"], { kind: "sendgrid" }>;

/** Well inside the outbox's 60 s claim, so a slow send never overlaps another instance's retry. */
const TIMEOUT_MS = 20_000;

/**
 * Email through SendGrid's v3 mail/send with @sendgrid/mail. `baseUrl` points the package's
 * client (its axios `defaultRequest.baseUrl`) at a stub server in contract tests.
 */
export function createSendgridTransport(settings: SendgridSettings, options: { baseUrl?: string } = {}): Transport {
  // Loaded only when SendGrid is configured: about 5 MB a process on the dev outbox never needs.
  const { MailService } = createRequire(import.meta.url)("@sendgrid/mail") as { MailService: typeof MailServiceType };
  const mail = new MailService();
  mail.setApiKey(settings.apiKey);
  mail.setTimeout(TIMEOUT_MS);
  // setApiKey() resets the base URL to the region's host, so the override comes after it.
  // MailService keeps its @sendgrid/client instance in `client` (not in its typings).
  if (options.baseUrl) (mail as unknown as SendgridClientHolder).client.setDefaultRequest("baseUrl", options.baseUrl);
  return {
    provider: "sendgrid",
    keepsText: false,
    async send(message) {
      const [response] = await mail.send({
        to: message.to,
        from: settings.from,
        subject: message.subject ?? "",
        text: message.text,
        // Links in these emails carry one-time tokens: no click-tracking redirect may see them.
        trackingSettings: { clickTracking: { enable: false, enableText: false }, openTracking: { enable: false } },
      });
      const id = response.headers["x-message-id"];
      return { providerId: typeof id === "string" ? id : null };
    },
  };
}

interface SendgridClientHolder {
  client: { setDefaultRequest(key: "baseUrl", value: string): unknown };
}
