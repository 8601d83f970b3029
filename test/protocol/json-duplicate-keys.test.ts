// findDuplicateKey: JSON.parse keeps the last of a key given twice, silently; a config with two terminalIds
// booted as the second. The finder agrees with a parse of each object's own keys on any JSON (property),
// and names the dotted path of the first key given twice.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findDuplicateKey } from '../../protocol/json/jsonc.js';

/** A value whose objects are written with keys from `keys` (duplicates allowed), as raw JSON text. */
const rawJson = (depth: number): fc.Arbitrary<string> => {
  const key = fc.constantFrom('a', 'b', 'é', 'a\\"b', 'x,y', '{', ']');
  const leaf = fc.oneof(fc.integer().map(String), fc.constantFrom('true', 'null', '"s,}"', '"\\\\"', '"[{"'));
  if (depth === 0) return leaf;
  const inner = rawJson(depth - 1);
  return fc.oneof(
    leaf,
    fc.array(inner, { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`),
    fc.array(fc.tuple(key, inner), { maxLength: 4 }).map((kv) => `{${kv.map(([k, v]) => `"${k}": ${v}`).join(',')}}`),
  );
};

describe('findDuplicateKey', () => {
  it('names the path of the first key given twice, at any depth, through arrays', () => {
    expect(findDuplicateKey('{"a":1,"b":{"c":[{"d":1},{"d":2,"d":3}]}}')).toMatchObject({ path: 'b.c[1].d' });
    expect(findDuplicateKey('{"terminalId":"12345678", "x": {"terminalId": 1}, "terminalId":"87654321"}')).toEqual({ path: 'terminalId', offset: 50 });
    expect(findDuplicateKey('{"a":"\\"a\\"","b":["a","a"],"c":{}}')).toBeNull();
    expect(findDuplicateKey('[{"k":1},{"k":2}]')).toBeNull();
  });

  it('agrees with JSON.parse on any valid JSON: null exactly when every object keeps all its members', () => {
    fc.assert(
      fc.property(rawJson(3), (text) => {
        JSON.parse(text);
        // Members JSON.parse keeps = members written, exactly when no object repeats a key.
        const written = (text.match(/"\s*:/g) ?? []).length;
        let kept = 0;
        JSON.parse(text, function (this: unknown, k: string, v: unknown) {
          if (this !== null && typeof this === 'object' && !Array.isArray(this) && k !== '') kept++;
          return v;
        });
        expect(findDuplicateKey(text) !== null).toBe(kept !== written);
      }),
      { numRuns: 500 },
    );
  });
});
