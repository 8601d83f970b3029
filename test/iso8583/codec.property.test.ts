import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cupDialect,
  decodeCup,
  decodeMessage,
  defaultTerminalEnvelope,
  encodeCup,
  encodeMessage,
  Iso8583DecodeError,
  iso1987AsciiDialect,
  type Dialect,
} from '../../protocol/iso8583/index.js';
import { messageArb } from './arbitraries.js';

const dialects: Dialect[] = [cupDialect, iso1987AsciiDialect];

/** Runs `fn` and fails on anything thrown that is not the codec's typed decode error. */
function onlyTypedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Iso8583DecodeError)) throw e;
    expect(typeof e.offset).toBe('number');
    expect(e.field).toBeDefined();
  }
}

describe.each(dialects)('$name round trip', (dialect) => {
  it('decode(encode(m)) = m for random valid messages', () => {
    fc.assert(
      fc.property(messageArb(dialect), (m) => {
        expect(decodeMessage(dialect, encodeMessage(dialect, m))).toEqual(m);
      }),
      { numRuns: 400 },
    );
  });

  it('random bytes only ever raise the typed decode error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => onlyTypedErrors(() => decodeMessage(dialect, Buffer.from(bytes)))),
      { numRuns: 2000 },
    );
  });

  it('mutated valid messages decode or raise the typed decode error', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ op: fc.constant('cut' as const), at: fc.nat(), bits: fc.constant(0) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bits: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(messageArb(dialect), fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, mutations) => {
        let bytes = encodeMessage(dialect, m);
        for (const { op, at, bits } of mutations) {
          const i = at % (bytes.length + 1);
          if (op === 'flip' && i < bytes.length) bytes[i]! ^= bits;
          else if (op === 'cut') bytes = bytes.subarray(0, i);
          else bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([bits]), bytes.subarray(i)]);
        }
        onlyTypedErrors(() => decodeMessage(dialect, bytes));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('CUP envelope', () => {
  it('round-trips TPDU, header and message', () => {
    fc.assert(
      fc.property(messageArb(cupDialect), (m) => {
        const decoded = decodeCup(encodeCup(defaultTerminalEnvelope, m));
        expect(decoded.message).toEqual(m);
        expect(decoded.envelope).toEqual(defaultTerminalEnvelope);
      }),
      { numRuns: 200 },
    );
  });

  it('random frame bodies only ever raise the typed decode error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const body = Buffer.from(bytes);
        if (body.length > 0 && bytes.length % 2 === 0) body[0] = 0x60;
        onlyTypedErrors(() => decodeCup(body));
      }),
      { numRuns: 2000 },
    );
  });
});
