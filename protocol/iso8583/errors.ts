// Typed codec errors. Every byte from a socket is untrusted (DESIGN rule 7): a bad message is reported
// with the field it broke in and the byte offset, never as a RangeError from deep inside Buffer.

/** Where in a message a problem sits: a data element number, or one of the framing parts. */
export type FieldRef = number | 'tpdu' | 'header' | 'mti' | 'bitmap' | 'message';

export type DecodeReason =
  | 'truncated'
  | 'too-long'
  | 'not-numeric'
  | 'bad-bcd-nibble'
  | 'bad-padding'
  | 'bad-character'
  | 'bad-length-prefix'
  | 'unknown-field'
  | 'empty-secondary-bitmap'
  | 'trailing-bytes'
  | 'bad-tpdu';

function fieldName(field: FieldRef): string {
  return typeof field === 'number' ? `field ${field}` : field;
}

/** A received message that does not follow the dialect. `offset` counts from the first byte handed to the decoder. */
export class Iso8583DecodeError extends Error {
  constructor(
    readonly field: FieldRef,
    readonly offset: number,
    readonly reason: DecodeReason,
    detail: string,
  ) {
    super(`ISO 8583 decode error in ${fieldName(field)} at byte ${offset}: ${reason} (${detail})`);
    this.name = 'Iso8583DecodeError';
  }
}

/** A message the caller built that cannot go on the wire (a programming error, caught before sending). */
export class Iso8583EncodeError extends Error {
  constructor(
    readonly field: FieldRef,
    readonly reason: string,
  ) {
    super(`ISO 8583 encode error in ${fieldName(field)}: ${reason}`);
    this.name = 'Iso8583EncodeError';
  }
}

/** A length-prefixed frame on a stream that is empty or longer than the bound. */
export class FrameError extends Error {
  constructor(
    readonly length: number,
    readonly max: number,
    readonly reason: 'empty-frame' | 'frame-too-long',
  ) {
    super(`frame error: ${reason} (announced ${length} bytes, bound ${max})`);
    this.name = 'FrameError';
  }
}
