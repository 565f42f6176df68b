import { createRequire } from "node:module";
import type twilioModule from "twilio";
import type { Config } from "../config.ts";
import type RequestClient from "twilio/lib/base/RequestClient";
import type { OutgoingMessage, Transport } from "./transport.ts";
import { spokenText } from "./messages.ts";

type TwilioSettings = Extract<Config["phone"], { kind: "twilio" }>;

/** Well inside the outbox's 60 s claim. */
const TIMEOUT_MS = 20_000;
const GATHER_TIMEOUT_SECONDS = 10;

/** The URL Twilio posts a call's keyed digits to; the webhook checks the signature over it. */
export function voiceWebhookUrl(publicUrl: string, codeId: string): string {
  return `${publicUrl}/webhooks/twilio/voice/${encodeURIComponent(codeId)}`;
}

/**
 * The twilio package, loaded on first use: about 10 MB that a process on the dev outbox (or
 * with SMS and calls switched off) never needs. Synchronous, so the TwiML builders stay so.
 */
let twilioPackage: typeof twilioModule | null = null;
export function loadTwilio(): typeof twilioModule {
  twilioPackage ??= createRequire(import.meta.url)("twilio") as typeof twilioModule;
  return twilioPackage;
}

/**
 * The call: say `text` while gathering keypad digits ended by #, post them to the webhook;
 * without digits, say goodbye. Also used by the webhook to ask again after a wrong code.
 */
export function gatherTwiml(publicUrl: string, codeId: string, text: string): string {
  const response = new (loadTwilio().twiml.VoiceResponse)();
  const gather = response.gather({
    input: ["dtmf"],
    finishOnKey: "#",
    timeout: GATHER_TIMEOUT_SECONDS,
    action: voiceWebhookUrl(publicUrl, codeId),
    method: "POST",
  });
  gather.say(spokenText(text));
  response.say("We did not receive any digits. Goodbye.");
  return response.toString();
}

/**
 * SMS and voice calls through the twilio package. `baseUrl` sends the package's requests to a
 * stub server instead of https://api.twilio.com (contract tests): a RequestClient that swaps
 * the origin and otherwise does exactly what the package's own client does.
 */
export function createTwilioTransport(settings: TwilioSettings, publicUrl: string, options: { baseUrl?: string } = {}): Transport {
  const httpClient = options.baseUrl ? redirectingClient(options.baseUrl) : undefined;
  const client = loadTwilio()(settings.accountSid, settings.authToken, { timeout: TIMEOUT_MS, httpClient });
  return {
    provider: "twilio",
    keepsText: false,
    async send(message: OutgoingMessage) {
      if (message.channel === "sms") {
        const sent = await client.messages.create({ to: message.to, from: settings.from, body: message.text });
        return { providerId: sent.sid ?? null };
      }
      if (message.channel === "voice") {
        if (!message.codeId) throw new Error("a voice message needs its codeId");
        const call = await client.calls.create({ to: message.to, from: settings.from, twiml: gatherTwiml(publicUrl, message.codeId, message.text) });
        return { providerId: call.sid ?? null };
      }
      throw new Error(`twilio cannot send ${message.channel}`);
    },
  };
}

type RequestOptions<TData> = RequestClient.RequestOptions<TData>;

function redirectingClient(baseUrl: string): twilioModule.RequestClient {
  const target = new URL(baseUrl);
  class RedirectingClient extends loadTwilio().RequestClient {
    override request<TData>(opts: RequestOptions<TData>) {
      const uri = new URL(opts.uri);
      uri.protocol = target.protocol;
      uri.host = target.host;
      return super.request<TData>({ ...opts, uri: uri.href });
    }
  }
  return new RedirectingClient({ timeout: TIMEOUT_MS });
}
