// The fold is given a private copy of the caller's payload instead of a parse of the JSON text written
// (json-copy.ts): the copy must be exactly what JSON.parse(JSON.stringify(value)) gives — keys, order,
// values, -0 written as 0 — share no object with the caller's value, and bail out (NOT_PLAIN) on anything
// the text would not round-trip. Then, through a real journal: a caller changing its objects after the
// append changes nothing the fold holds, and the state after a reopen equals the state before it.
import { randomBytes } from 'node:crypto';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { NOT_PLAIN, plainJsonCopy } from '../../firmware-ts/journal/json-copy.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import type { StateMachine } from '../../firmware-ts/journal/state-machine.js';
import { jsonWrittenDifferently } from '../helpers/json-edge-values.js';
import { tmpDir } from '../helpers/tmp.js';

/** Same structure, same key order, Object.is on leaves (so -0 and 0 differ). */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function objectsOf(v: unknown, out = new Set<object>()): Set<object> {
  if (typeof v === 'object' && v !== null && !out.has(v)) {
    out.add(v);
    for (const k of Object.keys(v)) objectsOf((v as Record<string, unknown>)[k], out);
  }
  return out;
}

/** The copy is the text's parse and shares nothing with the original; or it declined. */
function checkCopy(v: unknown): 'copied' | 'declined' {
  const copy = plainJsonCopy(v);
  if (copy === NOT_PLAIN) return 'declined';
  const text = JSON.stringify(v);
  expect(JSON.stringify(copy)).toBe(text);
  expect(sameJson(copy, JSON.parse(text))).toBe(true);
  const mine = objectsOf(v);
  for (const o of objectsOf(copy)) expect(mine.has(o)).toBe(false);
  return 'copied';
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('plainJsonCopy', () => {
  it('copies any JSON value exactly, as its text parses back', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        // A "__proto__" key is the one plain key it leaves to the parse.
        if (checkCopy(v) === 'declined') expect(JSON.stringify(v)).toContain('"__proto__"');
      }),
      { numRuns: 2000 },
    );
  });

  it('copies what JSON writes differently from the value as JSON writes it: -0, NaN, ±Infinity, undefined, functions, symbols, holes, a null prototype', () => {
    const values = jsonWrittenDifferently();
    for (const v of values) expect(checkCopy(v)).toBe('copied');
    expect(plainJsonCopy({ z: -0 })).toEqual({ z: 0 });
    expect(Object.is((plainJsonCopy([-0]) as number[])[0], 0)).toBe(true);
    expect(plainJsonCopy([undefined, () => 1])).toEqual([null, null]);
    expect(Object.getPrototypeOf(plainJsonCopy(Object.create(null)))).toBe(Object.prototype);
  });

  it('declines what the text would not give back as it is: toJSON, Dates, Buffers, class instances, Maps, boxed values, BigInts, cycles, "__proto__", a huge sparse array, a top level JSON writes nothing for', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const declined: unknown[] = [
      new Date(0),
      { at: new Date(0) },
      { raw: Buffer.from('abc') },
      { toJSON: () => 'x' },
      new Point(1, 2),
      { p: new Point(1, 2) },
      new Map([[1, 2]]),
      [new Set([1])],
      // eslint-disable-next-line no-new-wrappers
      { n: new Number(1) },
      { big: 1n },
      cyclic,
      deep,
      JSON.parse('{"__proto__":{"x":1}}'),
      // A sparse array whose text could never fit in a record: not walked element by element.
      { big: Object.assign([], { length: 2 ** 31 }) },
      undefined,
      () => 1,
      Symbol('s'),
      { get boom(): number {
        throw new Error('getter');
      } },
    ];
    for (const v of declined) expect(plainJsonCopy(v)).toBe(NOT_PLAIN);
  });

  it('reads each property once: a getter that changes its answer cannot make the copy and its text differ', () => {
    let n = 0;
    const v = {
      get changing() {
        return ++n;
      },
    };
    const copy = plainJsonCopy(v) as { changing: number };
    expect(n).toBe(1);
    expect(copy).toEqual({ changing: 1 });
    expect(JSON.parse(JSON.stringify(copy))).toEqual(copy);
  });
});

interface Note {
  seq: number;
  payload: unknown;
}

/** A fold that keeps every payload as it was given (so any object shared with a caller would show). */
const keepAll: StateMachine<Note[]> = {
  initial: () => [],
  apply: (s, r) => void s.push({ seq: r.seq, payload: r.payload }),
  toCheckpoint: (s) => s,
  fromCheckpoint: (snap) => structuredClone(snap as Note[]),
  oldestOpenSeq: () => null,
};

describe('the journal folds a copy, never the caller\'s objects', () => {
  it('state after the append does not change when the caller changes its payload; it equals the state a reopen folds', async () => {
    const dir = tmpDir('json-copy');
    const deviceKey = randomBytes(32);
    const types = new RecordTypes([{ name: 'test.note', code: 100, version: 1 }]);
    const j = await Journal.open({ dir, deviceKey, fold: keepAll, types });
    const payload = { n: 1, list: [1, { deep: 'x' }], when: new Date(0), neg: -0, gone: undefined as unknown };
    const plain = { n: 2, inner: { a: [1, 2] } };
    await j.append([{ type: 'test.note', payload }], { durable: true });
    await j.append([{ type: 'test.note', payload: plain }, { type: 'test.note', payload: plain }], { durable: false });
    const expected = [
      { seq: 2, payload: { n: 1, list: [1, { deep: 'x' }], when: '1970-01-01T00:00:00.000Z', neg: 0 } },
      { seq: 3, payload: { n: 2, inner: { a: [1, 2] } } },
      { seq: 4, payload: { n: 2, inner: { a: [1, 2] } } },
    ];
    expect(j.state).toEqual(expected);
    // The two records of one batch got a copy each.
    expect(j.state[1]!.payload).not.toBe(j.state[2]!.payload);
    payload.n = 99;
    (payload.list[1] as { deep: string }).deep = 'changed';
    plain.inner.a.push(3);
    expect(j.state).toEqual(expected);
    await j.close();
    const again = await Journal.open({ dir, deviceKey, fold: keepAll, types });
    expect(again.state).toEqual(expected);
    await again.close();
  });
});
