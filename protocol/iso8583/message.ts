// Message encode/decode for any dialect: MTI, bitmap, then each present data element in ascending order.
// Decoding is strict — an element the dialect does not define, or a byte after the last element, is an error.
import { decodeBitmap, encodeBitmap } from './bitmap.js';
import type { Dialect } from './dialect.js';
import { Iso8583DecodeError, Iso8583EncodeError } from './errors.js';
import { decodeField, encodeField, type FieldValue } from './field-types.js';

export interface IsoMessage {
  /** Message type indicator, four digits: "0200", "0410". */
  mti: string;
  /** Data elements by number; strings for n/z/an/ans elements, Buffers for b elements. */
  fields: Map<number, FieldValue>;
}

export function message(mti: string, fields: Record<number, FieldValue | undefined>): IsoMessage {
  const map = new Map<number, FieldValue>();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) map.set(Number(k), v);
  return { mti, fields: map };
}

/** The string value of an element, or undefined when absent; a Buffer where a string is expected is a bug. */
export function textField(msg: IsoMessage, n: number): string | undefined {
  const v = msg.fields.get(n);
  if (v === undefined || typeof v === 'string') return v;
  throw new TypeError(`field ${n} holds bytes, not text`);
}

export function bytesField(msg: IsoMessage, n: number): Buffer | undefined {
  const v = msg.fields.get(n);
  if (v === undefined || Buffer.isBuffer(v)) return v;
  throw new TypeError(`field ${n} holds text, not bytes`);
}

export function encodeMessage(dialect: Dialect, msg: IsoMessage): Buffer {
  if (!/^[0-9]{4}$/.test(msg.mti)) throw new Iso8583EncodeError('mti', `"${msg.mti}" is not four digits`);
  const mti = dialect.mtiEncoding === 'bcd' ? Buffer.from(msg.mti, 'hex') : Buffer.from(msg.mti, 'ascii');
  const numbers = [...msg.fields.keys()].sort((a, b) => a - b);
  const parts: Buffer[] = [mti, encodeBitmap(numbers, dialect.bitmapEncoding)];
  for (const n of numbers) {
    const spec = dialect.fields.get(n);
    if (!spec) throw new Iso8583EncodeError(n, `not defined in dialect ${dialect.name}`);
    parts.push(encodeField(spec, msg.fields.get(n)!));
  }
  return Buffer.concat(parts);
}

/** Decodes `buf` from `start` to its end; the whole remainder must be exactly one message. */
export function decodeMessage(dialect: Dialect, buf: Buffer, start = 0): IsoMessage {
  const mtiWidth = dialect.mtiEncoding === 'bcd' ? 2 : 4;
  if (start + mtiWidth > buf.length) {
    throw new Iso8583DecodeError('mti', start, 'truncated', `MTI needs ${mtiWidth} bytes, ${buf.length - start} left`);
  }
  const mti =
    dialect.mtiEncoding === 'bcd'
      ? buf.toString('hex', start, start + 2)
      : buf.toString('latin1', start, start + 4);
  if (!/^[0-9]{4}$/.test(mti)) {
    const reason = dialect.mtiEncoding === 'bcd' ? 'bad-bcd-nibble' : 'not-numeric';
    throw new Iso8583DecodeError('mti', start, reason, `MTI "${mti}" is not four digits`);
  }
  const bitmapAt = start + mtiWidth;
  const allowSecondary = [...dialect.fields.keys()].some((n) => n > 64);
  const { fields: numbers, next } = decodeBitmap(buf, bitmapAt, dialect.bitmapEncoding, allowSecondary);
  const fields = new Map<number, FieldValue>();
  let pos = next;
  for (const n of numbers) {
    const spec = dialect.fields.get(n);
    if (!spec) throw new Iso8583DecodeError(n, bitmapAt, 'unknown-field', `bitmap announces field ${n}, not defined in ${dialect.name}`);
    const { value, next: after } = decodeField(spec, buf, pos);
    fields.set(n, value);
    pos = after;
  }
  if (pos !== buf.length) {
    throw new Iso8583DecodeError('message', pos, 'trailing-bytes', `${buf.length - pos} bytes after the last field`);
  }
  return { mti, fields };
}
