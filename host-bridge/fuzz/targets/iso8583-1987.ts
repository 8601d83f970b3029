// The ISO 8583:1987 ASCII layout through the generic codec: decode → re-encode is the identity, or an
// Iso8583DecodeError.
import { decodeMessage, encodeMessage, Iso8583DecodeError, Iso8583EncodeError, iso1987AsciiDialect, message, type IsoMessage } from '../../../protocol/iso8583/index.js';
import { expectEqual, FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';
import { mutateMessage } from './iso-values.js';

const SEEDS = [
  message('0200', { 2: '4761739001010010', 3: '000000', 4: '000000012345', 7: '0315103015', 11: '000017', 22: '051', 41: '12345678', 42: '898310048990001', 49: '156' }),
  message('0210', { 3: '000000', 4: '000000012345', 11: '000017', 37: '000000000017', 38: '000017', 39: '00', 41: '12345678' }),
  message('0800', { 7: '0315103015', 11: '000001', 70: '001', 128: Buffer.from('0123456789ABCDEF', 'hex') }),
  message('0400', { 3: '000000', 4: '000000012345', 11: '000017', 39: '98', 90: '0200000017031510301500000000000000000000' + '00' }),
];

const sameMessage = (a: IsoMessage, b: IsoMessage) =>
  a.mti === b.mti && a.fields.size === b.fields.size && [...a.fields].every(([n, v]) => {
    const w = b.fields.get(n);
    return typeof v === 'string' ? v === w : Buffer.isBuffer(w) && v.equals(w);
  });

export const iso8583Ascii: FuzzTarget = {
  name: 'iso8583-1987',
  covers: ['/protocol/iso8583/'],
  maxLen: 2048,
  dictionary: ['0200', '0800', 'F', '0', '999', '19', '=', ' '].map((s) => Buffer.from(s)),
  seeds: () => SEEDS.map((m) => encodeMessage(iso1987AsciiDialect, m)),
  structured(input, rng) {
    try {
      return encodeMessage(iso1987AsciiDialect, mutateMessage(iso1987AsciiDialect, decodeMessage(iso1987AsciiDialect, input), rng));
    } catch (e) {
      if (e instanceof Iso8583DecodeError || e instanceof Iso8583EncodeError) return undefined;
      throw e;
    }
  },
  run(input) {
    refusedWith([Iso8583DecodeError], () => {
      const m = decodeMessage(iso1987AsciiDialect, input);
      const canonical = encodeMessage(iso1987AsciiDialect, m);
      if (!sameMessage(decodeMessage(iso1987AsciiDialect, canonical), m)) throw new FuzzFinding('decode → encode → decode changed the message');
      // Hex (bitmap, binary fields) is accepted in either case and written upper-case (ISO8583.md): the bytes
      // must come back identical when the input had no lower-case hex digit.
      if (!/[a-f]/.test(input.toString('latin1'))) expectEqual(canonical, input, 'decode → encode (1987 ASCII)');
    });
  },
};
