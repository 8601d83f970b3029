// The strict BER-TLV parser: EMV examples, every typed error with its offset, and fuzzing (random bytes give
// nodes or a TlvError; encode/parse roundtrip).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TlvError, encodeTlv, findTag, parseTlv, validTag, type TlvNode } from '../../protocol/emv/tlv.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function tlvError(s: string): TlvError {
  try {
    parseTlv(h(s));
  } catch (err) {
    if (err instanceof TlvError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

describe('parseTlv', () => {
  it('reads EMV data objects with one- and two-byte tags', () => {
    const nodes = parseTlv(h('9F2608 0102030405060708 9F2701 80 95 05 0000008000 9F3602 0042 82 02 1980 84 07 A0000000031010'));
    expect(nodes.map((n) => n.tag)).toEqual(['9F26', '9F27', '95', '9F36', '82', '84']);
    expect(findTag(nodes, '9F27')?.value).toEqual(h('80'));
    expect(findTag(nodes, '84')?.value.toString('hex')).toBe('a0000000031010');
  });

  it('reads long-form lengths and nested constructed objects', () => {
    const long = 'AB'.repeat(200);
    // 0x70 holds 0xCC = 204 bytes: tag 9F10 (2) + length 81 C8 (2) + 200 value bytes.
    const nodes = parseTlv(h(`70 81 CC 9F10 81 C8 ${long} 77 04 9F36 01 07`));
    expect(nodes.map((n) => n.tag)).toEqual(['70', '77']);
    expect(findTag(nodes, '9F10')?.value.length).toBe(200);
    expect(findTag(nodes, '9F36')?.value).toEqual(h('07'));
  });

  it('finds tags inside constructed templates', () => {
    const nodes = parseTlv(h('77 0B 9F27 01 40 9F36 02 0001 95 00'));
    expect(nodes[0]?.children?.map((n) => n.tag)).toEqual(['9F27', '9F36', '95']);
    expect(findTag(nodes, '9F27')?.value).toEqual(h('40'));
  });

  it('accepts an empty input and a zero-length value', () => {
    expect(parseTlv(h(''))).toEqual([]);
    expect(parseTlv(h('9500'))).toEqual([{ tag: '95', value: Buffer.alloc(0) }]);
  });

  const errors: Array<[string, string, string, number]> = [
    ['multi-byte tag cut off', '9F', 'TLV_TRUNCATED_TAG', 1],
    ['tag with a leading zero subsequent byte', '1F 80 01 00', 'TLV_BAD_TAG', 1],
    ['tag longer than 3 bytes', 'DF 81 82 03 01 00', 'TLV_TAG_TOO_LONG', 0],
    ['padding byte 00', '9F2701 80 00', 'TLV_BAD_TAG', 4],
    ['padding byte FF', 'FF', 'TLV_BAD_TAG', 0],
    ['no length', '9F27', 'TLV_TRUNCATED_LENGTH', 2],
    ['indefinite length', '70 80 9500 0000', 'TLV_INDEFINITE_LENGTH', 1],
    ['length field of 4 bytes', '9F10 84 00000001 AA', 'TLV_LENGTH_TOO_LONG', 2],
    ['long-form length cut off', '9F10 82 01', 'TLV_TRUNCATED_LENGTH', 3],
    ['value overruns', '9F26 08 0102', 'TLV_VALUE_OVERRUNS', 3],
    ['child overruns its template (offset is absolute)', '77 04 9F36 05 00', 'TLV_VALUE_OVERRUNS', 5],
  ];
  for (const [name, input, code, offset] of errors) {
    it(`${name} → ${code} at ${offset}`, () => {
      const e = tlvError(input);
      expect({ code: e.code, offset: e.offset }).toEqual({ code, offset });
    });
  }

  it('refuses nesting deeper than the limit', () => {
    let inner = h('9500');
    for (let i = 0; i < 12; i++) inner = Buffer.concat([Buffer.of(0x70, inner.length), inner]);
    expect(tlvError(inner.toString('hex')).code).toBe('TLV_TOO_DEEP');
  });
});

const tagArb = fc
  .oneof(
    fc.integer({ min: 0x01, max: 0xfe }).map((b) => [b]),
    fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 0x7f })).map(([cls, b]) => [(cls << 5) | 0x1f, b]),
  )
  .map((bytes) => Buffer.from(bytes).toString('hex').toUpperCase())
  .filter(validTag);
const primitiveTag = tagArb.filter((t) => (parseInt(t.slice(0, 2), 16) & 0x20) === 0);
const constructedTag = tagArb.filter((t) => (parseInt(t.slice(0, 2), 16) & 0x20) !== 0);

const nodeArb: fc.Arbitrary<TlvNode> = fc.letrec<{ node: TlvNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ tag: primitiveTag, value: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)) }),
    fc.tuple(constructedTag, fc.array(tie('node'), { maxLength: 3 })).map(([tag, children]) => ({
      tag,
      value: encodeTlv(children),
      children,
    })),
  ),
})).node;

describe('properties', () => {
  it('parse(encode(nodes)) == nodes', () => {
    fc.assert(
      fc.property(fc.array(nodeArb, { maxLength: 5 }), (nodes) => {
        expect(parseTlv(encodeTlv(nodes))).toEqual(nodes);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes give nodes or a TlvError, never anything else; offsets stay inside the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (u) => {
        try {
          const nodes = parseTlv(u);
          expect(encodeTlv(nodes).length).toBeLessThanOrEqual(u.length);
        } catch (err) {
          expect(err).toBeInstanceOf(TlvError);
          expect((err as TlvError).offset).toBeGreaterThanOrEqual(0);
          expect((err as TlvError).offset).toBeLessThanOrEqual(u.length);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('any truncation of a valid encoding is an error, not a shorter list', () => {
    fc.assert(
      fc.property(fc.array(nodeArb, { minLength: 1, maxLength: 3 }), fc.nat(), (nodes, cut) => {
        const bytes = encodeTlv(nodes);
        const n = cut % bytes.length;
        // Cutting between two top-level objects is still a valid (shorter) list; only check mid-object cuts.
        let boundary = 0;
        const boundaries = new Set([0]);
        for (const node of nodes) boundaries.add((boundary += encodeTlv([node]).length));
        if (boundaries.has(n)) return;
        expect(() => parseTlv(bytes.subarray(0, n))).toThrow(TlvError);
      }),
      { numRuns: 500 },
    );
  });
});
