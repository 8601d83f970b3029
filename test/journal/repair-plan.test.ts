// Repair's own rules (repair.ts), apart from the terminal's salvage policy: on a small journal of a strict toy
// fold, every kind of damage gets the plan its definition gives — where the cut is, what moves aside and
// under which name, how many records are salvaged and how many may be lost — and the rules for what may fold
// hold on their own: an unauthenticated record folds only when the policy allows it and never when it is a
// checkpoint or a repair, a batch whose end was destroyed never folds, the journal's own records never reach
// the fold. A second repair starts from the first one's state. The terminal's policy (repair-salvage.test.ts)
// is stricter still, so there these rules are partly hidden behind it.
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { JournalError } from '../../firmware-ts/journal/errors.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { MIN_RECORD_SPAN, repairJournal, type RepairOptions, type SalvagePolicy } from '../../firmware-ts/journal/repair.js';
import type { StateMachine } from '../../firmware-ts/journal/state-machine.js';
import { verifyJournal, type VerifiedRecord } from '../../firmware-ts/journal/verify.js';
import { RECORD_HEADER_BYTES, crc32, recordSpan } from '../../protocol/journal/format.js';

const DIR = '/toy';
const SEGMENT = 64 * 1024;
const NOW = '2026-12-02T08:00:00.000Z';

interface Toy {
  open: Record<string, number>;
  counter: number;
}
const TOY = [
  { name: 'toy.open', code: 500, version: 1 },
  { name: 'toy.close', code: 501, version: 1 },
  { name: 'toy.note', code: 502, version: 1 },
];
const types = () => new RecordTypes([...INTERNAL_TYPES, ...TOY]);

/** Strict: a record it does not know is an error, so the journal's own records must never reach it. */
const fold: StateMachine<Toy> = {
  initial: () => ({ open: {}, counter: 0 }),
  apply(s, r) {
    const p = r.payload as { id?: string; n: number };
    if (r.type === 'toy.open') s.open[p.id!] = r.seq;
    else if (r.type === 'toy.close') delete s.open[p.id!];
    else if (r.type !== 'toy.note') throw new Error(`unknown record type ${r.type}`);
    s.counter = Math.max(s.counter, p.n);
  },
  toCheckpoint: (s) => structuredClone(s),
  fromCheckpoint: (snap) => structuredClone(snap as Toy),
  oldestOpenSeq: (s) => {
    const seqs = Object.values(s.open);
    return seqs.length ? Math.min(...seqs) : null;
  },
};

/** Opening adds an obligation, so it may fold unauthenticated; closing clears one, so it may not. */
const policy: SalvagePolicy<Toy, string[]> = {
  fold,
  types: types(),
  foldsUnverified: (type) => type === 'toy.open',
  finish({ prefix, salvaged, evidence, recordsLostAtMost }) {
    const evidenced = Math.max(salvaged.counter, ...evidence.map((r) => (r.payload as { n?: number })?.n ?? 0));
    const after = evidenced + recordsLostAtMost + 1;
    const change = { before: prefix.counter, evidenced, after };
    return { state: { ...salvaged, counter: after }, stan: change, batch: change, obligations: Object.keys(salvaged.open).sort() };
  },
  reappend: (state, salvaged, cutSeq) => salvaged.filter((r) => r.seq >= cutSeq && r.type === 'toy.open' && state.open[(r.payload as { id: string }).id] === r.seq),
  remap(state, seqMap) {
    for (const [id, seq] of Object.entries(state.open)) state.open[id] = seqMap.get(seq) ?? seq;
  },
};

const key = randomBytes(32);
const options = (disk: SimDisk, confirm: boolean, over: Partial<RepairOptions<Toy, string[]>> = {}): RepairOptions<Toy, string[]> => ({ storage: disk, deviceKey: key, confirm, policy, now: () => NOW, ...over });
const open = (disk: SimDisk) => Journal.open({ dir: DIR, deviceKey: key, storage: disk, segmentBytes: SEGMENT, fold, types: types() });

/**
 * A journal of ~1,200 records over several segments: notes, openings every 10th step closed 25 steps later,
 * and on every 37th step not a multiple of 5 one three-record batch (closing the previous such batch's
 * opening, an opening, a note). Returns its records as verify reads them.
 */
async function written(disk: SimDisk, steps = 1_200): Promise<VerifiedRecord[]> {
  const j = await open(disk);
  let lastBatch = 'none';
  for (let n = 1; n <= steps; n++) {
    const note = { type: 'toy.note', payload: { n, pad: 'p'.repeat(180) } };
    if (n % 37 === 0 && n % 5 !== 0) {
      await j.append([{ type: 'toy.close', payload: { id: lastBatch, n } }, { type: 'toy.open', payload: { id: `b${n}`, n } }, note], { durable: true });
      lastBatch = `b${n}`;
    } else if (n % 10 === 0) await j.append([{ type: 'toy.open', payload: { id: `o${n}`, n } }], { durable: n % 20 === 0 });
    else if (n % 10 === 5 && n > 25) await j.append([{ type: 'toy.close', payload: { id: `o${n - 25}`, n } }], { durable: true });
    else await j.append([note], { durable: n % 7 === 0 });
  }
  await j.close();
  return records(disk);
}

function records(disk: SimDisk): VerifiedRecord[] {
  const out: VerifiedRecord[] = [];
  const v = verifyJournal(DIR, { storage: disk, deviceKey: key, types: types(), onRecord: (r) => out.push({ ...r, payload: Buffer.from(r.payload) }) });
  expect(v).toMatchObject({ corrupt: null, tampered: null });
  return out;
}

const wal = (disk: SimDisk) => disk.list(DIR).filter((n) => n.endsWith('.wal')).sort();
const size = (disk: SimDisk, name: string) => disk.readFile(path.join(DIR, name)).length;
const payloadOf = (r: VerifiedRecord) => JSON.parse(r.payload.toString('utf8')) as { id?: string; n: number };

function flip(disk: SimDisk, name: string, at: number): void {
  const b = disk.readFile(path.join(DIR, name));
  disk.damage(path.join(DIR, name), at, Buffer.from([b[at]! ^ 0x40]));
}

/** The record rewritten in place as `type` with this payload text (space padded), CRC recomputed, MAC left as it was. */
function forge(disk: SimDisk, r: VerifiedRecord, typeCode: number, text: string): void {
  const file = path.join(DIR, r.segment);
  const img = disk.readFile(file);
  const rec = Buffer.from(img.subarray(r.offset, r.offset + RECORD_HEADER_BYTES + r.payload.length));
  expect(text.length).toBeLessThanOrEqual(r.payload.length);
  rec.writeUInt16LE(typeCode, 8);
  rec.write(text.padEnd(r.payload.length, ' '), RECORD_HEADER_BYTES, 'utf8');
  rec.writeUInt32LE(crc32(rec.subarray(4)), 0);
  disk.damage(file, r.offset, rec);
}

/** What the repaired journal folds to, reopened. */
async function reopened(disk: SimDisk): Promise<Toy> {
  const j = await open(disk);
  const s = structuredClone(j.state);
  await j.close();
  return s;
}

describe('repair plan', () => {
  it('a clean journal: no plan, nothing moved, nothing written', async () => {
    const disk = new SimDisk();
    await written(disk, 300);
    const before = wal(disk).map((n) => disk.readFile(path.join(DIR, n)));
    const r = await repairJournal(DIR, options(disk, true));
    expect([r.plan, r.applied, r.verify.corrupt, r.verify.tampered]).toEqual([null, false, null, null]);
    expect(wal(disk).map((n) => disk.readFile(path.join(DIR, n)))).toEqual(before);
    expect(disk.list(DIR).some((n) => n.startsWith('damaged-'))).toBe(false);
  });

  it('a flipped byte in an older segment: cut at the record, the rest of its segment and every later one moved aside under the cut’s name', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const names = wal(disk);
    expect(names.length).toBeGreaterThanOrEqual(4);
    const seg = names[1]!;
    const victim = all.filter((r) => r.segment === seg && r.type === 'toy.note').at(5)!;
    flip(disk, seg, victim.offset + 60);
    const { plan } = await repairJournal(DIR, options(disk, false));
    const survivors = all.filter((r) => r.seq > victim.seq);
    expect(plan).toMatchObject({
      segment: seg,
      offset: victim.offset,
      cut: { segment: seg, offset: victim.offset, seq: victim.seq },
      segmentsMoved: names.slice(2),
      movedTo: path.join(DIR, `damaged-${seg.replace(/\.wal$/, '')}-at-${victim.offset}`),
      bytesMoved: size(disk, seg) - victim.offset,
      recordsSalvaged: survivors.length,
      // The record after the flipped one chains from a MAC that no longer reads.
      recordsUnverified: 1,
    });
    // One seq missing, plus the flipped record's bytes counted as records of the smallest span.
    expect(plan!.recordsLostAtMost).toBeGreaterThanOrEqual(1 + Math.ceil((recordSpan(victim.payload.length) - 8) / MIN_RECORD_SPAN));
    expect(plan!.recordsLostAtMost).toBeLessThanOrEqual(1 + Math.ceil(recordSpan(victim.payload.length) / MIN_RECORD_SPAN));
    // Openings past the cut that are still open in the salvaged state are the plan's obligations.
    const openIds = new Set<string>();
    for (const r of all.filter((x) => x.seq !== victim.seq)) {
      if (r.type === 'toy.open') openIds.add(payloadOf(r).id!);
      if (r.type === 'toy.close') openIds.delete(payloadOf(r).id!);
    }
    expect(plan!.obligations).toEqual([...openIds].sort());
    // What the damaged part alone holds of them is written again: openings past the cut still open.
    const openedAt = new Map(all.filter((r) => r.type === 'toy.open').map((r) => [payloadOf(r).id!, r.seq]));
    expect(plan!.recordsReappended).toBe([...openIds].filter((id) => openedAt.get(id)! > victim.seq).length);
    expect(plan!.recordsReappended).toBeGreaterThan(0);
    expect(plan!.stan).toEqual({ before: payloadOf(all.filter((r) => r.seq < victim.seq && r.type.startsWith('toy.')).at(-1)!).n, evidenced: 1_200, after: 1_200 + plan!.recordsLostAtMost + 1 });
  });

  it('applied: the repair record says what was repaired, and the reopened journal holds the salvaged state', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const seg = wal(disk)[2]!;
    const victim = all.filter((r) => r.segment === seg && r.type === 'toy.note').at(3)!;
    flip(disk, seg, victim.offset + 60);
    const dry = await repairJournal(DIR, options(disk, false));
    const done = await repairJournal(DIR, options(disk, true));
    expect(done.applied).toBe(true);
    expect(done.plan).toEqual(dry.plan);
    const after = records(disk);
    const repair = after.filter((r) => r.type === 'journal.repair');
    expect(repair).toHaveLength(1);
    const p = JSON.parse(repair[0]!.payload.toString('utf8'));
    expect(p).toEqual({
      damage: { segment: seg, offset: victim.offset, reason: dry.verify.corrupt!.reason },
      movedTo: dry.plan!.movedTo,
      recordsSalvaged: dry.plan!.recordsSalvaged,
      recordsLostAtMost: dry.plan!.recordsLostAtMost,
      stan: dry.plan!.stan,
      batch: dry.plan!.batch,
      state: expect.objectContaining({ counter: dry.plan!.stan.after }),
      at: NOW,
    });
    const s = await reopened(disk);
    expect(s.counter).toBe(dry.plan!.stan.after);
    expect(Object.keys(s.open).sort()).toEqual(dry.plan!.obligations);
    // Every salvaged opening still open points at a record of its own in the repaired journal.
    for (const [id, seq] of Object.entries(s.open)) {
      const r = after.find((x) => x.seq === seq);
      expect(r?.type, id).toBe('toy.open');
      expect(payloadOf(r!).id).toBe(id);
    }
    // A second repair, of damage after the first: its prefix state is the first repair's, not a refold of records.
    const j = await open(disk);
    for (let n = 0; n < 40; n++) await j.append([{ type: 'toy.note', payload: { n: 1, pad: 'q'.repeat(180) } }], { durable: true });
    await j.close();
    const later = records(disk).filter((r) => r.type === 'toy.note' && r.seq > repair[0]!.seq);
    flip(disk, later.at(-3)!.segment, later.at(-3)!.offset + 60);
    const second = await repairJournal(DIR, options(disk, false));
    expect(second.plan!.stan.before).toBe(dry.plan!.stan.after);
  });

  it('a damaged checkpoint opening a middle segment: the segment’s header stays, the cut is at its first record', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const names = wal(disk);
    const checkpoint = all.find((r) => r.segment === names[2] && r.type === 'journal.checkpoint')!;
    expect(checkpoint.offset).toBe(512);
    flip(disk, names[2]!, checkpoint.offset + 60);
    const { plan } = await repairJournal(DIR, options(disk, false));
    expect(plan).toMatchObject({ cut: { segment: names[2], offset: 512, seq: checkpoint.seq }, segmentsMoved: names.slice(3), bytesMoved: size(disk, names[2]!) - 512 });
  });

  it('the first record of the whole journal damaged: the first segment keeps its header and the journal goes on from seq 1', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const names = wal(disk);
    expect(all[0]!.seq).toBe(1);
    flip(disk, names[0]!, all[0]!.offset + 52);
    const { plan } = await repairJournal(DIR, options(disk, false));
    expect(plan).toMatchObject({ cut: { segment: names[0], offset: all[0]!.offset, seq: 1 }, segmentsMoved: names.slice(1) });
  });

  it('a forged record in the first segment is damage to repair, not a wrong device key', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const names = wal(disk);
    const target = all.filter((r) => r.segment === names[0] && r.type === 'toy.note').at(3)!;
    forge(disk, target, 502, JSON.stringify({ n: 3 }));
    const { plan } = await repairJournal(DIR, options(disk, false));
    expect(plan).toMatchObject({ segment: names[0], offset: target.offset, cut: { segment: names[0], offset: target.offset, seq: target.seq } });
  });

  it('a journal its daemon holds open: the lock refuses the repair, and once closed it goes on', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const seg = wal(disk)[1]!;
    flip(disk, seg, all.filter((r) => r.segment === seg).at(4)!.offset + 60);
    const holder = disk.lock(DIR);
    await expect(repairJournal(DIR, options(disk, true))).rejects.toMatchObject({ code: 'JOURNAL_LOCKED' });
    holder.release();
    expect((await repairJournal(DIR, options(disk, true))).applied).toBe(true);
  });

  it('a damaged header of a middle segment: the segment goes whole, cut at the seal of the one before it', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const names = wal(disk);
    flip(disk, names[2]!, 20);
    const seal = all.find((r) => r.segment === names[1] && r.type === 'journal.sealed')!;
    const { plan } = await repairJournal(DIR, options(disk, false));
    expect(plan).toMatchObject({
      segment: names[2],
      cut: { segment: names[1], offset: seal.offset, seq: seal.seq },
      segmentsMoved: names.slice(2),
      movedTo: path.join(DIR, `damaged-${names[1]!.replace(/\.wal$/, '')}-at-${seal.offset}`),
      bytesMoved: size(disk, names[1]!) - seal.offset,
    });
  });

  it('a damaged header of the first segment: the whole journal moves aside and it restarts at seq 1 from what was salvaged', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const names = wal(disk);
    flip(disk, names[0]!, 20);
    const dry = await repairJournal(DIR, options(disk, false));
    expect(dry.plan).toMatchObject({ cut: { segment: names[0], offset: 0, seq: 1 }, segmentsMoved: names, bytesMoved: 0, movedTo: path.join(DIR, `damaged-${names[0]!.replace(/\.wal$/, '')}-at-0`) });
    await repairJournal(DIR, options(disk, true));
    expect(disk.list(dry.plan!.movedTo).sort()).toEqual(names);
    const after = records(disk);
    expect(after[0]!.seq).toBe(1);
    const s = await reopened(disk);
    expect(Object.keys(s.open).sort()).toEqual(dry.plan!.obligations);
    expect(dry.plan!.obligations.length).toBeGreaterThan(0);
    expect(s.counter).toBeGreaterThan(all.length > 0 ? 1_200 : 0);
  });

  it('a deleted middle segment: cut at the seal naming it', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const names = wal(disk);
    disk.remove(path.join(DIR, names[2]!));
    disk.syncDir(DIR);
    const seal = all.find((r) => r.segment === names[1] && r.type === 'journal.sealed')!;
    const { plan } = await repairJournal(DIR, options(disk, false));
    expect(plan).toMatchObject({ segment: names[2], cut: { segment: names[1], offset: seal.offset, seq: seal.seq }, segmentsMoved: names.slice(3) });
    expect(plan!.recordsSalvaged).toBe(all.filter((r) => r.seq >= seal.seq && r.segment !== names[2]).length);
  });

  it('a deleted first segment (no retention record): the first one left goes whole and the journal restarts at seq 1 from what was salvaged', async () => {
    const disk = new SimDisk();
    await written(disk);
    const names = wal(disk);
    disk.remove(path.join(DIR, names[0]!));
    disk.syncDir(DIR);
    const firstLeft = Number.parseInt(names[1]!.slice(4, 20), 16);
    const gone = await repairJournal(DIR, options(disk, false));
    expect(gone.plan).toMatchObject({
      segment: names[1],
      offset: 0,
      reason: `history before seq ${firstLeft} is missing and no retention record retired it`,
      cut: { segment: names[1], offset: 0, seq: firstLeft },
      segmentsMoved: names.slice(1),
      bytesMoved: 0,
      movedTo: path.join(DIR, `damaged-${names[1]!.replace(/\.wal$/, '')}-at-0`),
    });
    await repairJournal(DIR, options(disk, true));
    expect(records(disk)[0]!.seq).toBe(1);
    expect(Object.keys((await reopened(disk)).open).sort()).toEqual(gone.plan!.obligations);
  });

  it('older history retired, the first segment left damaged at its checkpoint: it goes whole, the journal restarts at seq 1', async () => {
    const disk = new SimDisk();
    await written(disk);
    const j = await open(disk);
    expect(await j.retain({ mode: 'delete' })).not.toBeNull();
    await j.close();
    const names = wal(disk);
    const all = records(disk);
    const checkpoint = all.find((r) => r.segment === names[0] && r.type === 'journal.checkpoint')!;
    expect(checkpoint.seq).toBeGreaterThan(1);
    flip(disk, names[0]!, checkpoint.offset + 60);
    const dry = await repairJournal(DIR, options(disk, false));
    expect(dry.plan).toMatchObject({ segment: names[0], offset: checkpoint.offset, cut: { segment: names[0], offset: 0, seq: checkpoint.seq }, segmentsMoved: names, bytesMoved: 0 });
    await repairJournal(DIR, options(disk, true));
    expect(records(disk)[0]!.seq).toBe(1);
    expect(Object.keys((await reopened(disk)).open).sort()).toEqual(dry.plan!.obligations);
  });

  it('a deleted newest segment: cut at its predecessor’s seal, and as much as that segment holds counted as possibly lost', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const names = wal(disk);
    const newest = names.at(-1)!;
    const prev = names.at(-2)!;
    disk.remove(path.join(DIR, newest));
    disk.syncDir(DIR);
    const seal = all.find((r) => r.segment === prev && r.type === 'journal.sealed')!;
    const { plan } = await repairJournal(DIR, options(disk, false));
    expect(plan).toMatchObject({ segment: newest, cut: { segment: prev, offset: seal.offset, seq: seal.seq }, segmentsMoved: [], bytesMoved: size(disk, prev) - seal.offset, recordsSalvaged: 1 });
    expect(plan!.recordsLostAtMost).toBe(Math.ceil(size(disk, prev) / MIN_RECORD_SPAN));
  });

  it('a truncated newest segment: cut where the record the end cut short starts, its bytes moved aside, extended back to its declared size, the missing bytes counted as possibly lost', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const newest = wal(disk).at(-1)!;
    const declared = size(disk, newest);
    const last = all.filter((r) => r.segment === newest).at(-1)!;
    const f = disk.open(path.join(DIR, newest), 'rw');
    f.truncate(last.offset + 20);
    f.sync();
    f.close();
    const cutShort = disk.readFile(path.join(DIR, newest)).subarray(last.offset);
    const dry = await repairJournal(DIR, options(disk, false));
    expect(dry.plan).toMatchObject({ segment: newest, offset: last.offset + 20, cut: { segment: newest, offset: last.offset, seq: last.seq }, segmentsMoved: [], bytesMoved: 20, recordsSalvaged: 0 });
    expect(dry.plan!.recordsLostAtMost).toBe(Math.ceil((declared - last.offset - 20) / MIN_RECORD_SPAN));
    await repairJournal(DIR, options(disk, true));
    expect(size(disk, newest)).toBe(declared);
    // Never deleted: the 20 bytes of the record cut short are in the damaged part, as they were.
    expect(disk.readFile(path.join(dry.plan!.movedTo, `${newest}.from-${last.offset}.bin`))).toEqual(Buffer.from(cutShort));
    expect(records(disk).some((r) => r.type === 'journal.repair')).toBe(true);
  });
});

describe('repair and what may fold', () => {
  it('an unauthenticated record folds only when the policy allows it: a forged opening does, a forged closing does not', async () => {
    for (const [forgedType, id, folds] of [
      ['toy.open', 'forged', true],
      ['toy.close', 'o1190', false],
    ] as const) {
      const disk = new SimDisk();
      const all = await written(disk);
      const newest = wal(disk).at(-1)!;
      const notes = all.filter((r) => r.segment === newest && r.type === 'toy.note');
      expect(all.some((r) => r.type === 'toy.open' && payloadOf(r).id === 'o1190' && r.segment === newest)).toBe(true);
      flip(disk, newest, notes[0]!.offset + 60);
      const target = notes.at(-2)!;
      forge(disk, target, TOY.find((t) => t.name === forgedType)!.code, JSON.stringify({ id, n: 5 }));
      const { plan } = await repairJournal(DIR, options(disk, false));
      expect(plan!.recordsUnverified).toBe(2);
      if (forgedType === 'toy.open') expect(plan!.obligations.includes('forged')).toBe(folds);
      else expect(plan!.obligations).toContain('o1190');
      // Without the key nothing can be checked and everything folds.
      const keyless = await repairJournal(DIR, options(disk, false, { deviceKey: null }));
      expect(keyless.plan!.recordsUnverified).toBe(0);
      if (forgedType === 'toy.close') expect(keyless.plan!.obligations).not.toContain('o1190');
    }
  });

  it('a forged checkpoint or repair record past the damage never replaces the state', async () => {
    for (const code of [1, 4]) {
      const disk = new SimDisk();
      const all = await written(disk);
      const newest = wal(disk).at(-1)!;
      const notes = all.filter((r) => r.segment === newest && r.type === 'toy.note');
      flip(disk, newest, notes[0]!.offset + 60);
      const forged = { open: {}, counter: 0 };
      forge(disk, notes.at(-2)!, code, JSON.stringify(code === 1 ? { throughSeq: notes.at(-2)!.seq, retainedThroughSeq: 0, state: forged } : { state: forged }));
      // Even under a policy that lets every kind fold unauthenticated: a state-replacing record never does.
      const { plan } = await repairJournal(DIR, options(disk, false, { policy: { ...policy, foldsUnverified: () => true } }));
      expect(plan!.obligations.length, `code ${code}`).toBeGreaterThan(0);
      expect(plan!.obligations).toContain('o1190');
    }
  });

  it('without the key every record folds: one the fold cannot take stops the plan naming it, one that is not JSON is left out', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const newest = wal(disk).at(-1)!;
    const notes = all.filter((r) => r.segment === newest && r.type === 'toy.note');
    flip(disk, newest, notes[0]!.offset + 60);
    forge(disk, notes.at(-2)!, 502, '{"n":"x"');
    const skipped = await repairJournal(DIR, options(disk, false, { deviceKey: null }));
    expect(skipped.plan!.obligations).toContain('o1190');
    forge(disk, notes.at(-3)!, 500, 'null');
    const err = await repairJournal(DIR, options(disk, false, { deviceKey: null })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalError);
    expect((err as JournalError).code).toBe('REPAIR_UNFOLDABLE');
    expect((err as JournalError).message).toMatch(new RegExp(`^record seq ${notes.at(-3)!.seq} \\(toy\\.open\\) cannot be folded: .+; it is not one this terminal wrote \\(without the device key every record is folded as if authentic\\); nothing was changed$`));
  });

  it('a batch whose last record was destroyed never folds, though its first records read and verify', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const newest = wal(disk).at(-1)!;
    // A three-record batch (close, open, note) in the newest segment, so no later checkpoint vouches for it
    // (a checkpoint after it is authentic evidence that the batch was folded): destroy its note.
    const batchNote = all.find((r, i) => r.segment === newest && r.type === 'toy.note' && all[i - 1]?.type === 'toy.open' && all[i - 2]?.type === 'toy.close')!;
    const i = all.indexOf(batchNote);
    const [close, opening] = [all[i - 2]!, all[i - 1]!];
    flip(disk, newest, batchNote.offset + 60);
    const { plan } = await repairJournal(DIR, options(disk, false));
    // The cut is at the batch's first record: the batch is not part of the intact prefix either.
    expect(plan!.cut.seq).toBe(close.seq);
    expect(plan!.obligations).not.toContain(payloadOf(opening).id);
    const closed = payloadOf(close).id!;
    const closedLater = all.some((r) => r.seq > batchNote.seq && r.type === 'toy.close' && payloadOf(r).id === closed);
    if (!closedLater) expect(plan!.obligations).toContain(closed);
  });

  it('a tampered record right before a corrupt one: the cut is at the tampered record', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const newest = wal(disk).at(-1)!;
    const notes = all.filter((r) => r.segment === newest && r.type === 'toy.note');
    const k = all.indexOf(notes[4]!);
    const [tampered, corrupt] = [all[k]!, all[k + 1]!];
    expect(corrupt.seq).toBe(tampered.seq + 1);
    forge(disk, tampered, 502, JSON.stringify({ n: 9 }));
    flip(disk, newest, corrupt.offset + 40);
    const v = verifyJournal(DIR, { storage: disk, deviceKey: key, types: types() });
    expect([v.tampered?.seq, v.corrupt?.offset]).toEqual([tampered.seq, corrupt.offset]);
    const { plan } = await repairJournal(DIR, options(disk, false));
    expect(plan!.cut).toEqual({ segment: newest, offset: tampered.offset, seq: tampered.seq });
  });
});

describe('repair refusals', () => {
  it('a wrong device key reads as a tampered first header: refused, nothing moved', async () => {
    const disk = new SimDisk();
    await written(disk, 300);
    const before = wal(disk).map((n) => disk.readFile(path.join(DIR, n)));
    const err = await repairJournal(DIR, options(disk, true, { deviceKey: randomBytes(32) })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalError);
    expect([(err as JournalError).code, (err as JournalError).message]).toEqual([
      'REPAIR_REFUSED',
      `the first segment's header MAC does not match: wrong device key, or the header was altered; not repairing ${DIR}`,
    ]);
    expect(wal(disk).map((n) => disk.readFile(path.join(DIR, n)))).toEqual(before);
    // The lock was released: a repair with the right key goes on.
    expect((await repairJournal(DIR, options(disk, true))).plan).toBeNull();
  });

  it('an earlier repair’s directory in the way: refused before anything moves', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const seg = wal(disk)[1]!;
    flip(disk, seg, all.filter((r) => r.segment === seg).at(4)!.offset + 60);
    const { plan } = await repairJournal(DIR, options(disk, false));
    disk.mkdirp(plan!.movedTo);
    const earlier = disk.open(path.join(plan!.movedTo, wal(disk)[2]!), 'create');
    earlier.write(Buffer.from('an earlier repair kept this'), 0);
    earlier.close();
    const before = wal(disk).map((n) => disk.readFile(path.join(DIR, n)));
    await expect(repairJournal(DIR, options(disk, true))).rejects.toMatchObject({ code: 'REPAIR_EXISTS', message: `${plan!.movedTo} already exists; move it away first` });
    expect(wal(disk).map((n) => disk.readFile(path.join(DIR, n)))).toEqual(before);
  });

  it('without the key: refused with words that say why, after the dry run planned it', async () => {
    const disk = new SimDisk();
    const all = await written(disk);
    const seg = wal(disk)[1]!;
    flip(disk, seg, all.filter((r) => r.segment === seg).at(4)!.offset + 60);
    await expect(repairJournal(DIR, options(disk, true, { deviceKey: null }))).rejects.toMatchObject({ code: 'NO_KEY', message: `repairing ${DIR} needs its device key (the repaired journal is written under it)` });
  });
});
