// What open (recovery.ts) decides from what it finds on disk, each case built on a SimDisk: a rotation cut
// by the power at each of its syncs, the first segment cut before its checkpoint, segments listed in any
// order, and the damage open must refuse with the segment, the offset and the words of the error (the
// mutation run found these paths reached by no test, or reached without the outcome being checked).
import { describe, expect, it } from 'vitest';
import { Journal, type JournalOptions } from '../../firmware-ts/journal/journal.js';
import { JournalClosedError, JournalCorruptionError } from '../../firmware-ts/journal/errors.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import type { StateMachine } from '../../firmware-ts/journal/state-machine.js';
import { scanSegment } from '../../firmware-ts/journal/segment-scan.js';
import { verifyJournal, type VerifiedRecord } from '../../firmware-ts/journal/verify.js';
import type { Storage, StorageFile } from '../../firmware-ts/io/storage.js';
import { crc32, encodeRecord, FLAG_LAST_IN_BATCH, parseSegmentFileName, RECORD_HEADER_BYTES, recordSpan, SEGMENT_DATA_START, SEGMENT_HEADER_BYTES, segmentFileName } from '../../protocol/journal/format.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { SimDisk, type CrashMode } from '../../host-bridge/terminal-sim/sim-disk.js';

const DIR = '/j';
const KEY = Buffer.alloc(32, 3);
const SEGMENT = 64 * 1024;

interface Notes {
  notes: number[];
  /** Every record type the fold was given: the journal's own records must never reach it. */
  types: string[];
}

const fold: StateMachine<Notes> = {
  initial: () => ({ notes: [], types: [] }),
  apply: (s, r) => {
    s.types.push(r.type);
    if (r.type === 'test.note') s.notes.push((r.payload as { n: number }).n);
  },
  toCheckpoint: (s) => s,
  fromCheckpoint: (snap) => structuredClone(snap) as Notes,
  oldestOpenSeq: () => null,
};

const types = () => new RecordTypes([{ name: 'test.note', code: 100, version: 1 }]);
const open = (storage: Storage, more: Partial<JournalOptions<Notes>> = {}) => Journal.open<Notes>({ dir: DIR, deviceKey: KEY, fold, types: types(), storage, segmentBytes: SEGMENT, ...more });
const note = (n: number) => ({ type: 'test.note', payload: { n, pad: 'x'.repeat(1_000) } });
const at = (name: string) => `${DIR}/${name}`;

function records(disk: SimDisk): VerifiedRecord[] {
  const out: VerifiedRecord[] = [];
  verifyJournal(DIR, { storage: disk, types: new RecordTypes([...INTERNAL_TYPES, ...types().all()]), onRecord: (r) => out.push(r) });
  return out;
}

/** Rewrites a record in place and recomputes its CRC, as a forger (or a bug) would: only the MAC, which open does not read, can tell. */
function forge(disk: SimDisk, file: string, offset: number, edit: (rec: Buffer) => void): void {
  const img = disk.readFile(file);
  const rec = Buffer.from(img.subarray(offset, offset + RECORD_HEADER_BYTES + img.readUInt32LE(offset + 4)));
  edit(rec);
  rec.writeUInt32LE(crc32(rec.subarray(4)), 0);
  disk.damage(file, offset, rec);
}

async function refusal(p: Promise<unknown>): Promise<JournalCorruptionError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(JournalCorruptionError);
  return e as JournalCorruptionError;
}

/** A journal of `segments` segments, closed cleanly; returns its names and notes. */
async function closedJournal(disk: SimDisk, segments: number) {
  const j = await open(disk);
  let n = 0;
  while (j.segmentNames().length < segments) await j.append([note(++n)], { durable: true });
  const out = { names: j.segmentNames(), state: structuredClone(j.state), nextSeq: j.nextSeq };
  await j.close();
  return out;
}

type RotationStep = 'seal' | 'checkpoint';

/**
 * Appends durable notes until the second rotation (so two segments precede the cut one), and cuts the
 * power in it: at the old segment's datasync of the seal (the new segment already named and its directory
 * entry synced), or at the new segment's datasync of its checkpoint (the seal durable). Returns what was
 * acknowledged before the append that rotated.
 */
async function cutRotation(step: RotationStep, mode: CrashMode) {
  const disk = new SimDisk();
  const j = await open(disk);
  const rng = createRng(7);
  let rotations = 0;
  let datasyncs = 0;
  disk.onSync((e) => {
    if (e.kind === 'syncDir' && e.phase === 'after') rotations++;
    if (rotations < 2 || e.kind !== 'datasync' || e.phase !== 'before') return;
    if (++datasyncs === (step === 'seal' ? 1 : 2)) {
      disk.onSync(null);
      disk.crash(rng, mode);
    }
  });
  let n = 0;
  let before = { names: j.segmentNames(), state: structuredClone(j.state), nextSeq: j.nextSeq };
  for (;;) {
    before = { names: j.segmentNames(), state: structuredClone(j.state), nextSeq: j.nextSeq };
    try {
      await j.append([note(++n)], { durable: true });
    } catch (e) {
      expect(e).toBeInstanceOf(JournalClosedError);
      break;
    }
  }
  expect(rotations).toBe(2);
  expect(before.names).toHaveLength(2);
  const prev = before.names.at(-1)!;
  /** Where the seal goes in the old segment: the next sector after its last batch. */
  const scan = scanSegment(prev, disk.readFile(at(prev)), true);
  return { disk, ...before, prev, prevFirstSeq: parseSegmentFileName(prev)!, cutName: segmentFileName(before.nextSeq + 1), prevEnd: scan.endOffset };
}

describe('a rotation cut by the power', () => {
  it('before the seal was durable: the empty new segment is removed and appends go on in the old one', async () => {
    const cut = await cutRotation('seal', 'drop');
    expect(cut.disk.list(DIR)).toContain(cut.cutName);
    // Verify (which the daemon runs before open) calls the half-made rotation what it is: not a gap, not damage.
    expect(verifyJournal(DIR, { storage: cut.disk, deviceKey: KEY, types: types() })).toMatchObject({ corrupt: null, tampered: null, segments: cut.names.length + 1, lastSeq: cut.nextSeq - 1 });
    const j = await open(cut.disk);
    expect(j.segmentNames()).toEqual(cut.names);
    expect(cut.disk.list(DIR)).not.toContain(cut.cutName);
    expect(j.state).toEqual(cut.state);
    expect(j.nextSeq).toBe(cut.nextSeq);
    // The old segment's notes after its checkpoint, nothing written at open.
    expect(j.openReport).toMatchObject({ segments: cut.names.length, recordsReplayed: cut.nextSeq - cut.prevFirstSeq - 1, checkpointSeq: cut.prevFirstSeq, tornTailBytes: 0 });
    // The rotation is made again, and the chain runs on through it.
    let n = 1_000;
    while (j.segmentNames().length === cut.names.length) await j.append([note(++n)], { durable: true });
    const state = structuredClone(j.state);
    await j.close();
    expect(verifyJournal(DIR, { storage: cut.disk, deviceKey: KEY, types: types() })).toMatchObject({ corrupt: null, tampered: null, tornTailBytes: 0 });
    const again = await open(cut.disk);
    expect(again.state).toEqual(state);
    await again.close();
  });

  it('with the seal sector garbled: a torn tail of the old segment, cut, and the same recovery', async () => {
    const cut = await cutRotation('seal', 'garbage');
    const j = await open(cut.disk);
    expect(j.segmentNames()).toEqual(cut.names);
    expect(j.state).toEqual(cut.state);
    expect(j.nextSeq).toBe(cut.nextSeq);
    expect(j.openReport.tornTail?.segment).toBe(cut.prev);
    expect(j.openReport.tornTailBytes).toBeGreaterThan(0);
    expect(j.openReport.tornTailBytes).toBeLessThanOrEqual(512);
    await j.close();
    expect(verifyJournal(DIR, { storage: cut.disk, deviceKey: KEY, types: types() })).toMatchObject({ corrupt: null, tampered: null, tornTailBytes: 0 });
  });

  it('after the seal, before the checkpoint: the old segment is folded with its seal and the checkpoint is written', async () => {
    const cut = await cutRotation('checkpoint', 'drop');
    expect(verifyJournal(DIR, { storage: cut.disk, deviceKey: KEY, types: types() })).toMatchObject({ corrupt: null, tampered: null, lastSeq: cut.nextSeq });
    // The empty newest segment follows a seal, so it is a real segment: its header is checked like any other.
    const header = Buffer.from(cut.disk.readFile(at(cut.cutName)).subarray(0, SEGMENT_HEADER_BYTES));
    const forged = Buffer.from(header);
    forged[45] = forged[45]! ^ 0x01;
    forged.writeUInt32LE(crc32(forged.subarray(0, 56)), 56);
    cut.disk.damage(at(cut.cutName), 0, forged);
    expect(verifyJournal(DIR, { storage: cut.disk, deviceKey: KEY, types: types() }).tampered).toEqual({ segment: cut.cutName, offset: 40, seq: cut.nextSeq + 1, reason: 'segment header MAC mismatch (altered header or wrong device key)' });
    cut.disk.damage(at(cut.cutName), 0, header);
    const j = await open(cut.disk);
    expect(j.segmentNames()).toEqual([...cut.names, cut.cutName]);
    // The fold saw the old segment's notes and not its seal (the state is what was acknowledged).
    expect(j.state).toEqual(cut.state);
    // Seal at nextSeq, the new checkpoint after it.
    expect(j.nextSeq).toBe(cut.nextSeq + 2);
    expect(j.openReport).toMatchObject({ segments: cut.names.length + 1, recordsReplayed: cut.nextSeq - cut.prevFirstSeq, checkpointSeq: cut.prevFirstSeq, tornTailBytes: 0 });
    await j.close();
    const recs = records(cut.disk).filter((r) => r.segment === cut.cutName);
    expect(recs.map((r) => [r.seq, r.type, r.offset])).toEqual([[cut.nextSeq + 1, 'journal.checkpoint', SEGMENT_DATA_START]]);
    expect(verifyJournal(DIR, { storage: cut.disk, deviceKey: KEY, types: types() })).toMatchObject({ corrupt: null, tampered: null });
  });

  it('refuses an old segment that lost the end of its records under an empty newest one', async () => {
    const cut = await cutRotation('seal', 'drop');
    // Its last note, acknowledged durable, zeroed by bit rot: it would be lost without a word.
 const [before, last] = records(cut.disk).slice(-2) as [VerifiedRecord, VerifiedRecord];
    expect(last.seq).toBe(cut.nextSeq - 1);
    cut.disk.damage(at(cut.prev), last.offset, Buffer.alloc(recordSpan(last.payload.length)));
    const e = await refusal(open(cut.disk));
    // Reported where its records now end: just past the note before.
    expect([e.segment, e.offset, e.reason]).toEqual([cut.prev, before.offset + recordSpan(before.payload.length), `segment ends before seq ${cut.nextSeq}, which the next segment follows`]);
  });

  it('refuses an old segment whose damage a later record vouches for, even where a cut rotation would end it', async () => {
    const cut = await cutRotation('seal', 'drop');
    const sealAt = Math.ceil(cut.prevEnd / 512) * 512;
    // Bytes at the seal's place, then a record written when the seal's seq was already durable.
    const voucher = Buffer.alloc(recordSpan(2));
    encodeRecord(voucher, 0, { typeCode: 100, version: 1, flags: FLAG_LAST_IN_BATCH, seq: cut.nextSeq + 1, durableThrough: cut.nextSeq, mac: Buffer.alloc(16) }, Buffer.from('{}'));
    cut.disk.damage(at(cut.prev), sealAt, Buffer.alloc(8, 0xff));
    cut.disk.damage(at(cut.prev), sealAt + 16, voucher);
    const e = await refusal(open(cut.disk));
    expect([e.segment, e.offset]).toEqual([cut.prev, sealAt]);
    expect(e.reason).toBe(`record length over the ${16 << 20}-byte limit, yet a later record at offset ${sealAt + 16} was written after it was durable (in an older segment)`);
  });

  it('refuses an old segment that does not start with its checkpoint, damaged or retyped', async () => {
    const damaged = await cutRotation('checkpoint', 'drop');
    damaged.disk.damage(at(damaged.prev), SEGMENT_DATA_START + RECORD_HEADER_BYTES + 4, Buffer.from([0x55]));
    const e1 = await refusal(open(damaged.disk));
    expect([e1.segment, e1.offset, e1.reason]).toEqual([damaged.prev, SEGMENT_DATA_START, 'segment does not start with its checkpoint']);

    const retyped = await cutRotation('checkpoint', 'drop');
    forge(retyped.disk, at(retyped.prev), SEGMENT_DATA_START, (rec) => rec.writeUInt16LE(100, 8));
    const e2 = await refusal(open(retyped.disk));
    expect([e2.segment, e2.offset, e2.reason]).toEqual([retyped.prev, SEGMENT_DATA_START, 'segment does not start with its checkpoint']);
  });

  it('refuses a lone empty segment after seq 1: its state cannot be rebuilt, and the initial one would re-use STANs', async () => {
    const cut = await cutRotation('checkpoint', 'drop');
    for (const name of cut.names) cut.disk.remove(at(name));
    const e = await refusal(open(cut.disk));
    expect([e.segment, e.offset, e.reason]).toEqual([cut.cutName, SEGMENT_HEADER_BYTES, `segment has no checkpoint and nothing before seq ${cut.nextSeq + 1} is left to rebuild it from`]);
  });
});

describe('the first segment cut before its checkpoint', () => {
  it('opens from the initial state and writes the checkpoint', async () => {
    const disk = new SimDisk();
    disk.onSync((e) => {
      if (e.kind === 'datasync' && e.phase === 'before') {
        disk.onSync(null);
        disk.crash(createRng(1), 'drop');
      }
    });
    await expect(open(disk)).rejects.toThrow();
    const first = segmentFileName(1);
    expect(disk.list(DIR)).toContain(first);
    const j = await open(disk);
    expect(j.segmentNames()).toEqual([first]);
    expect(j.state).toEqual(fold.initial());
    expect(j.nextSeq).toBe(2);
    expect(j.openReport).toMatchObject({ segments: 1, recordsReplayed: 0, checkpointSeq: 0, tornTailBytes: 0 });
    await j.append([note(1)], { durable: true });
    await j.close();
    expect(records(disk).map((r) => [r.seq, r.type])).toEqual([
      [1, 'journal.checkpoint'],
      [2, 'test.note'],
    ]);
  });
});

describe('segments as the directory lists them', () => {
  it('are put in seq order (readdir order is the file system’s), so open starts from the newest checkpoint', async () => {
    const disk = new SimDisk();
    const before = await closedJournal(disk, 3);
    const reversed = new Proxy(disk, {
      get(target, p) {
        if (p === 'list') return (dir: string) => target.list(dir).reverse();
        const v = Reflect.get(target, p, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const j = await open(reversed);
    expect(j.segmentNames()).toEqual(before.names);
    expect(j.state).toEqual(before.state);
    expect(j.nextSeq).toBe(before.nextSeq);
    expect(j.openReport.checkpointSeq).toBe(parseSegmentFileName(before.names[2]!));
    await j.close();
  });

  it('leave no file open but the newest segment, and that one is closed with the journal', async () => {
    const disk = new SimDisk();
    await closedJournal(disk, 3);
    const open_ = new Set<StorageFile>();
    const counting = new Proxy(disk, {
      get(target, p) {
        if (p === 'open') {
          return (file: string, mode: 'r' | 'rw' | 'create') => {
            const f = target.open(file, mode);
            open_.add(f);
            return new Proxy(f, {
              get(ft, fp) {
                if (fp === 'close') return () => (open_.delete(f), ft.close());
                const v = Reflect.get(ft, fp, ft) as unknown;
                return typeof v === 'function' ? v.bind(ft) : v;
              },
            });
          };
        }
        const v = Reflect.get(target, p, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const j = await open(counting);
    expect(open_.size).toBe(1);
    await j.close();
    expect(open_.size).toBe(0);
  });
});

describe('what open refuses, and where it says the damage is', () => {
  it('an older segment with a damaged header, at offset 0 of that segment', async () => {
    const disk = new SimDisk();
    const { names } = await closedJournal(disk, 3);
    disk.damage(at(names[1]!), 20, Buffer.from([0x7f]));
    const e = await refusal(open(disk));
    expect([e.segment, e.offset, e.reason]).toEqual([names[1], 0, 'segment header: checksum']);
  });

  it('a segment renamed: its header says another first seq, at offset 16', async () => {
    const disk = new SimDisk();
    const { names } = await closedJournal(disk, 3);
    const seq = parseSegmentFileName(names[1]!)!;
    const renamed = segmentFileName(seq + 1);
    disk.rename(at(names[1]!), at(renamed));
    const e = await refusal(open(disk));
    expect([e.segment, e.offset, e.reason]).toEqual([renamed, 16, `header says first seq ${seq}, file name says ${seq + 1}`]);
  });

  it('a truncated older segment, though open never reads its records', async () => {
    const disk = new SimDisk();
    const { names } = await closedJournal(disk, 3);
    const f = disk.open(at(names[1]!), 'rw');
    f.truncate(SEGMENT / 2);
    f.close();
    const e = await refusal(open(disk));
    expect([e.segment, e.offset, e.reason]).toEqual([names[1], SEGMENT / 2, `segment file is ${SEGMENT / 2} bytes but its header declares ${SEGMENT}: truncated`]);
  });

  it('a removed newest segment: its predecessor’s seal names it', async () => {
    const disk = new SimDisk();
    const { names } = await closedJournal(disk, 3);
    disk.remove(at(names[2]!));
    const first = parseSegmentFileName(names[2]!)!;
    const e = await refusal(open(disk));
    expect([e.segment, e.offset, e.reason]).toEqual([names[2], 0, `segment is missing: seq ${first} onwards is in no segment (the segment before it ends with a seal naming it)`]);
  });

  it('a seal ending the newest segment whose payload is not JSON: typed, at the seal, not a SyntaxError', async () => {
    const disk = new SimDisk();
    const { names } = await closedJournal(disk, 3);
    disk.remove(at(names[2]!));
    const seal = records(disk).at(-1)!;
    expect(seal.type).toBe('journal.sealed');
    forge(disk, at(names[1]!), seal.offset, (rec) => rec.fill(0x7b, RECORD_HEADER_BYTES));
    const e = await refusal(open(disk));
    expect([e.segment, e.offset, e.reason]).toEqual([names[1], seal.offset, `record seq ${seal.seq} payload is not valid JSON`]);
    // Verify (which the daemon runs first) reports it in the same words rather than throwing.
    expect(verifyJournal(DIR, { storage: disk, types: types() }).corrupt).toEqual({ segment: e.segment, offset: e.offset, reason: e.reason });
  });

  it('a seal ending the newest segment that names no next segment, or the wrong one: typed, at the seal, with the seq it should name', async () => {
    for (const [text, named] of [['{}', 'nothing'], ['null', 'nothing'], ['{"nextFirstSeq":0}', '0']] as const) {
      const disk = new SimDisk();
      const { names } = await closedJournal(disk, 3);
      disk.remove(at(names[2]!));
      const seal = records(disk).at(-1)!;
      forge(disk, at(names[1]!), seal.offset, (rec) => {
        const payload = rec.subarray(RECORD_HEADER_BYTES);
        payload.fill(0x20);
        expect(payload.length).toBeGreaterThanOrEqual(text.length);
        payload.write(text);
      });
      const e = await refusal(open(disk));
      expect([e.segment, e.offset, e.reason]).toEqual([names[1], seal.offset, `seal seq ${seal.seq} names the next segment's first seq as ${named}, not ${seal.seq + 1}`]);
      expect(verifyJournal(DIR, { storage: disk, types: types() }).corrupt).toEqual({ segment: e.segment, offset: e.offset, reason: e.reason });
    }
  });

  it('a newest segment whose first record is not its checkpoint', async () => {
    const disk = new SimDisk();
    const { names } = await closedJournal(disk, 3);
    forge(disk, at(names[2]!), SEGMENT_DATA_START, (rec) => rec.writeUInt16LE(100, 8));
    const e = await refusal(open(disk));
    expect([e.segment, e.offset, e.reason]).toEqual([names[2], SEGMENT_DATA_START, 'segment does not start with its checkpoint']);
  });

  it('a record whose payload is not JSON (CRC recomputed), at its own offset', async () => {
    const disk = new SimDisk();
    const { names } = await closedJournal(disk, 3);
    const victim = records(disk).find((r) => r.segment === names[2] && r.type === 'test.note')!;
    forge(disk, at(names[2]!), victim.offset, (rec) => rec.fill(0x7b, RECORD_HEADER_BYTES));
    const e = await refusal(open(disk));
    expect([e.segment, e.offset, e.reason]).toEqual([names[2], victim.offset, `record seq ${victim.seq} payload is not valid JSON`]);
  });
});
