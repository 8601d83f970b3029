// Reading records back by seq (record-reader.ts), which the batch upload and the lookups of kept history
// use, and the type registry that names and upgrades what it reads (record-types.ts). What must hold: every
// record from the seq asked for, oldest first, upgraded; only the segments that can hold them are read (a
// read from the newest seqs must not cost the whole history); a record no longer kept reads as null; a
// corrupt segment stops the read with a typed error at its place; the registry refuses a code or version the
// format cannot carry and a code taken by another type.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { JournalCorruptionError, JournalSchemaError } from '../../firmware-ts/journal/errors.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { readRecord, readRecordsFrom } from '../../firmware-ts/journal/record-reader.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import type { StateMachine } from '../../firmware-ts/journal/state-machine.js';
import type { Storage } from '../../firmware-ts/io/storage.js';
import { parseSegmentFileName } from '../../protocol/journal/format.js';

const DIR = '/j';
const key = randomBytes(32);
const NOTE_V1 = { name: 'test.note', code: 300, version: 1 };
const NOTE_V2 = { ...NOTE_V1, version: 2, upgrade: { 1: (p: { n: number }) => ({ ...p, upgraded: true }) } };

const fold: StateMachine<{ n: number }> = {
  initial: () => ({ n: 0 }),
  apply(s) {
    s.n++;
  },
  toCheckpoint: (s) => s,
  fromCheckpoint: (snap) => ({ ...(snap as { n: number }) }),
  oldestOpenSeq: () => null,
};

/** A journal of several 64 KiB segments holding 600 notes; returns their seqs. */
async function written(disk: SimDisk): Promise<{ journal: Journal<{ n: number }>; seqs: number[] }> {
  const journal = await Journal.open({ dir: DIR, deviceKey: key, storage: disk, segmentBytes: 64 * 1024, fold, types: new RecordTypes([NOTE_V1]) });
  const seqs: number[] = [];
  for (let n = 0; n < 600; n++) {
    const { firstSeq: seq } = await journal.append([{ type: 'test.note', payload: { n, pad: 'x'.repeat(200) } }], { durable: n % 50 === 49 });
    seqs.push(seq);
  }
  expect(journal.segmentNames().length).toBeGreaterThan(2);
  return { journal, seqs };
}

/** The storage, counting which files are opened. */
function counting(disk: SimDisk): { storage: Storage; opened: string[] } {
  const opened: string[] = [];
  const storage = new Proxy(disk, {
    get(target, prop, receiver) {
      if (prop === 'open') return (p: string, mode: 'r' | 'rw' | 'create') => (opened.push(p.slice(DIR.length + 1)), target.open(p, mode));
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as unknown as Storage;
  return { storage, opened };
}

describe('record reader', () => {
  it('reads every note from a seq, oldest first, upgraded, opening only the segments from the one that holds it', async () => {
    const disk = new SimDisk();
    const { journal, seqs } = await written(disk);
    const names = journal.segmentNames();
    const types = new RecordTypes([...INTERNAL_TYPES, NOTE_V2]);
    for (const from of [seqs[0]!, seqs[299]!, seqs[599]!, parseSegmentFileName(names[1]!)!, parseSegmentFileName(names[1]!)! - 1]) {
      const { storage, opened } = counting(disk);
      const got = [...readRecordsFrom({ journal, storage, types }, from)].filter((r) => r.type === 'test.note');
      expect(got.map((r) => r.seq)).toEqual(seqs.filter((s) => s >= from));
      expect(got.every((r) => (r.payload as { upgraded?: boolean }).upgraded === true)).toBe(true);
      expect((got[0]!.payload as { n: number }).n).toBe(seqs.indexOf(got[0]!.seq));
      // The segment holding `from` is the last one named at or before it; none before it is opened.
      const holding = names.filter((n) => parseSegmentFileName(n)! <= from).at(-1)!;
      expect(opened).toEqual(names.slice(names.indexOf(holding)));
    }
    await journal.close();
  });

  it('reads one record by seq, or null for a seq past the end; the first segment is where a seq before every name is looked for', async () => {
    const disk = new SimDisk();
    const { journal, seqs } = await written(disk);
    const types = new RecordTypes([...INTERNAL_TYPES, NOTE_V1]);
    const opts = { journal, storage: disk, types };
    expect(readRecord(opts, seqs[123]!)).toEqual({ seq: seqs[123], type: 'test.note', payload: { n: 123, pad: 'x'.repeat(200) } });
    expect(readRecord(opts, seqs[599]! + 1000)).toBeNull();
    // A journal whose oldest kept segment starts after seq 1 (retired history): an older seq is not there.
    const later = { ...journal, segmentNames: () => journal.segmentNames().slice(1), dir: journal.dir };
    const firstKept = parseSegmentFileName(journal.segmentNames()[1]!)!;
    expect(readRecord({ ...opts, journal: later }, seqs[0]!)).toBeNull();
    expect(readRecord({ ...opts, journal: later }, firstKept)?.seq).toBe(firstKept);
    await journal.close();
  });

  it('stops at a corrupt segment with a typed error at its place', async () => {
    const disk = new SimDisk();
    const { journal, seqs } = await written(disk);
    const names = journal.segmentNames();
    await journal.close();
    const victim = `${DIR}/${names[1]!}`;
    const img = disk.readFile(victim);
    // Flip a byte inside the first record after the header area's checkpoint: its CRC no longer holds.
    const at = img.indexOf(Buffer.from('"pad"'), 4096);
    disk.damage(victim, at, Buffer.from([img[at]! ^ 0xff]));
    const reopened = { dir: DIR, segmentNames: () => names };
    const read = () => [...readRecordsFrom({ journal: reopened, storage: disk, types: new RecordTypes([...INTERNAL_TYPES, NOTE_V1]) }, seqs[0]!)];
    expect(read).toThrow(JournalCorruptionError);
    try {
      read();
    } catch (e) {
      const err = e as JournalCorruptionError;
      expect(err.segment).toBe(names[1]);
      expect(err.offset).toBeLessThanOrEqual(at);
      expect(err.offset).toBeGreaterThan(0);
    }
  });
});

describe('record reader and where a segment may be torn', () => {
  it('a garbled last batch of an older segment stops the read; the same in the newest segment is a torn tail the writer has not acknowledged', async () => {
    const disk = new SimDisk();
    const { journal, seqs } = await written(disk);
    const names = journal.segmentNames();
    await journal.close();
    const types = new RecordTypes([...INTERNAL_TYPES, NOTE_V1]);
    const live = { dir: DIR, segmentNames: () => names };
    const garble = (name: string, at: number, bytes: number) => disk.damage(`${DIR}/${name}`, at, Buffer.alloc(bytes, 0xee));
    // The newest segment: bytes past its last batch, as a power cut mid-write leaves them.
    const newest = disk.readFile(`${DIR}/${names.at(-1)!}`);
    let end = newest.length;
    while (end > 0 && newest[end - 1] === 0) end--;
    garble(names.at(-1)!, Math.ceil(end / 8) * 8 + 8, 64);
    const all = [...readRecordsFrom({ journal: live, storage: disk, types }, seqs[0]!)].filter((r) => r.type === 'test.note');
    expect(all.map((r) => r.seq)).toEqual(seqs);
    // An older segment's seal, its last batch, garbled: corruption there, never cut as a torn tail.
    const older = disk.readFile(`${DIR}/${names[1]!}`);
    let sealEnd = older.length;
    while (sealEnd > 0 && older[sealEnd - 1] === 0) sealEnd--;
    garble(names[1]!, sealEnd - 8, 8);
    expect(() => [...readRecordsFrom({ journal: live, storage: disk, types }, seqs[0]!)]).toThrow(JournalCorruptionError);
  });
});

describe('record types', () => {
  it('refuses a code or version the format cannot carry, and a code another type holds', () => {
    const t = new RecordTypes();
    expect(() => t.register({ name: 'a', code: 0, version: 1 })).toThrow('record type a: code must be 1..65535');
    expect(() => t.register({ name: 'a', code: 0x10000, version: 1 })).toThrow('record type a: code must be 1..65535');
    expect(() => t.register({ name: 'a', code: 1.5, version: 1 })).toThrow('record type a: code must be 1..65535');
    expect(() => t.register({ name: 'a', code: 1, version: 0 })).toThrow('record type a: version must be 1..255');
    expect(() => t.register({ name: 'a', code: 1, version: 256 })).toThrow('record type a: version must be 1..255');
    t.register({ name: 'a', code: 1, version: 1 });
    t.register({ name: 'z', code: 0xffff, version: 255 });
    expect(() => t.register({ name: 'b', code: 1, version: 1 })).toThrow('record type code 1 is taken by a');
    // The same type again (a newer version of itself) replaces its schema.
    t.register({ name: 'a', code: 1, version: 2, upgrade: { 1: (p) => p } });
    expect(t.schemaFor('a').version).toBe(2);
    expect(t.all().map((s) => s.name)).toEqual(['a', 'z']);
    expect(t.nameOf(1)).toBe('a');
    expect(t.nameOf(2)).toBe('unknown#2');
  });

  it('names what it cannot read: an unknown name or code, a newer version, a missing upgrade step', () => {
    const t = new RecordTypes([{ name: 'a', code: 1, version: 3, upgrade: { 1: (p: object) => ({ ...p, v2: true }) } }]);
    const schemaError = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(JournalSchemaError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(schemaError(() => t.schemaFor('b'))).toContain('unknown record type');
    expect(schemaError(() => t.upgrade(9, 1, {}))).toContain('unknown record type code (written by a newer build?)');
    expect(schemaError(() => t.upgrade(1, 4, {}))).toContain('written by a newer build (this build knows up to v3)');
    expect(schemaError(() => t.upgrade(1, 1, {}))).toContain('no upgrade from v2 to v3');
    expect(t.upgrade(1, 3, { x: 1 })).toEqual({ name: 'a', payload: { x: 1 } });
  });
});
