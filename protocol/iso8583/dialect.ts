// A dialect is everything the generic codec needs to know about one network's layout: how the MTI and
// bitmap are written and the table of data elements it accepts. Anything not in the table is refused.
import type { BitmapEncoding } from './bitmap.js';
import type { Content, Encoding, FieldSpec, LengthType } from './field-types.js';

export interface Dialect {
  readonly name: string;
  readonly mtiEncoding: 'bcd' | 'ascii';
  readonly bitmapEncoding: BitmapEncoding;
  readonly fields: ReadonlyMap<number, FieldSpec>;
}

/** One table row: number, name, content, length type, max, encoding, and (BCD only) the pad side. */
export type FieldRow = [number, string, Content, LengthType, number, Encoding, ('left' | 'right')?];

export function fieldTable(prefix: 'bcd' | 'ascii', rows: readonly FieldRow[]): ReadonlyMap<number, FieldSpec> {
  const table = new Map<number, FieldSpec>();
  for (const [number, name, content, lengthType, max, encoding, pad] of rows) {
    // Variable-length BCD digits are left-aligned (pad right); fixed ones right-aligned unless the row says.
    const side = pad ?? (lengthType === 'fixed' ? 'left' : 'right');
    table.set(number, { number, name, content, lengthType, max, encoding, prefix, pad: side });
  }
  return table;
}
