// DLE EOT n real-time status: the request bytes, and the one status byte the printer answers with for each n,
// decoded into named conditions. Bit layout follows the Epson ESC/POS reference for DLE EOT (n = 1..4):
// bits 0 and 7 are always 0, bits 1 and 4 always 1 — a byte that breaks this is not a status reply.
import { DLE, EOT, type StatusKind } from './commands.js';
import { EscPosError } from './errors.js';

const FIXED_MASK = 0b1001_0011;
const FIXED_VALUE = 0b0001_0010;

export function statusRequest(kind: StatusKind): Buffer {
  return Buffer.from([DLE, EOT, kind]);
}

export function isStatusByte(byte: number): boolean {
  return (byte & FIXED_MASK) === FIXED_VALUE;
}

/** Everything DLE EOT 1..4 tells about the printer, merged. */
export interface PrinterStatus {
  /** n=1 bit 3. */
  offline: boolean;
  /** n=2 bit 2. */
  coverOpen: boolean;
  /** n=2 bit 5: printing stopped because the paper ran out. */
  paperEndStop: boolean;
  /** n=4 bits 5-6: the roll paper end sensor sees no paper. */
  paperEnd: boolean;
  /** n=4 bits 2-3: little paper left; printing still works. */
  paperNearEnd: boolean;
  /** n=3 bit 2: a recoverable mechanical error (e.g. print head jam). */
  mechanicalError: boolean;
  /** n=3 bit 3. */
  autoCutterError: boolean;
  /** n=3 bit 5: needs service; printing cannot continue. */
  unrecoverableError: boolean;
  /** n=3 bit 6: e.g. head overheated; clears by itself. */
  autoRecoverableError: boolean;
}

export const STATUS_OK: PrinterStatus = Object.freeze({
  offline: false,
  coverOpen: false,
  paperEndStop: false,
  paperEnd: false,
  paperNearEnd: false,
  mechanicalError: false,
  autoCutterError: false,
  unrecoverableError: false,
  autoRecoverableError: false,
});

const bit = (b: number, n: number) => (b & (1 << n)) !== 0;

/** The part of `PrinterStatus` one DLE EOT n reply carries; throws ESCPOS_BAD_STATUS on a non-status byte. */
export function decodeStatusByte(kind: StatusKind, byte: number, offset = 0): Partial<PrinterStatus> {
  if (!Number.isInteger(byte) || byte < 0 || byte > 0xff || !isStatusByte(byte)) {
    throw new EscPosError('ESCPOS_BAD_STATUS', offset, `0x${byte.toString(16).padStart(2, '0')} is not a DLE EOT ${kind} status byte (fixed bits wrong)`);
  }
  switch (kind) {
    case 1:
      return { offline: bit(byte, 3) };
    case 2:
      return { coverOpen: bit(byte, 2), paperEndStop: bit(byte, 5) };
    case 3:
      return {
        mechanicalError: bit(byte, 2),
        autoCutterError: bit(byte, 3),
        unrecoverableError: bit(byte, 5),
        autoRecoverableError: bit(byte, 6),
      };
    case 4:
      // Each sensor reports on two bits; either one set means the condition.
      return { paperNearEnd: (byte & 0b0000_1100) !== 0, paperEnd: (byte & 0b0110_0000) !== 0 };
  }
}

/** The reply byte a printer in `status` sends for DLE EOT `kind` (used by the simulator and tests). */
export function encodeStatusByte(kind: StatusKind, status: PrinterStatus): number {
  let b = FIXED_VALUE;
  const set = (cond: boolean, mask: number) => {
    if (cond) b |= mask;
  };
  switch (kind) {
    case 1:
      set(status.offline, 1 << 3);
      break;
    case 2:
      set(status.coverOpen, 1 << 2);
      set(status.paperEndStop, 1 << 5);
      set(errorOccurred(status), 1 << 6);
      break;
    case 3:
      set(status.mechanicalError, 1 << 2);
      set(status.autoCutterError, 1 << 3);
      set(status.unrecoverableError, 1 << 5);
      set(status.autoRecoverableError, 1 << 6);
      break;
    case 4:
      set(status.paperNearEnd, 0b0000_1100);
      set(status.paperEnd, 0b0110_0000);
      break;
  }
  return b;
}

function errorOccurred(s: PrinterStatus): boolean {
  return s.mechanicalError || s.autoCutterError || s.unrecoverableError || s.autoRecoverableError;
}

/** Why a printer in this status cannot print now, most specific first. */
export type PrinterStatusProblem =
  | 'paper-end'
  | 'cover-open'
  | 'unrecoverable-error'
  | 'auto-cutter-error'
  | 'mechanical-error'
  | 'auto-recoverable-error'
  | 'offline';

export function statusProblem(s: PrinterStatus): PrinterStatusProblem | null {
  if (s.paperEnd || s.paperEndStop) return 'paper-end';
  if (s.coverOpen) return 'cover-open';
  if (s.unrecoverableError) return 'unrecoverable-error';
  if (s.autoCutterError) return 'auto-cutter-error';
  if (s.mechanicalError) return 'mechanical-error';
  if (s.autoRecoverableError) return 'auto-recoverable-error';
  if (s.offline) return 'offline';
  return null;
}

/** Short words for logs and `posj status`: "paper near end, cover open" or "ready". */
export function describeStatus(s: PrinterStatus): string {
  const words: string[] = [];
  if (s.paperEnd || s.paperEndStop) words.push('paper end');
  else if (s.paperNearEnd) words.push('paper near end');
  if (s.coverOpen) words.push('cover open');
  if (s.unrecoverableError) words.push('unrecoverable error');
  if (s.autoCutterError) words.push('auto-cutter error');
  if (s.mechanicalError) words.push('mechanical error');
  if (s.autoRecoverableError) words.push('auto-recoverable error (overheat?)');
  if (s.offline) words.push('offline');
  return words.length ? words.join(', ') : 'ready';
}
