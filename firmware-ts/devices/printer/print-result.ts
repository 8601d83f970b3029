// What a print job came to. The engine records a receipt as printed in the journal only on `printed: true`;
// every other outcome keeps the receipt pending, to be printed when the printer reports ready again.
import type { PrinterStatus, PrinterStatusProblem } from '../../../protocol/escpos/status.js';

export type PrintFailureReason =
  /** The printer's status says it cannot print (paper end, cover open, offline, an error). */
  | PrinterStatusProblem
  /** No DLE EOT reply within the status timeout: printer off, cable out, or wedged. */
  | 'no-reply'
  /** Bytes came back that are not a status byte: line noise, wrong baud rate, a confused printer. */
  | 'garbled-reply'
  /** The serial line is not open (unplugged, reconnecting). */
  | 'link-down'
  /** The line dropped while the job was being written. */
  | 'write-failed';

/**
 * Where the job stopped. 'before': nothing was sent, the paper is blank. 'sending' or 'after': some or all of
 * the slip may be on paper, but it was not confirmed — reprint it marked as a duplicate.
 */
export type PrintStage = 'before' | 'sending' | 'after';

export type PrintResult =
  | { printed: true; jobId: string; status: PrinterStatus }
  | { printed: false; jobId: string; reason: PrintFailureReason; stage: PrintStage; status?: PrinterStatus; detail: string };

export type StatusQueryResult =
  | { ok: true; status: PrinterStatus }
  | { ok: false; reason: 'no-reply' | 'garbled-reply' | 'link-down'; detail: string };
