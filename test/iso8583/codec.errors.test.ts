// Each class of bad input names the field and the byte offset where it went wrong.
import { describe, expect, it } from 'vitest';
import {
  cupDialect,
  decodeCup,
  decodeMessage,
  encodeMessage,
  Iso8583DecodeError,
  Iso8583EncodeError,
  iso1987AsciiDialect,
  message,
} from '../../protocol/iso8583/index.js';

function decodeError(fn: () => unknown): Iso8583DecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Iso8583DecodeError) return e;
    throw e;
  }
  throw new Error('expected a decode error');
}

const sale = message('0200', { 2: '6212140000000000003', 3: '000000', 4: '000000012345', 11: '000017', 41: 'T0000001' });

describe('CUP strict decoding', () => {
  const bytes = encodeMessage(cupDialect, sale);
  // MTI 2 + bitmap 8 = 10; field 2 = LL (1) + 10 bytes → field 3 at 21, field 4 at 24, field 11 at 30.

  it('names a truncated field and where it starts', () => {
    const e = decodeError(() => decodeMessage(cupDialect, bytes.subarray(0, 27)));
    expect([e.field, e.offset, e.reason]).toEqual([4, 24, 'truncated']);
  });

  it('rejects a bad BCD nibble at its byte', () => {
    const bad = Buffer.from(bytes);
    bad[31] = 0x0a;
    const e = decodeError(() => decodeMessage(cupDialect, bad));
    expect([e.field, e.offset, e.reason]).toEqual([11, 31, 'bad-bcd-nibble']);
  });

  it('rejects a non-zero pad nibble in an odd-length PAN', () => {
    const bad = Buffer.from(bytes);
    bad[20] = bad[20]! | 0x01;
    const e = decodeError(() => decodeMessage(cupDialect, bad));
    expect([e.field, e.offset, e.reason]).toEqual([2, 20, 'bad-padding']);
  });

  it('rejects a length prefix over the field maximum', () => {
    const bad = Buffer.from(bytes);
    bad[10] = 0x20;
    const e = decodeError(() => decodeMessage(cupDialect, bad));
    expect([e.field, e.offset, e.reason]).toEqual([2, 10, 'too-long']);
  });

  it('rejects a field the dialect does not define', () => {
    const bad = Buffer.from(bytes);
    bad[2 + 0] = bad[2]! | 0x02; // bit 7: field 7 is not CUP POS
    const e = decodeError(() => decodeMessage(cupDialect, bad));
    expect([e.field, e.reason]).toEqual([7, 'unknown-field']);
  });

  it('rejects trailing bytes after the last field', () => {
    const e = decodeError(() => decodeMessage(cupDialect, Buffer.concat([bytes, Buffer.from([0])])));
    expect([e.field, e.offset, e.reason]).toEqual(['message', bytes.length, 'trailing-bytes']);
  });

  it('rejects a secondary bitmap bit in CUP (no field 65-128 is defined)', () => {
    const bad = Buffer.concat([bytes.subarray(0, 2), Buffer.from([0x80 | bytes[2]!]), bytes.subarray(3)]);
    const e = decodeError(() => decodeMessage(cupDialect, bad));
    expect([e.field, e.offset, e.reason]).toEqual(['bitmap', 2, 'unknown-field']);
  });

  it('rejects a TPDU that is not 0x60', () => {
    const e = decodeError(() => decodeCup(Buffer.concat([Buffer.from('7000030000603100000000', 'hex'), bytes])));
    expect([e.field, e.offset, e.reason]).toEqual(['tpdu', 0, 'bad-tpdu']);
  });
});

describe('ISO 8583:1987 ASCII strict decoding', () => {
  const m = message('0800', { 11: '000001', 41: 'TERM0001', 70: '001' });
  const bytes = encodeMessage(iso1987AsciiDialect, m);

  it('round-trips a secondary bitmap', () => {
    expect(bytes.toString('latin1').slice(0, 36)).toBe('0800' + '8020000000800000' + '0400000000000000');
    expect(decodeMessage(iso1987AsciiDialect, bytes)).toEqual(m);
  });

  it('rejects a letter in a numeric field at its byte', () => {
    const bad = Buffer.from(bytes);
    bad[36 + 3] = 0x41;
    const e = decodeError(() => decodeMessage(iso1987AsciiDialect, bad));
    expect([e.field, e.offset, e.reason]).toEqual([11, 39, 'not-numeric']);
  });

  it('rejects a secondary bitmap with no fields', () => {
    const bad = Buffer.from('0800' + '8000000000000000' + '0000000000000000', 'latin1');
    const e = decodeError(() => decodeMessage(iso1987AsciiDialect, bad));
    expect([e.field, e.offset, e.reason]).toEqual(['bitmap', 20, 'empty-secondary-bitmap']);
  });
});

describe('encoding refuses what it cannot send', () => {
  it('names the field of a wrong-length fixed element', () => {
    expect(() => encodeMessage(cupDialect, message('0200', { 11: '17' }))).toThrow(Iso8583EncodeError);
    expect(() => encodeMessage(cupDialect, message('0200', { 11: '17' }))).toThrow(/field 11/);
  });
  it('refuses a field outside the dialect', () => {
    expect(() => encodeMessage(cupDialect, message('0200', { 90: '1' }))).toThrow(/field 90: not defined/);
  });
});
