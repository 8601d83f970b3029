// Typed decode errors: what was wrong and at which byte offset, so a log line or a test can point at it.

export type EscPosErrorCode =
  /** A control byte or ESC/GS/FS/DLE sequence outside the subset. */
  | 'ESCPOS_UNKNOWN_COMMAND'
  /** The input ended inside a command or a multi-byte character. */
  | 'ESCPOS_TRUNCATED'
  /** A known command with a parameter outside its range. */
  | 'ESCPOS_BAD_PARAMETER'
  /** Text bytes that are not valid in the current character mode (ASCII or GB18030). */
  | 'ESCPOS_BAD_TEXT'
  /** A DLE EOT status byte whose fixed bits are wrong: not a status reply. */
  | 'ESCPOS_BAD_STATUS';

export class EscPosError extends Error {
  override readonly name = 'EscPosError';
  constructor(
    readonly code: EscPosErrorCode,
    /** Byte offset of the offending command or byte, counted from the start of the stream. */
    readonly offset: number,
    message: string,
  ) {
    super(`${code} at byte ${offset}: ${message}`);
  }
}
