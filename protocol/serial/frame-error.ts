// Typed decode errors for serial line frames: what was wrong and at which byte offset of the line.

export type FrameErrorCode =
  | 'FRAME_TOO_LONG'
  | 'FRAME_TOO_SHORT'
  | 'FRAME_NO_START'
  | 'FRAME_BAD_SEQ'
  | 'FRAME_BAD_TYPE'
  | 'FRAME_BAD_PAYLOAD'
  | 'FRAME_BAD_SEPARATOR'
  | 'FRAME_BAD_CRC_FIELD'
  | 'FRAME_BAD_CRC';

export class FrameError extends Error {
  readonly code: FrameErrorCode;
  /** Byte offset in the line (delimiter excluded) where decoding stopped. */
  readonly offset: number;
  constructor(code: FrameErrorCode, offset: number, detail: string) {
    super(`${code} at offset ${offset}: ${detail}`);
    this.name = 'FrameError';
    this.code = code;
    this.offset = offset;
  }
}
