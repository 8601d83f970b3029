// What the engine needs from the card reader and the printer: the real drivers (CardReader, PrinterDriver)
// fit these shapes, and tests plug in fakes. Full card data only ever travels inside a Secret.
import type { CardRead, ChipCompletion, OnlinePinResult } from '../devices/card-reader/card-reader.js';
import type { PrintResult } from '../devices/printer/print-result.js';

/**
 * A card read for one transaction: the masked PAN is what the journal may hold; the rest is memory only.
 * `cvm` absent: the card asks for no online PIN.
 */
export type CardForTxn = Pick<CardRead, 'entryMode' | 'posEntryMode' | 'maskedPan' | 'pan' | 'expiry' | 'track2' | 'panSeq' | 'emvData'> & Partial<Pick<CardRead, 'cvm'>>;

export type CardReadOutcome = { kind: 'card'; card: CardForTxn } | { kind: 'no-card'; detail: string };

export interface CardSource {
  /** Waits for a card and reads it (the daemon wraps CardReader.waitForCard + readCard). */
  readCard(opts: { amount: number; currency: string; timeoutMs: number }): Promise<CardReadOutcome>;
  /** Second GENERATE AC after the host answered a chip transaction; `reversalReason: '06'` when the card refused an approval. */
  completeChip(opts: { arc: string; issuerAuth?: Buffer }): Promise<Pick<ChipCompletion, 'reversalReason'>>;
  /**
   * Online PIN on the reader's PIN pad (CardReader.requestOnlinePin): `pinKey` is the PIN key under the TMK
   * with its check value, as sign-on delivered it. A source without it has no PIN pad: field 22 then says
   * so (third digit 2) and no PIN is asked.
   */
  enterPin?(opts: { amount: number; currency: string; pinKey: Buffer; timeoutMs: number }): Promise<OnlinePinResult>;
}

export interface ReceiptPrinter {
  print(job: Buffer, jobId: string): Promise<PrintResult>;
  /** Called when the printer can print again; returns an unsubscribe. */
  onReady(listener: () => void): () => void;
}

/**
 * How long the engine waits on a device before it decides without it. The drivers have their own timeouts;
 * these bound the engine whatever a driver (or a fake) does, so a silent device never holds an
 * authorization open.
 */
export const DEVICE_TIMEOUTS = {
  /** Second GENERATE AC after the host's answer: a card answers in well under a second. */
  chipCompletionMs: 15_000,
  /** One print job (both copies): paper feed, cutter, a slow thermal head. */
  printMs: 60_000,
  /** Beyond the cashier's card timeout, for the reader to report "no card". */
  cardReadGraceMs: 5_000,
  /** How long the cardholder has for the PIN (the pad's own entry timeout). */
  pinEntryMs: 60_000,
  /** Beyond the PIN entry time, for the pad to report the timeout. */
  pinEntryGraceMs: 5_000,
} as const;
