// What `posj status` shows about the printer, and what a field engineer reads first when slips stop printing.
import type { LinkHealth } from '../../../protocol/io/byte-link.js';
import type { PrinterStatus } from '../../../protocol/escpos/status.js';
import type { PrintFailureReason } from './print-result.js';

export type PrinterState =
  /** No status asked yet. */
  | 'unknown'
  | 'ready'
  | 'printing'
  /** Answers, but cannot print: see `problem` (paper end, cover open, offline, an error). */
  | 'not-ready'
  /** Does not answer, or answers garbage. */
  | 'not-answering'
  | 'link-down'
  | 'closed';

export interface PrinterHealth {
  state: PrinterState;
  problem?: PrintFailureReason;
  /** Last decoded DLE EOT status and when (Clock ms) it was read. */
  lastStatus?: PrinterStatus;
  lastStatusAt?: number;
  /** Paper is low: printing works, but change the roll soon. */
  paperNearEnd: boolean;
  jobsPrinted: number;
  jobsFailed: number;
  /** Bytes from the printer that answered no question (noise, a confused printer). */
  strayBytes: number;
  /** Status is being polled until the printer is ready again. */
  waitingForRecovery: boolean;
  link: LinkHealth;
}
