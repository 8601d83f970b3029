// What the engine needs from the card reader and the printer: the real drivers (CardReader, PrinterDriver)
// fit these shapes, and tests plug in fakes. Full card data only ever travels inside a Secret.
import type { CardRead, ChipCompletion } from '../devices/card-reader/card-reader.js';
import type { PrintResult } from '../devices/printer/print-result.js';

/** A card read for one transaction: the masked PAN is what the journal may hold; the rest is memory only. */
export type CardForTxn = Pick<CardRead, 'entryMode' | 'posEntryMode' | 'maskedPan' | 'pan' | 'expiry' | 'track2' | 'panSeq' | 'emvData'>;

export type CardReadOutcome = { kind: 'card'; card: CardForTxn } | { kind: 'no-card'; detail: string };

export interface CardSource {
  /** Waits for a card and reads it (the daemon wraps CardReader.waitForCard + readCard). */
  readCard(opts: { amount: number; currency: string; timeoutMs: number }): Promise<CardReadOutcome>;
  /** Second GENERATE AC after the host answered a chip transaction; `reversalReason: '06'` when the card refused an approval. */
  completeChip(opts: { arc: string; issuerAuth?: Buffer }): Promise<Pick<ChipCompletion, 'reversalReason'>>;
}

export interface ReceiptPrinter {
  print(job: Buffer, jobId: string): Promise<PrintResult>;
  /** Called when the printer can print again; returns an unsubscribe. */
  onReady(listener: () => void): () => void;
}
