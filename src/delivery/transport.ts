import type { Channel } from "./outbox.ts";

/** One claimed outbox row as a transport sees it. */
export interface OutgoingMessage {
  id: number;
  channel: Channel;
  to: string;
  subject: string | null;
  text: string;
  /** Voice calls: the code row the call's keypad digits confirm. */
  codeId: string | null;
}

export interface SendResult {
  /** The provider's id for the accepted message (SendGrid x-message-id, Twilio SID). */
  providerId: string | null;
}

/**
 * Delivers one message or throws. `provider` is stored on the row; `keepsText` is true only
 * for the dev outbox, whose page shows the text afterwards: real providers get the text erased.
 */
export interface Transport {
  provider: string;
  keepsText: boolean;
  send(message: OutgoingMessage): Promise<SendResult>;
}

export type Transports = Record<Channel, Transport>;
