// What every message handler of the simulated host gets: the folded ledger, a durable append, the time,
// and the test-card configuration. Handlers return the answer; the host turns it into a reply.
import type { FieldValue, SecretKey } from '../../protocol/iso8583/index.js';
import type { LedgerBody, LedgerEntry } from './ledger.js';
import type { LedgerState } from './ledger-state.js';

export interface HostContext {
  readonly state: LedgerState;
  /** Appends durably (fsync) and folds into state; throws on I/O failure, which stops the host. */
  record(body: LedgerBody): LedgerEntry;
  openingBalance(): bigint;
  /** The next ledger sequence number: RRN and authorization code are derived from it. */
  nextSeq(): number;
  /** The PIN key of the terminal's session (from its last sign-on). */
  pinKey(terminalId: string): SecretKey | undefined;
  /** The test card's PIN, by full PAN (held in memory only); undefined for a card the host has no PIN for. */
  cardPin(pan: string): CardPin | undefined;
}

export interface CardPin {
  pin: string;
  /** The card needs a PIN for every debit (no bypass): a sale without field 52 is answered 55. */
  required: boolean;
}

export interface Answer {
  /** Field 39. */
  code: string;
  /** Extra response fields (37, 38, 48, 54, 62). */
  fields?: Record<number, FieldValue>;
}
