// Typed failures of the card reader driver, each saying what the terminal should tell the cashier.

export type ReaderErrorCode =
  /** Commands could not be delivered: the line is down or the reader does not ACK. */
  | 'READER_UNAVAILABLE'
  /** The reader took the command but never answered it. */
  | 'READER_NO_RESPONSE'
  /** The reader answered with ERROR (its code is in readerCode). */
  | 'READER_REPORTED_ERROR'
  /** The reader's answer did not make sense (bad TLV, PAN mismatch, wrong response type). */
  | 'READER_BAD_DATA'
  | 'READER_CLOSED';

export class ReaderError extends Error {
  constructor(
    readonly code: ReaderErrorCode,
    message: string,
    readonly command: string,
    readonly readerCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReaderError';
  }
}
