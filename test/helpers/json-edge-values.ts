// Values whose JSON text differs from the value as it is (-0, NaN, holes, undefined, functions, symbols, a
// null prototype, key order, escapes): both plain-data walks (json-copy.ts, json-frame.ts) must give what
// JSON.stringify and JSON.parse give for each. A fresh list per call: the tests may not share objects.
export function jsonWrittenDifferently(): unknown[] {
  return [
    -0,
    { z: -0, n: NaN, i: Infinity, m: -Infinity },
    [undefined, () => 1, Symbol('s'), -0, NaN],
    { u: undefined, f: () => 1, s: Symbol('s'), kept: 1 },
    // eslint-disable-next-line no-sparse-arrays
    [1, , 3],
    Object.assign(Object.create(null), { a: 1, b: { c: [1, 2] } }),
    { 10: 'ten', 2: 'two', b: 1, a: 2, '-1': 3, '01': 4 },
    { s: 'lone \ud800 surrogate', e: '\u0000\n"\\', zh: '消费 冲正' },
    { toJSON: 'not a function' },
    { [Symbol('hidden')]: 1, shown: 2 },
    Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false }),
    Object.assign([1, 2], { extra: 'not written' }),
    1e21,
    5e-324,
    'text',
    true,
    null,
  ];
}
