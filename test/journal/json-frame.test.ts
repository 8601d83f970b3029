// The append path's one-walk writer (json-frame.ts) must write exactly the UTF-8 of JSON.stringify, return
// the copy plainJsonCopy would make, decline (NOT_PLAIN) wherever plainJsonCopy declines, and answer NO_ROOM
// rather than write a byte at or past the end it is given. Then through a real journal: records written on
// the one-walk path and on the general path (a payload too large for the frame's room) read back alike.
import { randomBytes } from 'node:crypto';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { NOT_PLAIN, plainJsonCopy } from '../../firmware-ts/journal/json-copy.js';
import { NO_ROOM, PlainJsonFrameWriter } from '../../firmware-ts/journal/json-frame.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { readRecordsFrom } from '../../firmware-ts/journal/record-reader.js';
import type { StateMachine } from '../../firmware-ts/journal/state-machine.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { jsonWrittenDifferently } from '../helpers/json-edge-values.js';
import { tmpDir } from '../helpers/tmp.js';

const GUARD = 0xa5;

/** Writes `v` at offset 7 of a guarded buffer and checks everything the writer promises about it. */
function checkWrite(v: unknown, room = 1 << 16): 'written' | 'declined' | 'no room' {
  const buf = Buffer.alloc(room + 32, GUARD);
  const w = new PlainJsonFrameWriter();
  const end = 7 + room;
  const out = w.write(v, buf, 7, end);
  // Nothing at or past the end, and nothing before the start, whatever the answer.
  for (let i = end; i < buf.length; i++) expect(buf[i]).toBe(GUARD);
  for (let i = 0; i < 7; i++) expect(buf[i]).toBe(GUARD);
  if (out === NO_ROOM) {
    expect(Buffer.byteLength(JSON.stringify(v))).toBeGreaterThan(room);
    return 'no room';
  }
  if (out === NOT_PLAIN) {
    expect(plainJsonCopy(v)).toBe(NOT_PLAIN);
    return 'declined';
  }
  const copy = plainJsonCopy(v);
  expect(copy).not.toBe(NOT_PLAIN);
  expect(buf.subarray(7, w.written).equals(Buffer.from(JSON.stringify(v)))).toBe(true);
  expect(JSON.stringify(out)).toBe(JSON.stringify(copy));
  expect(out).toEqual(JSON.parse(JSON.stringify(v)));
  if (typeof v === 'object' && v !== null) expect(out).not.toBe(v);
  return 'written';
}

describe('PlainJsonFrameWriter', () => {
  it('writes the bytes of JSON.stringify and the copy of plainJsonCopy for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        if (checkWrite(v) === 'declined') expect(JSON.stringify(v)).toContain('"__proto__"');
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with JSON.stringify on strings of every kind: escapes, CJK, astral characters, lone surrogates', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: fc.constantFrom('\ud800', '\udfff', '"', '\\', '\u0000', '\u001f', '\u007f', 'a', '冲') })), (s) => {
        // An own "__proto__" key is the one plain key left to the general path.
        expect(checkWrite({ [s]: s, list: [s, s] })).toBe(s === '__proto__' ? 'declined' : 'written');
      }),
      { numRuns: 2000 },
    );
  });

  it('writes what JSON writes differently from the value as JSON writes it', () => {
    const values = [...jsonWrittenDifferently(), [1e21, 5e-324, 0.1 + 0.2, -1e-7, 2 ** 53 + 2], {}, [], ''];
    for (const v of values) expect(checkWrite(v)).toBe('written');
  });

  it('declines what is not plain, as plainJsonCopy does, so the general path reports it', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    const values: unknown[] = [
      undefined,
      () => 1,
      10n,
      { amount: 10n },
      new Date(0),
      Buffer.from('ab'),
      new Map([[1, 2]]),
      { toJSON: () => 'x' },
      cyclic,
      deep,
      JSON.parse('{"__proto__": 1}'),
      [1, new (class Point {})()],
    ];
    for (const v of values) expect(checkWrite(v)).toBe('declined');
  });

  it('reads each property once, so a getter cannot make the text and the copy differ', () => {
    let reads = 0;
    const v = {
      get amount() {
        reads++;
        return reads;
      },
    };
    const buf = Buffer.alloc(64);
    const w = new PlainJsonFrameWriter();
    const copy = w.write(v, buf, 0, 64);
    expect(reads).toBe(1);
    expect(buf.toString('utf8', 0, w.written)).toBe('{"amount":1}');
    expect(copy).toEqual({ amount: 1 });
    const throwing = Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw new Error('no'); } });
    expect(w.write(throwing, buf, 0, 64)).toBe(NOT_PLAIN);
  });

  it('answers NO_ROOM, never a cut text, for every end short of the text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (v, cut) => {
        const text = Buffer.from(JSON.stringify(v));
        const room = text.length === 0 ? 0 : cut % text.length;
        const out = checkWrite(v, room);
        expect(out === 'no room' || out === 'declined').toBe(true);
        expect(checkWrite(v, text.length)).not.toBe('no room');
      }),
      { numRuns: 500 },
    );
  });
});

describe('the journal on both paths', () => {
  interface Log {
    items: unknown[];
  }
  const fold: StateMachine<Log> = {
    initial: () => ({ items: [] }),
    apply: (s, r) => void s.items.push(r.payload),
    toCheckpoint: (s) => s,
    fromCheckpoint: (c) => c as Log,
    oldestOpenSeq: () => null,
  };
  const types = () => new RecordTypes([{ name: 'note', code: 100, version: 1 }]);

  it('writes the same bytes for a payload the frame has room for and one it must grow for, and folds what reads back', async () => {
    const dir = tmpDir('json-frame');
    const deviceKey = randomBytes(32);
    const j = await Journal.open({ dir, deviceKey, fold, types: types() });
    const small = { text: 'abc "quoted" 冲正 \ud800', n: -0, list: [undefined, 1] };
    // Larger than the frame's first 16 KiB: written by the general path into a grown frame.
    const large = { text: 'x'.repeat(40_000), also: '冲'.repeat(3000) };
    const oddShape = { when: new Date(0) };
    await j.append([{ type: 'note', payload: small }], { durable: true });
    await j.append([{ type: 'note', payload: large }, { type: 'note', payload: small }], { durable: true });
    await j.append([{ type: 'note', payload: oddShape }], { durable: true });
    const before = structuredClone(j.state);
    const names = j.segmentNames();
    await j.close();
    const read = [...readRecordsFrom({ journal: { dir, segmentNames: () => names }, storage: nodeStorage, types: new RecordTypes([...INTERNAL_TYPES, ...types().all()]) }, 1)]
      .filter((r) => r.type === 'note')
      .map((r) => r.payload);
    const expected = [small, large, small, oddShape].map((p) => JSON.parse(JSON.stringify(p)));
    expect(read).toEqual(expected);
    expect(before.items).toEqual(expected);
    const again = await Journal.open({ dir, deviceKey, fold, types: types() });
    expect(again.state.items).toEqual(expected);
    await again.close();
  });
});
