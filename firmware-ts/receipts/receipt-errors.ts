// Typed refusal to render a receipt: which field was wrong and why, so a caller never prints a bad slip.

export type ReceiptErrorCode = 'RECEIPT_FULL_PAN' | 'RECEIPT_BAD_FIELD';

export class ReceiptError extends Error {
  override readonly name = 'ReceiptError';
  constructor(
    readonly code: ReceiptErrorCode,
    /** Path of the field in the receipt model, e.g. "maskedPan" or "rows[2].count". */
    readonly field: string,
    message: string,
  ) {
    super(`${code}: ${field}: ${message}`);
  }
}
