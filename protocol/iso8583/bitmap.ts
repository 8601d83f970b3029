// Primary and secondary bitmaps. Bit 1 of the primary map says a secondary map (fields 65-128) follows;
// bit 1 is never a data element. Bitmaps travel as 8 raw bytes each, or as 16 ASCII hex digits each.
import { Iso8583DecodeError, Iso8583EncodeError } from './errors.js';

export type BitmapEncoding = 'binary' | 'hex';

/** Builds the bitmap for the given data element numbers (2..128). */
export function encodeBitmap(fields: readonly number[], encoding: BitmapEncoding): Buffer {
  const secondary = fields.some((f) => f > 64);
  const map = Buffer.alloc(secondary ? 16 : 8);
  if (secondary) map[0]! |= 0x80;
  for (const f of fields) {
    if (!Number.isInteger(f) || f < 2 || f > 128 || f === 65) {
      throw new Iso8583EncodeError('bitmap', `no data element ${f} (valid: 2-64, 66-128)`);
    }
    map[(f - 1) >> 3]! |= 0x80 >> ((f - 1) & 7);
  }
  return encoding === 'binary' ? map : Buffer.from(map.toString('hex').toUpperCase(), 'ascii');
}

function readMap(buf: Buffer, at: number, encoding: BitmapEncoding, which: string): Buffer {
  const width = encoding === 'binary' ? 8 : 16;
  if (at + width > buf.length) {
    throw new Iso8583DecodeError('bitmap', at, 'truncated', `${which} bitmap needs ${width} bytes, ${buf.length - at} left`);
  }
  if (encoding === 'binary') return buf.subarray(at, at + 8);
  const text = buf.toString('latin1', at, at + 16);
  const bad = text.search(/[^0-9A-Fa-f]/);
  if (bad >= 0) throw new Iso8583DecodeError('bitmap', at + bad, 'bad-character', `${which} bitmap: not a hex digit`);
  return Buffer.from(text, 'hex');
}

/** Data element numbers present, ascending, and the offset after the bitmap(s). */
export function decodeBitmap(
  buf: Buffer,
  at: number,
  encoding: BitmapEncoding,
  allowSecondary: boolean,
): { fields: number[]; next: number } {
  const width = encoding === 'binary' ? 8 : 16;
  const primary = readMap(buf, at, encoding, 'primary');
  let map = primary;
  let next = at + width;
  const hasSecondary = (primary[0]! & 0x80) !== 0;
  if (hasSecondary && !allowSecondary) {
    throw new Iso8583DecodeError('bitmap', at, 'unknown-field', 'bit 1 announces a secondary bitmap, which this dialect does not use');
  }
  if (hasSecondary) {
    const secondary = readMap(buf, next, encoding, 'secondary');
    if (secondary.every((b) => b === 0)) {
      throw new Iso8583DecodeError('bitmap', next, 'empty-secondary-bitmap', 'bit 1 set but no field 65-128 present');
    }
    map = Buffer.concat([primary, secondary]);
    next += width;
  }
  const fields: number[] = [];
  for (let f = 2; f <= map.length * 8; f++) {
    if (map[(f - 1) >> 3]! & (0x80 >> ((f - 1) & 7))) fields.push(f);
  }
  return { fields, next };
}
