// The journal's write-ahead promises, each in milliseconds on a SimDisk (issue 14, mutation run): a durable
// append survives a power cut and a lazy one may not; a batch is all there or not at all; a torn tail is
// cut and appends go on after it with the next seq; damage to synced records, a wrong key or a segment
// that does not start with its checkpoint is refused; a failed fsync closes the journal for good; card
// data and oversized records are refused with nothing written.
import { describe, expect, it } from 'vitest';
import { Journal, type JournalOptions } from '../../firmware-ts/journal/journal.js';
import { JournalClosedError, JournalCorruptionError, JournalError, JournalLockedError, SensitiveDataError } from '../../firmware-ts/journal/errors.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import type { StateMachine } from '../../firmware-ts/journal/state-machine.js';
import { verifyJournal } from '../../firmware-ts/journal/verify.js';
import {
  encodeRecord,
  encodeSegmentHeader,
  encodeSegmentHeaderBody,
  FLAG_LAST_IN_BATCH,
  macHeaderBytes,
  parseSegmentFileName,
  recordSpan,
  SEGMENT_DATA_START,
  segmentFileName,
} from '../../protocol/journal/format.js';
import { RecordChain, ZERO_MAC } from '../../firmware-ts/journal/chain.js';
import { CHECKPOINT } from '../../firmware-ts/journal/internal-types.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';

const DIR = '/j';
const KEY = Buffer.alloc(32, 1);
const SEGMENT = 64 * 1024;

interface Notes {
  notes: number[];
  /** The seq each note was folded with. */
  seqs: number[];
  /** Seq of the oldest note not yet "closed" (the retention horizon), or null. */
  open: number | null;
  /** Payloads of test.text records, which are bare JSON strings. */
  texts: string[];
}

const fold: StateMachine<Notes> = {
  initial: () => ({ notes: [], seqs: [], open: null, texts: [] }),
  apply: (s, r) => {
    if (r.type === 'test.note') {
      s.notes.push((r.payload as { n: number }).n);
      s.seqs.push(r.seq);
    }
    if (r.type === 'test.open') s.open ??= r.seq;
    if (r.type === 'test.close') s.open = null;
    if (r.type === 'test.text') s.texts.push(r.payload as string);
  },
  toCheckpoint: (s) => s,
  fromCheckpoint: (snap) => structuredClone(snap) as Notes,
  oldestOpenSeq: (s) => s.open,
};

const types = () =>
  new RecordTypes([
    { name: 'test.note', code: 100, version: 1 },
    { name: 'test.open', code: 101, version: 1 },
    { name: 'test.close', code: 102, version: 1 },
    { name: 'test.text', code: 103, version: 1 },
  ]);

const open = (disk: SimDisk, more: Partial<JournalOptions<Notes>> = {}) => Journal.open<Notes>({ dir: DIR, deviceKey: KEY, fold, types: types(), storage: disk, segmentBytes: SEGMENT, ...more });

const note = (n: number, pad = 0) => ({ type: 'test.note', payload: { n, pad: 'x'.repeat(pad) } });

/** Power cut: what was not synced is lost (or torn, or garbage), then the journal is opened again. */
async function cutAndReopen(disk: SimDisk, mode: 'drop' | 'tear' | 'garbage' | 'keep' = 'drop', seed = 1) {
  disk.crash(createRng(seed), mode);
  return open(disk);
}

const segmentPath = (j: Journal<Notes>, i = -1) => `${DIR}/${j.segmentNames().at(i)!}`;

/**
 * The disk seen through a proxy that counts the file handles open now (`live()`), so a test can see that the
 * journal closes every file but the segment it writes; `override` replaces storage methods.
 */
function countingHandles(disk: SimDisk, override: Partial<Record<keyof SimDisk, unknown>> = {}) {
  let live = 0;
  const storage = new Proxy(disk, {
    get(target, key) {
      if (key in override) return override[key as keyof SimDisk];
      if (key === 'open')
        return (p: string, mode: 'r' | 'rw' | 'create') => {
          const f = target.open(p, mode);
          live++;
          return Object.assign(Object.create(f) as object, { close: () => (live--, f.close()) });
        };
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { storage, live: () => live };
}

describe('what a power cut leaves', () => {
  it('a durable append survives; lazy ones after it are lost; a later durable append makes them durable too', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    expect(await j.append([note(1)], { durable: true })).toEqual({ firstSeq: 2, lastSeq: 2 });
    await j.append([note(2)], { durable: false });
    const j2 = await cutAndReopen(disk);
    expect(j2.state.notes).toEqual([1]);
    expect(j2.nextSeq).toBe(3);

    await j2.append([note(2)], { durable: false });
    await j2.append([note(3)], { durable: true });
    const j3 = await cutAndReopen(disk);
    expect(j3.state.notes).toEqual([1, 2, 3]);
    // Appends go on where the journal ended, and the state folds the same on reopen.
    expect(await j3.append([note(4)], { durable: true })).toEqual({ firstSeq: 5, lastSeq: 5 });
    const j4 = await cutAndReopen(disk, 'keep');
    expect(j4.state.notes).toEqual([1, 2, 3, 4]);
  });

  it('each record of a batch is folded with its own seq, live as after a reopen', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    await j.append([note(1), note(2), note(3)], { durable: true });
    expect(j.state.seqs).toEqual([2, 3, 4]);
    expect((await cutAndReopen(disk)).state.seqs).toEqual([2, 3, 4]);
  });

  it('lazy appends made before a rotation survive a power cut after a durable append in the new segment', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    let n = 0;
    while (j.segmentNames().length < 2) await j.append([note(++n, 1_000)], { durable: false });
    await j.append([note(++n)], { durable: true });
    const again = await cutAndReopen(disk, 'drop');
    expect(again.state.notes).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it('the record chain goes on unbroken across a reopen and a rotation (verify with the key is clean)', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    await j.append([note(1)], { durable: true });
    await j.close();
    const k = await open(disk);
    let n = 1;
    while (k.segmentNames().length < 2) await k.append([note(++n, 1_000)], { durable: true });
    await k.close();
    const report = verifyJournal(DIR, { deviceKey: KEY, storage: disk, types: types() });
    expect(report).toMatchObject({ chainChecked: true, corrupt: null, tampered: null });
    expect(report.records).toBeGreaterThan(n);
  });

  it('a closed journal refuses appends and syncs', async () => {
    const j = await open(new SimDisk());
    await j.close();
    await expect(j.append([note(1)], { durable: true })).rejects.toThrow(JournalClosedError);
    await expect(j.sync()).rejects.toThrow(JournalClosedError);
    // Closed is not failed: nothing was attempted on the file.
    expect(j.failed).toBeNull();
  });

  it('sync() makes lazy appends durable; close() syncs them too', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    await j.append([note(1)], { durable: false });
    await j.sync();
    expect((await cutAndReopen(disk)).state.notes).toEqual([1]);

    const disk2 = new SimDisk();
    const k = await open(disk2);
    await k.append([note(7)], { durable: false });
    await k.close();
    expect((await cutAndReopen(disk2)).state.notes).toEqual([7]);
  });

  it('a batch cut by the power is all there or not there at all, over many torn and garbled tails', async () => {
    const seen = new Set<string>();
    let torn = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const disk = new SimDisk();
      const j = await open(disk);
      await j.append([note(1)], { durable: true });
      // Big enough to span sectors, so a tear can keep some and lose others.
      await j.append([note(2, 900), note(3, 900), note(4, 900)], { durable: false });
      const after = await cutAndReopen(disk, seed % 2 ? 'tear' : 'garbage', seed);
      const notes = after.state.notes.join(',');
      expect(['1', '1,2,3,4']).toContain(notes);
      seen.add(notes);
      if (notes === '1') {
        // Bytes of the lost batch that reached the disk are cut as a torn tail (none if every sector was lost).
        if (after.openReport.tornTailBytes > 0) {
          torn++;
          expect(after.openReport.tornTail).toMatchObject({ segment: after.segmentNames().at(-1) });
        }
        expect(after.nextSeq).toBe(3);
        // What was cut is gone for good: the next append takes its seq and reopens cleanly.
        await after.append([note(5)], { durable: true });
        const again = await cutAndReopen(disk, 'drop');
        expect(again.state.notes).toEqual([1, 5]);
        expect(again.openReport.tornTailBytes).toBe(0);
      }
    }
    // Both outcomes happened, and tails were cut, so the checks above saw real tears.
    expect(seen).toEqual(new Set(['1', '1,2,3,4']));
    expect(torn).toBeGreaterThan(0);
  });

  it('a clean reopen reports no torn tail and replays only what follows the checkpoint', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    // A new journal: one segment, started by its checkpoint at seq 1.
    expect(j.openReport).toEqual({ segments: 1, recordsReplayed: 0, checkpointSeq: 1, tornTailBytes: 0 });
    for (let n = 1; n <= 5; n++) await j.append([note(n)], { durable: true });
    await j.close();
    const again = await open(disk);
    expect(again.openReport).toEqual({ segments: 1, recordsReplayed: 5, checkpointSeq: 1, tornTailBytes: 0, tornTail: undefined });
  });
});

describe('what open refuses', () => {
  it('a synced record damaged under a later synced one is corruption, not a torn tail', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    for (let n = 1; n <= 4; n++) await j.append([note(n, 600)], { durable: true });
    const seg = segmentPath(j);
    await j.close();
    // A byte inside the second note's payload: its checksum fails, and the notes after it vouch it was synced.
    disk.damage(seg, SEGMENT_DATA_START + 2_000, Buffer.from([0x55]));
    await expect(open(disk)).rejects.toThrow(JournalCorruptionError);
  });

  it('a wrong device key (header MAC) is refused, and so is a second writer', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    await expect(open(disk)).rejects.toThrow(JournalLockedError);
    await j.close();
    await expect(open(disk, { deviceKey: Buffer.alloc(32, 2) })).rejects.toThrow(/header MAC mismatch/);
  });

  it('segment sizes outside 64 KiB .. 1 GiB are refused', async () => {
    await expect(open(new SimDisk(), { segmentBytes: SEGMENT - 1 })).rejects.toThrow(RangeError);
    await expect(open(new SimDisk(), { segmentBytes: 2 ** 30 + 1 })).rejects.toThrow(RangeError);
  });
});

describe('segments', () => {
  it('a full segment rotates: the new one starts with a checkpoint, the old is sealed, and a reopen folds the same', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    let n = 0;
    while (j.segmentNames().length < 3) await j.append([note(++n, 1_000)], { durable: n % 3 === 0 });
    await j.sync();
    const names = j.segmentNames();
    const state = structuredClone(j.state);
    const next = j.nextSeq;
    const again = await cutAndReopen(disk);
    expect(again.segmentNames()).toEqual(names);
    expect(again.state).toEqual(state);
    expect(again.nextSeq).toBe(next);
    // Boot replays the newest segment behind its checkpoint, not the whole history.
    expect(again.openReport.recordsReplayed).toBeLessThan(n / 2);
    expect(again.openReport.checkpointSeq).toBeGreaterThan(1);
  });

  it('each checkpoint lists the older segments, so one missing from the middle or the start fails the open', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    let n = 0;
    while (j.segmentNames().length < 3) await j.append([note(++n, 1_000)], { durable: true });
    const names = j.segmentNames();
    await j.close();
    for (const gone of names.slice(0, -1)) {
      // A copy of the directory without that segment, as if a file were lost or deleted by hand.
      const copy = new SimDisk();
      copy.mkdirp(DIR);
      for (const name of names.filter((x) => x !== gone)) copy.open(`${DIR}/${name}`, 'create').write(disk.readFile(`${DIR}/${name}`), 0);
      await expect(open(copy)).rejects.toThrow(new RegExp(`seq ${parseSegmentFileName(gone)}`));
    }
  });

  it('a batch larger than half a segment is refused before anything is written', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    const big = Array.from({ length: 40 }, (_, i) => note(i, 1_000));
    await expect(j.append(big, { durable: true })).rejects.toThrow(expect.objectContaining({ code: 'BATCH_TOO_LARGE' }));
    expect(j.nextSeq).toBe(2);
    // Just under half a segment still goes in one piece.
    const fits = Array.from({ length: 25 }, (_, i) => note(i, 1_000));
    expect(await j.append(fits, { durable: true })).toEqual({ firstSeq: 2, lastSeq: 26 });
  });
});

describe('retention', () => {
  it('retires closed segments and never one holding an open obligation', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    let n = 0;
    await j.append([{ type: 'test.open', payload: {} }], { durable: true });
    while (j.segmentNames().length < 4) await j.append([note(++n, 1_000)], { durable: true });
    expect(await j.retain({ mode: 'delete' })).toBeNull();
    const names = j.segmentNames();
    await j.append([{ type: 'test.close', payload: {} }], { durable: true });
    const report = await j.retain({ mode: 'archive' });
    expect(report).toMatchObject({ mode: 'archive', segments: names.slice(0, -1) });
    // Through the seq just before the first segment kept.
    expect(report!.throughSeq).toBe(parseSegmentFileName(names.at(-1)!)! - 1);
    expect(j.segmentNames()).toEqual(names.slice(-1));
    expect(disk.list(`${DIR}/archive`).sort()).toEqual(names.slice(0, -1).sort());
    const again = await cutAndReopen(disk);
    expect(again.state.notes).toHaveLength(n);
    // Delete mode removes, it does not archive.
    while (again.segmentNames().length < 3) await again.append([note(++n, 1_000)], { durable: true });
    const archived = disk.list(`${DIR}/archive`).length;
    const gone = await again.retain({ mode: 'delete' });
    expect(gone!.segments.length).toBeGreaterThan(0);
    expect(disk.list(`${DIR}/archive`)).toHaveLength(archived);
    for (const name of gone!.segments) expect(disk.exists(`${DIR}/${name}`)).toBe(false);
  });
});

describe('what append refuses', () => {
  it('card data, an empty batch and an oversized record: a typed error and nothing written', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    await expect(j.append([{ type: 'test.note', payload: { n: 1, pan: '6212140000000000006' } }], { durable: true })).rejects.toThrow(SensitiveDataError);
    await expect(j.append([], { durable: true })).rejects.toThrow(new RangeError('append needs at least one record'));
    await expect(j.append([{ type: 'test.unknown', payload: {} }], { durable: true })).rejects.toThrow(JournalError);
    expect(j.nextSeq).toBe(2);
    expect(j.state.notes).toEqual([]);
    expect((await cutAndReopen(disk, 'keep')).state.notes).toEqual([]);
  });

  it('a payload JSON cannot encode (a BigInt) is refused as card data when it holds some, else with the encoder\'s error', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    await expect(j.append([{ type: 'test.note', payload: { n: 1n, memo: '6222021234567894' } }], { durable: true })).rejects.toMatchObject({ what: 'full PAN', where: 'records[0](test.note).memo' });
    await expect(j.append([{ type: 'test.note', payload: { n: 1n } }], { durable: true })).rejects.toThrow(/BigInt/);
    expect(j.nextSeq).toBe(2);
  });

  it('a record over 1 MiB is refused, counted in characters and in UTF-8 bytes', async () => {
    const j = await open(new SimDisk(), { segmentBytes: 4 << 20 });
    const tooLarge = expect.objectContaining({ code: 'RECORD_TOO_LARGE' });
    await expect(j.append([note(1, 1 << 20)], { durable: true })).rejects.toThrow(tooLarge);
    // 400,000 characters, 1.2 MB once encoded.
    await expect(j.append([{ type: 'test.note', payload: { n: 2, pad: '€'.repeat(400_000) } }], { durable: true })).rejects.toThrow(tooLarge);
    expect(await j.append([note(3, (1 << 20) - 100)], { durable: true })).toEqual({ firstSeq: 2, lastSeq: 2 });
    // Written whole: it reads back.
    await j.close();
  });

  it('a record near the limit reads back whole after a reopen', async () => {
    const disk = new SimDisk();
    const j = await open(disk, { segmentBytes: 4 << 20 });
    // First, while the write buffer is at its first 16 KiB: fewer characters than that, more bytes once encoded.
    await j.append([{ type: 'test.note', payload: { n: 5, pad: '€'.repeat(6_000) } }], { durable: true });
    await j.append([note(3, (1 << 20) - 100)], { durable: true });
    await j.append([{ type: 'test.note', payload: { n: 4, pad: '€'.repeat(300_000) } }], { durable: true });
    await j.close();
    const again = await open(disk, { segmentBytes: 4 << 20 });
    expect(again.state.notes).toEqual([5, 3, 4]);
  });

  it('a failed fsync closes the journal for writing, for good: no retry, one failure reported, nothing more appended', async () => {
    const disk = new SimDisk();
    const failures: unknown[] = [];
    const j = await open(disk, { onFailure: (e) => failures.push(e) });
    await j.append([note(1)], { durable: true });
    disk.failNextSync();
    await expect(j.append([note(2)], { durable: true })).rejects.toThrow(JournalClosedError);
    await expect(j.append([note(3)], { durable: true })).rejects.toThrow(JournalClosedError);
    await expect(j.sync()).rejects.toThrow(JournalClosedError);
    expect(failures).toHaveLength(1);
    expect(j.failed).toBe(failures[0]);
    expect(j.diskUsage().failed).toMatch(/EIO/);
    const again = await cutAndReopen(disk, 'drop');
    expect(again.state.notes).toEqual([1]);
  });
});

describe('a power cut at any sync of a rotation', () => {
  /** Note 1 durable, then lazy notes up to the one whose append rotates; the syncs that append makes. */
  async function lazyUpToRotation(disk: SimDisk, count?: number) {
    const j = await open(disk);
    await j.append([note(1)], { durable: true });
    let n = 1;
    while (count === undefined ? j.segmentNames().length < 2 : n < count - 1) await j.append([note(++n, 1_000)], { durable: false });
    return { j, n };
  }

  it('reopens with every note written before the rotation once its first sync is past, and goes on cleanly', async () => {
    const dry = new SimDisk();
    const { n: rotatingNote } = await lazyUpToRotation(dry);
    const before = dry.stats.syncs;
    const probe = new SimDisk();
    const { j: p } = await lazyUpToRotation(probe, rotatingNote);
    const from = probe.stats.syncs;
    await p.append([note(rotatingNote, 1_000)], { durable: false });
    const through = probe.stats.syncs;
    expect(from).toBeLessThan(before + 1);
    // The old segment's datasync, the new segment's fsync and directory fsync, the seal's datasync, the checkpoint's.
    expect(through - from).toBe(5);
    const all = Array.from({ length: rotatingNote - 1 }, (_, i) => i + 1);
    for (let k = from + 1; k <= through; k++) {
      for (const plan of ['drop', 'tear'] as const) {
        const disk = new SimDisk();
        const { j } = await lazyUpToRotation(disk, rotatingNote);
        disk.crashAtSync(k, createRng(k), plan);
        await expect(j.append([note(rotatingNote, 1_000)], { durable: false })).rejects.toThrow(/power cut/);
        const again = await open(disk);
        // Cut at the first sync the lazy notes may go; from the second on, the rotation has made them durable.
        if (k === from + 1) expect([[1], all]).toContainEqual(again.state.notes);
        else expect(again.state.notes).toEqual(all);
        // A half-made next segment and a segment the rotation never finished are gone from the disk.
        expect(disk.exists(`${DIR}/spare.tmp`)).toBe(false);
        const onDisk = disk.list(DIR).filter((f) => f.endsWith('.wal')).sort();
        expect(onDisk).toEqual([...again.segmentNames()].sort());
        await again.append([note(999)], { durable: true });
        const third = await cutAndReopen(disk, 'drop');
        expect(third.state.notes).toEqual([...again.state.notes.slice(0, -1), 999]);
        await third.close();
      }
    }
  });
});

describe('a segment an older build filled to its end, with no room left for a seal', () => {
  /** Segment 1 written record by record as a build without seals did: a checkpoint, then notes up to its last 8 bytes. */
  function olderBuildSegment(disk: SimDisk): number {
    const chain = new RecordChain(KEY);
    const image = Buffer.alloc(SEGMENT);
    const body = encodeSegmentHeaderBody({ formatVersion: 1, segmentBytes: SEGMENT, firstSeq: 1, prevMac: ZERO_MAC });
    encodeSegmentHeader(body, chain.headerMac(body)).copy(image, 0);
    let at = SEGMENT_DATA_START;
    let prev: Buffer = ZERO_MAC;
    let seq = 1;
    const put = (typeCode: number, payload: unknown) => {
      const json = Buffer.from(JSON.stringify(payload));
      const mac = chain.recordMac(prev, macHeaderBytes(json.length, typeCode, 1, FLAG_LAST_IN_BATCH, seq, seq - 1), json);
      encodeRecord(image, at, { typeCode, version: 1, flags: FLAG_LAST_IN_BATCH, seq, durableThrough: seq - 1, mac }, json);
      at += recordSpan(json.length);
      prev = mac;
      seq++;
    };
    put(CHECKPOINT.code, { throughSeq: 0, retainedThroughSeq: 0, state: fold.initial() });
    let n = 0;
    // Full-sized notes while two more fit, then one padded to end 8 bytes before the segment does.
    const span = (pad: number) => recordSpan(JSON.stringify(note(n + 1, pad).payload).length);
    while (at + 2 * span(1_000) <= SEGMENT) put(100, note(++n, 1_000).payload);
    let pad = 0;
    while (at + span(pad + 1) <= SEGMENT - 8) pad++;
    put(100, note(++n, pad).payload);
    disk.mkdirp(DIR);
    const f = disk.open(`${DIR}/${segmentFileName(1)}`, 'create');
    f.write(image, 0);
    f.sync();
    disk.syncDir(DIR);
    return n;
  }

  it('rotates without a seal, writes nothing past the end, and reopens and verifies clean', async () => {
    const disk = new SimDisk();
    const n = olderBuildSegment(disk);
    const j = await open(disk);
    expect(j.state.notes).toHaveLength(n);
    expect(await j.append([note(n + 1)], { durable: true })).toEqual({ firstSeq: n + 3, lastSeq: n + 3 });
    expect(j.segmentNames()).toEqual([segmentFileName(1), segmentFileName(n + 2)]);
    await j.close();
    expect(disk.readFile(`${DIR}/${segmentFileName(1)}`).length).toBe(SEGMENT);
    const again = await cutAndReopen(disk, 'drop');
    expect(again.state.notes).toEqual(Array.from({ length: n + 1 }, (_, i) => i + 1));
    expect(verifyJournal(DIR, { deviceKey: KEY, storage: disk, types: types() })).toMatchObject({ chainChecked: true, corrupt: null, tampered: null });
  });
});

describe('a process killed in a rotation, its page cache intact', () => {
  it('the seal it wrote but never synced is made durable by the next open before anything builds on it', async () => {
    const disk = new SimDisk();
    // The kernel frees a dead process's lock; its unsynced writes stay in the page cache.
    const { storage, live } = countingHandles(disk, { lock: () => ({ release() {} }) });
    const j = await open(disk, { storage });
    const oldSegment = segmentPath(j);
    let dirSynced = false;
    disk.onSync((e) => {
      if (e.kind === 'syncDir') dirSynced = true;
      // Killed as the seal's datasync starts: the new segment is named, the seal written, not synced.
      if (dirSynced && e.kind === 'datasync' && e.path === oldSegment && e.phase === 'before') {
        disk.onSync(null);
        throw new Error('killed');
      }
    });
    let n = 0;
    await expect(
      (async () => {
        for (;;) await j.append([note(++n, 1_000)], { durable: true });
      })(),
    ).rejects.toThrow(JournalClosedError);
    const deadHandles = live();
    const again = await open(disk, { storage });
    expect(again.state.notes).toEqual(Array.from({ length: n - 1 }, (_, i) => i + 1));
    // The older segment synced at open is closed again: only the segment written stays open.
    expect(live() - deadHandles).toBe(1);
    await again.close();
    disk.crash(createRng(1), 'drop');
    // The seal is on the platter: the chain runs unbroken from the old segment into the new one.
    expect(verifyJournal(DIR, { deviceKey: KEY, storage: disk, types: types() })).toMatchObject({ chainChecked: true, corrupt: null, tampered: null });
    expect((await open(disk)).state.notes).toHaveLength(n - 1);
  });
});

describe('close', () => {
  it('after a failed sync, close writes and syncs nothing (DESIGN rule 8) and still lets the next opener in', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    await j.append([note(1)], { durable: true });
    await j.append([note(2)], { durable: false });
    disk.failNextSync();
    await expect(j.sync()).rejects.toThrow(JournalClosedError);
    const syncs = disk.stats.syncs;
    await j.close();
    expect(disk.stats.syncs).toBe(syncs);
    // Linux marked the lazy note's pages clean without writing them: it must not come back as durable.
    const again = await cutAndReopen(disk, 'drop');
    expect(again.state.notes).toEqual([1]);
  });

  it('syncs only when a lazy append is not yet durable, and a second close is a no-op', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    await j.append([note(1)], { durable: true });
    let syncs = disk.stats.syncs;
    await j.close();
    expect(disk.stats.syncs).toBe(syncs);
    await expect(j.close()).resolves.toBeUndefined();

    const k = await open(disk);
    await k.append([note(2)], { durable: false });
    syncs = disk.stats.syncs;
    await k.close();
    expect(disk.stats.syncs).toBe(syncs + 1);
    expect((await cutAndReopen(disk, 'drop')).state.notes).toEqual([1, 2]);
  });
});

describe('what the caller sees is what a reboot folds', () => {
  it('records that are not plain JSON data (a Date inside) fold with their own seqs, as after a reopen', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    const dated = (n: number) => ({ type: 'test.note', payload: { n, at: new Date(Date.UTC(2026, 0, n)) } });
    await j.append([dated(1), dated(2), dated(3)], { durable: true });
    expect(j.state.seqs).toEqual([2, 3, 4]);
    expect((await cutAndReopen(disk)).state.seqs).toEqual([2, 3, 4]);
  });

  it('a payload whose getter answers differently each time it is read folds what was written', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    let reads = 0;
    const shifty = { get n() { return ++reads; } };
    await j.append([{ type: 'test.note', payload: shifty }], { durable: true });
    expect(reads).toBe(1);
    expect(j.state.notes).toEqual([1]);
    expect((await cutAndReopen(disk)).state.notes).toEqual([1]);
  });

  it('a payload of multi-byte text longer than the write buffer is written whole (the buffer grows to fit it)', async () => {
    const disk = new SimDisk();
    const big = { segmentBytes: 4 << 20 };
    const j = await open(disk, big);
    // A bare string: only its two quotes are single-byte, so its UTF-8 text is within 4 bytes of 3 per character.
    const text = '€'.repeat(12_000);
    await j.append([{ type: 'test.text', payload: text }], { durable: true });
    expect(j.state.texts).toEqual([text]);
    disk.crash(createRng(1), 'drop');
    expect((await open(disk, big)).state.texts).toEqual([text]);
  });
});

describe('limits, exactly at the line', () => {
  it('a payload of exactly 1 MiB of JSON is taken; one byte more is refused, naming its size', async () => {
    const j = await open(new SimDisk(), { segmentBytes: 4 << 20 });
    const limit = 1 << 20;
    await expect(j.append([{ type: 'test.text', payload: 'x'.repeat(limit - 1) }], { durable: true })).rejects.toThrow(
      `record test.text payload is ${limit + 1} bytes; the limit is ${limit}`,
    );
    // Under the limit in characters, over it in bytes: the second check names the UTF-8 size.
    await expect(j.append([{ type: 'test.text', payload: 'é'.repeat(limit / 2) }], { durable: true })).rejects.toThrow(
      `record test.text payload is ${limit + 2} bytes; the limit is ${limit}`,
    );
    expect(await j.append([{ type: 'test.text', payload: 'x'.repeat(limit - 2) }], { durable: true })).toEqual({ firstSeq: 2, lastSeq: 2 });
    await j.close();
  });

  it('a batch of exactly half a segment is taken; a larger one is refused, naming both sizes', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    const half = SEGMENT / 2;
    // One record whose span (48-byte header + payload, 8-aligned) is the half exactly.
    const exact = { type: 'test.text', payload: 'x'.repeat(half - 48 - 2) };
    const over = { type: 'test.text', payload: 'x'.repeat(half - 48 - 1) };
    await expect(j.append([over], { durable: true })).rejects.toThrow(`batch of ${half + 8} bytes exceeds half a segment (${half} bytes)`);
    expect(await j.append([exact], { durable: true })).toEqual({ firstSeq: 2, lastSeq: 2 });
    expect((await cutAndReopen(disk)).state.texts).toEqual([exact.payload]);
  });

  it('a segment size of exactly 1 GiB is allowed, and the refusal names the range', async () => {
    const marker = new Error('storage reached');
    const storage = { ...new SimDisk(), mkdirp: () => { throw marker; } } as unknown as SimDisk;
    await expect(open(storage, { segmentBytes: 2 ** 30 })).rejects.toBe(marker);
    await expect(open(new SimDisk(), { segmentBytes: 2 ** 30 + 1 })).rejects.toThrow('segmentBytes must be 64 KiB .. 1 GiB');
  });
});

describe('disk usage', () => {
  it('without space options there is no budget and no reserve; a failure is reported by its message', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    while (j.segmentNames().length < 2) await j.append([note(1, 1_000)], { durable: true });
    expect(j.diskUsage()).toEqual({ segments: 2, bytes: 2 * SEGMENT, budgetBytes: null, freeBytes: null, reserve: null, failed: null });
    disk.failNextSync();
    await expect(j.sync()).rejects.toThrow(JournalClosedError);
    expect(j.diskUsage().failed).toBe((j.failed as Error).message);
  });

  it('a failed sync in the automatic retention after a durable append: the append still resolves, the journal is closed', async () => {
    const disk = new SimDisk();
    const j = await open(disk, { space: { budgetBytes: 2 * SEGMENT } });
    let n = 0;
    while (j.segmentNames().length < 2) await j.append([note(++n, 1_000)], { durable: true });
    // The next rotation goes over the budget; the retention after it fails at its directory fsync, the
    // second one from here (the first makes the new segment's name durable).
    let dirSyncs = 0;
    disk.failSyncsWhere((e) => e.kind === 'syncDir' && ++dirSyncs === 2, { times: 1 });
    const rotated = j.segmentNames().length;
    let result;
    while (j.failed === null) result = await j.append([note(++n, 1_000)], { durable: true });
    expect(j.segmentNames().length).toBeGreaterThan(rotated);
    expect(result).toMatchObject({ lastSeq: expect.any(Number) });
    await expect(j.append([note(n + 1)], { durable: true })).rejects.toThrow(JournalClosedError);
    // The append the cashier was told went in is there after a power cut.
    expect((await cutAndReopen(disk, 'drop')).state.notes.at(-1)).toBe(n);
  });

  it('diskUsage measures each older segment once and the newest every time, and agrees with the files', async () => {
    const disk = new SimDisk();
    const opened: string[] = [];
    const storage = new Proxy(disk, {
      get(target, prop) {
        if (prop === 'open') return (p: string, mode: 'r' | 'rw') => (opened.push(p), target.open(p, mode));
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const j = await open(disk, { storage });
    while (j.segmentNames().length < 4) await j.append([note(1, 1_000)], { durable: true });
    const files = () => disk.fileInfo().filter((f) => f.path.startsWith(`${DIR}/seg-`));
    opened.length = 0;
    expect(j.diskUsage().bytes).toBe(files().reduce((b, f) => b + f.size, 0));
    expect(opened).toHaveLength(4);
    opened.length = 0;
    expect(j.diskUsage().bytes).toBe(files().reduce((b, f) => b + f.size, 0));
    expect(opened).toEqual([`${DIR}/${j.segmentNames().at(-1)}`]);
    await j.close();
  });

  for (const retention of ['archive', 'delete'] as const) {
    it(`automatic retention keeps the live segments within the budget (${retention})`, async () => {
      const disk = new SimDisk();
      // The directories synced, in order, to see that archived segments are made durable where they went.
      const synced: string[] = [];
      const { storage, live } = countingHandles(disk, { syncDir: (d: string) => (synced.push(d), disk.syncDir(d)) });
      const budgetBytes = 3 * SEGMENT;
      const j = await open(disk, { storage, space: { budgetBytes, retention } });
      let n = 0;
      let rotations = 0;
      while (rotations < 6) {
        const newest = j.segmentNames().at(-1);
        await j.append([note(++n, 1_000)], { durable: true });
        if (j.segmentNames().at(-1) !== newest) rotations++;
        const usage = j.diskUsage();
        const files = disk.fileInfo().filter((f) => f.path.startsWith(`${DIR}/seg-`));
        expect(usage).toMatchObject({ budgetBytes, segments: files.length, bytes: files.reduce((b, f) => b + f.size, 0) });
        expect(usage.bytes).toBeLessThanOrEqual(budgetBytes);
        // Sizing segments and making new ones leaves no file open but the segment written.
        expect(live()).toBe(1);
      }
      // Six rotations past the first segment, three kept: the four oldest retired, archived or deleted.
      expect(j.segmentNames()).toHaveLength(3);
      if (retention === 'archive') {
        expect(disk.list(`${DIR}/archive`)).toHaveLength(4);
        expect(synced.filter((d) => d === `${DIR}/archive`)).toHaveLength(4);
      } else {
        expect(disk.exists(`${DIR}/archive`)).toBe(false);
        expect(synced).not.toContain(`${DIR}/archive`);
      }
      expect((await cutAndReopen(disk)).state.notes).toHaveLength(n);
    });
  }
});

describe('what a card-data refusal names', () => {
  it('the field, as the walk of the value finds it, or else the byte of the text written', async () => {
    const disk = new SimDisk();
    const j = await open(disk);
    const refusal = (payload: unknown) => j.append([{ type: 'test.note', payload }], { durable: true });
    await expect(refusal({ n: 1, memo: { card: '6222021234567894' } })).rejects.toMatchObject({ what: 'full PAN', where: 'records[0](test.note).memo.card' });
    // A toJSON the walk cannot see into: only the bytes it writes hold the PAN, from byte 9 of {"note":"...
    const hidden = { toJSON: () => ({ note: '6222021234567894' }) };
    await expect(refusal(hidden)).rejects.toThrow(new SensitiveDataError('full PAN', 'records[0](test.note) payload byte 9'));
    expect(j.nextSeq).toBe(2);
  });
});
