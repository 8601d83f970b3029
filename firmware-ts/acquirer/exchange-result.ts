// What one request/response exchange with the acquirer can end in. The engine maps each to a journal
// outcome: a response is recorded; timeout and reset reverse with 98; mac-failed reverses with A0;
// connect-failed means no byte of the request left the terminal, so nothing needs reversing.
import type { CupEnvelope, IsoMessage } from '../../protocol/iso8583/index.js';

export type ExchangeResult =
  | { kind: 'response'; message: IsoMessage; envelope: CupEnvelope }
  | { kind: 'timeout' }
  | { kind: 'connect-failed'; detail: string }
  | { kind: 'mac-failed'; message: IsoMessage }
  | { kind: 'reset'; detail: string };

/** Things the link saw and ignored or survived, for the engine's log. Never carries card data or keys. */
export type LinkEvent =
  | { type: 'connected' }
  | { type: 'disconnected'; detail: string }
  | {
      type: 'stray-response';
      /** late: answers a request that already timed out; duplicate: one already answered; unmatched: neither. */
      reason: 'late' | 'duplicate' | 'unmatched';
      mti: string;
      stan?: string;
      terminalId?: string;
      responseCode?: string;
    }
  | { type: 'malformed-response'; field: string; offset: number; reason: string }
  | { type: 'frame-error'; detail: string };

export class AcquirerLinkError extends Error {
  constructor(
    readonly reason: 'no-mac-key' | 'closed',
    message: string,
  ) {
    super(message);
    this.name = 'AcquirerLinkError';
  }
}
