// fast-check generators of valid messages, derived from the dialect tables so a new field is covered
// the moment it is added to a table.
import fc from 'fast-check';
import type { Dialect, FieldSpec, FieldValue, IsoMessage } from '../../protocol/iso8583/index.js';

const chars = (set: string) => fc.constantFrom(...set.split(''));
const DIGITS = '0123456789';
const AN = DIGITS + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ';
const ANS = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

export function valueArb(spec: FieldSpec): fc.Arbitrary<FieldValue> {
  const len = spec.lengthType === 'fixed' ? fc.constant(spec.max) : fc.integer({ min: 0, max: spec.max });
  if (spec.content === 'b') {
    return len.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a)));
  }
  const set = spec.content === 'n' ? DIGITS : spec.content === 'z' ? DIGITS + '=' : spec.content === 'an' ? AN : ANS;
  return len.chain((n) => fc.string({ unit: chars(set), minLength: n, maxLength: n }));
}

export function messageArb(dialect: Dialect): fc.Arbitrary<IsoMessage> {
  const specs = [...dialect.fields.values()];
  const mti = fc.string({ unit: chars(DIGITS), minLength: 4, maxLength: 4 });
  const entries = fc.tuple(
    ...specs.map((s) => fc.option(valueArb(s).map((v) => [s.number, v] as const), { nil: undefined, freq: 2 })),
  );
  return fc.record({ mti, entries }).map(({ mti, entries }) => ({
    mti,
    fields: new Map(entries.filter((e): e is readonly [number, FieldValue] => e !== undefined)),
  }));
}
