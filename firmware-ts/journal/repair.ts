// `posj journal repair`: after damage, salvage every record that still verifies, move aside only what
// does not (never delete it), and carry the terminal forward — never back. The state the terminal resumes
// with is the fold of the intact prefix plus every salvaged record (from the newest salvaged checkpoint
// on, where one survived), with its counters moved past anything the damaged part might have used.
// The policy (what may fold without a MAC, how counters move) comes from the fold's owner.
import * as path from 'node:path';
import { SEGMENT_DATA_START, SEGMENT_HEADER_BYTES, decodeSegmentHeader, recordSpan } from '../../protocol/journal/format.js';
import type { Storage } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { RecordChain } from './chain.js';
import { JournalError } from './errors.js';
import { CHECKPOINT, REPAIR, RETENTION, SEAL, type CheckpointPayload, type RepairPayload } from './internal-types.js';
import { APPEND_INTERNAL, FINISHING_REPAIR, Journal } from './journal.js';
import { readRepairIntent, removeRepairIntent, writeRepairIntent, type RepairIntent } from './repair-intent.js';
import type { RecordTypes } from './record-types.js';
import { listSegments, type SegmentRef } from './recovery.js';
import { completeBatches, salvageScan, type SalvagedRecord } from './salvage-scan.js';
import { readWhole, writeZeros } from './segment-io.js';
import { firstNonZero, scanSegment } from './segment-scan.js';
import type { JournalRecord, StateMachine } from './state-machine.js';
import { verifyJournal, type VerifyReport } from './verify.js';

/** The smallest span a record can have: a lost record used at least this many bytes. */
export const MIN_RECORD_SPAN = recordSpan(1);

export interface CounterChange {
  before: number;
  evidenced: number;
  after: number;
}

/** What the fold's owner decides about a salvaged state. */
export interface SalvagePolicy<S, O> {
  fold: StateMachine<S>;
  types: RecordTypes;
  /** May a record whose MAC could not be checked change the state? Only kinds that add, never clear, an obligation. */
  foldsUnverified(type: string): boolean;
  /**
   * Moves the counters of the salvaged state forward: past the highest evidenced anywhere (every readable
   * record, folded or not) plus a margin for `recordsLostAtMost`. Returns the obligations for the plan.
   */
  finish(input: { prefix: S; salvaged: S; evidence: JournalRecord[]; prefixRecords: JournalRecord[]; recordsLostAtMost: number }): {
    state: S;
    stan: CounterChange;
    batch: CounterChange;
    obligations: O;
  };
  /** Records (from `salvaged`, seq ≥ the cut) the repaired journal must hold again for what `state` still owes. */
  reappend(state: S, salvaged: JournalRecord[], cutSeq: number): JournalRecord[];
  /** Points the state's seq references at the re-appended copies. */
  remap(state: S, seqMap: Map<number, number>): void;
}

export interface RepairPlan<O> {
  segment: string;
  offset: number;
  reason: string;
  /** Where the repaired journal is cut: segment and offset (the bad spot, or a seal naming a missing segment). */
  cut: { segment: string | null; offset: number; seq: number };
  bytesMoved: number;
  segmentsMoved: string[];
  movedTo: string;
  recordsSalvaged: number;
  recordsUnverified: number;
  recordsLostAtMost: number;
  stan: CounterChange;
  batch: CounterChange;
  obligations: O;
  recordsReappended: number;
}

export interface RepairResult<O> {
  verify: VerifyReport;
  plan: RepairPlan<O> | null;
  applied: boolean;
  /** The plan is an interrupted repair's, read from its repair.pending file (finished when applied). */
  resumed: boolean;
}

export interface RepairOptions<S, O> {
  storage?: Storage;
  deviceKey: Buffer | null;
  confirm: boolean;
  policy: SalvagePolicy<S, O>;
  /** Clock for the repair record's time stamp (ISO). */
  now: () => string;
}

interface Cut {
  /** Segment the repaired journal ends in (null: none is left, the journal restarts at seq 1). */
  index: number;
  offset: number;
  seq: number;
  extendTo: number | null;
}

export async function repairJournal<S, O>(dir: string, opts: RepairOptions<S, O>): Promise<RepairResult<O>> {
  const storage = opts.storage ?? nodeStorage;
  const { policy } = opts;
  const guard = await storage.guard?.(dir);
  let lock: { release(): void };
  try {
    lock = storage.lock(dir);
  } catch (e) {
    guard?.release();
    throw e;
  }
  let released = false;
  const release = () => {
    if (!released) {
      lock.release();
      guard?.release();
    }
    released = true;
  };
  try {
    const pending = readRepairIntent<RepairPlan<O>>(storage, dir, opts.deviceKey);
    if (pending) {
      // An earlier repair was cut off after it committed: finish that one, never plan a new one over it.
      const verify = verifyJournal(dir, { storage, deviceKey: opts.deviceKey, types: policy.types });
      if (!opts.confirm) return { verify, plan: pending.plan, applied: false, resumed: true };
      await finishRepair(storage, dir, opts.deviceKey!, policy, pending, release);
      return { verify, plan: pending.plan, applied: true, resumed: true };
    }
    const prefixRecords: JournalRecord[] = [];
    let prefixState = policy.fold.initial();
    const verify = verifyJournal(dir, {
      storage,
      deviceKey: opts.deviceKey,
      types: policy.types,
      onRecord: (r) => {
        const rec = { seq: r.seq, type: r.type, payload: JSON.parse(r.payload.toString('utf8')) as unknown };
        prefixRecords.push(rec);
      },
    });
    const bad = firstDamage(verify);
    if (!bad) return { verify, plan: null, applied: false, resumed: false };

    const segments = listSegments(storage, dir);
    // A wrong device key makes the first header look tampered; "repairing" would move the whole journal
    // aside. Refuse instead.
    if (verify.tampered && verify.tampered.offset === 40 && verify.tampered.segment === segments[0]?.name) {
      throw new JournalError('REPAIR_REFUSED', `the first segment's header MAC does not match: wrong device key, or the header was altered; not repairing ${dir}`);
    }
    const images = new Map<string, Buffer>();
    const image = (s: SegmentRef) => {
      let b = images.get(s.name);
      if (!b) images.set(s.name, (b = readWhole(storage, path.join(dir, s.name))));
      return b;
    };
    const cut = findCut(segments, bad, image);
    // The intact prefix: every record before the cut, folded as open does (each checkpoint restarts it).
    const prefix = prefixRecords.filter((r) => r.seq < cut.seq);
    prefixState = foldRecords(policy.fold, policy.fold.initial(), prefix);

    // Salvage: every CRC-valid record from the cut on, in the cut segment and every later one.
    const later = segments.slice(Math.max(0, cut.index));
    const found = new Map<number, SalvagedRecord>();
    const macs = new Map<number, Buffer>();
    let unreadable = 0;
    for (const s of later) {
      const img = image(s);
      const header = decodeSegmentHeader(img);
      if (typeof header !== 'string' && s.firstSeq > 1) macs.set(s.firstSeq - 1, Buffer.from(header.prevMac));
      const scan = salvageScan(s.name, img, SEGMENT_DATA_START, s.firstSeq, s.firstSeq + 0x7fff_ffff);
      unreadable += scan.unreadableBytes;
      if (typeof header !== 'string' && header.segmentBytes > img.length) unreadable += header.segmentBytes - img.length;
      for (const r of scan.records) {
        macs.set(r.seq, r.mac);
        if (r.seq >= cut.seq && !found.has(r.seq)) found.set(r.seq, r);
      }
    }
    // A deleted newest segment: as much as the segment before it could have held is unaccounted for.
    if (bad.reason.includes('seal naming it')) unreadable += image(segments[segments.length - 1]!).length;
    const salvaged = [...found.values()].sort((a, b) => a.seq - b.seq);
    const chain = opts.deviceKey ? new RecordChain(opts.deviceKey) : null;
    const verified = (r: SalvagedRecord) => {
      if (!chain) return true;
      const prev = macs.get(r.seq - 1);
      return prev !== undefined && chain.recordMac(prev, r.macHeader, r.payload).equals(r.mac);
    };
    const whole = completeBatches(salvaged);
    const evidence: JournalRecord[] = [];
    const foldable: JournalRecord[] = [];
    let unverified = 0;
    for (const r of salvaged) {
      const type = policy.types.nameOf(r.typeCode);
      let payload: unknown;
      try {
        payload = policy.types.upgrade(r.typeCode, r.version, JSON.parse(r.payload.toString('utf8'))).payload;
      } catch {
        continue;
      }
      const rec = { seq: r.seq, type, payload };
      evidence.push(rec);
      const ok = verified(r);
      if (!ok) unverified++;
      if (!whole.has(r.seq)) continue;
      if (ok || (type !== CHECKPOINT.name && type !== REPAIR.name && policy.foldsUnverified(type))) foldable.push(rec);
    }
    const lastSeq = salvaged.length > 0 ? salvaged[salvaged.length - 1]!.seq : cut.seq - 1;
    const missingSeqs = lastSeq - cut.seq + 1 - salvaged.length;
    const recordsLostAtMost = missingSeqs + Math.ceil(unreadable / MIN_RECORD_SPAN);
    const salvagedState = foldRecords(policy.fold, structuredClone(prefixState), foldable);
    const done = policy.finish({ prefix: prefixState, salvaged: salvagedState, evidence, prefixRecords: prefix, recordsLostAtMost });
    const reappend = policy.reappend(done.state, foldable, cut.seq);

    const cutSegment = cut.index >= 0 ? segments[cut.index]! : null;
    const movedTo = path.join(dir, `damaged-${(cutSegment?.name ?? bad.segment).replace(/\.wal$/, '')}-at-${cut.offset}`);
    const wholeSegment = cut.offset < SEGMENT_HEADER_BYTES || cut.index < 0;
    const movedSegments = segments.slice(cut.index < 0 ? 0 : wholeSegment ? cut.index : cut.index + 1).map((s) => s.name);
    const cutImage = cutSegment ? image(cutSegment) : null;
    const plan: RepairPlan<O> = {
      segment: bad.segment,
      offset: bad.offset,
      reason: bad.reason,
      cut: { segment: cutSegment?.name ?? null, offset: cut.offset, seq: cut.seq },
      bytesMoved: cutImage && !wholeSegment ? Math.max(0, cutImage.length - cut.offset) : 0,
      segmentsMoved: movedSegments,
      movedTo,
      recordsSalvaged: salvaged.length,
      recordsUnverified: unverified,
      recordsLostAtMost,
      stan: done.stan,
      batch: done.batch,
      obligations: done.obligations,
      recordsReappended: reappend.length,
    };
    if (!opts.confirm) return { verify, plan, applied: false, resumed: false };
    // Before anything moves: without the key the repaired journal cannot be written, and a repair that
    // stopped after the move would leave the owed reversals in the damaged part only.
    if (!opts.deviceKey) missingKey(dir);
    const partName = cutImage && !wholeSegment && cutImage.length > cut.offset ? `${cutSegment!.name}.from-${cut.offset}.bin` : null;
    clearWayFor(storage, movedTo, partName);

    // 1. Copy the part of the cut segment from the cut on aside (kept for the acquirer's audit), then commit
    // what the repair will do: from here on a crash is finished by running repair again, and the journal
    // does not open before that.
    storage.mkdirp(movedTo);
    if (partName) {
      const part = storage.open(path.join(movedTo, partName), 'create');
      try {
        part.write(cutImage!.subarray(cut.offset), 0);
        part.sync();
      } finally {
        part.close();
      }
    }
    storage.syncDir(movedTo);
    storage.syncDir(dir);
    const header = cutImage ? decodeSegmentHeader(cutImage) : null;
    const intent: RepairIntent<RepairPlan<O>> = {
      version: 1,
      phase: 'moving',
      movedTo: path.basename(movedTo),
      cut: { segment: cutSegment?.name ?? null, offset: cut.offset, seq: cut.seq, extendTo: cut.extendTo },
      wholeSegment,
      part: partName ? { name: partName, bytes: cutImage!.length - cut.offset } : null,
      segmentsMoved: plan.segmentsMoved,
      kept: [],
      segmentBytes: header && typeof header !== 'string' ? header.segmentBytes : null,
      reappend,
      record: {
        damage: { segment: bad.segment, offset: bad.offset, reason: bad.reason },
        movedTo,
        recordsSalvaged: salvaged.length,
        recordsLostAtMost,
        stan: done.stan,
        batch: done.batch,
        state: policy.fold.toCheckpoint(done.state),
        at: opts.now(),
      },
      plan,
    };
    writeRepairIntent(storage, dir, opts.deviceKey, intent);
    await finishRepair(storage, dir, opts.deviceKey, policy, intent, release);
    return { verify, plan, applied: true, resumed: false };
  } finally {
    release();
  }
}

/**
 * The damaged part's directory must be new. One holding nothing but this plan's copy of the cut is what a
 * repair cut off before it committed left behind, and is taken over.
 */
function clearWayFor(storage: Storage, movedTo: string, partName: string | null): void {
  if (!storage.exists(movedTo)) return;
  const inside = storage.list(movedTo);
  if (inside.every((n) => n === partName)) return void inside.forEach((n) => storage.remove(path.join(movedTo, n)));
  throw new JournalError('REPAIR_EXISTS', `${movedTo} already exists; move it away first`);
}

/**
 * Carries a committed repair to its end, from whichever step a crash stopped it at: moves the damaged
 * segments aside and cuts the segment the damage is in (each step safe to do again), then writes back what
 * the salvaged state owes and the repair record, and only then removes the intent.
 */
async function finishRepair<S, O>(storage: Storage, dir: string, deviceKey: Buffer, policy: SalvagePolicy<S, O>, start: RepairIntent, release: () => void): Promise<void> {
  let intent = start;
  const movedTo = path.join(dir, intent.movedTo);
  if (intent.phase === 'moving') {
    storage.mkdirp(movedTo);
    for (const name of intent.segmentsMoved) {
      if (storage.exists(path.join(dir, name))) storage.rename(path.join(dir, name), path.join(movedTo, name));
    }
    storage.syncDir(movedTo);
    storage.syncDir(dir);
    if (intent.cut.segment && !intent.wholeSegment) zeroFrom(storage, path.join(dir, intent.cut.segment), intent.cut.offset, intent.cut.extendTo);
    intent = { ...intent, phase: 'writing', kept: listSegments(storage, dir).map((s) => s.name) };
    writeRepairIntent(storage, dir, deviceKey, intent);
  } else if (repairRecordWritten(storage, dir, deviceKey, policy.types, intent)) {
    // Cut off after its record was durable: only the intent is left to remove.
    removeRepairIntent(storage, dir);
    return;
  } else {
    // Cut off while writing back: what it wrote past the cut goes aside, and it is written again.
    for (const s of listSegments(storage, dir)) {
      if (!intent.kept.includes(s.name)) storage.rename(path.join(dir, s.name), freeName(storage, movedTo, `interrupted-${s.name}`));
    }
    storage.syncDir(movedTo);
    storage.syncDir(dir);
    if (intent.cut.segment && !intent.wholeSegment) zeroFrom(storage, path.join(dir, intent.cut.segment), intent.cut.offset, intent.cut.extendTo);
  }
  release();
  await writeSalvagedState(storage, dir, deviceKey, policy, intent);
}

/**
 * Reopens what is left, writes back what the salvaged state still owes, then the repair record: its state
 * replaces the fold of everything before it. One batch when it fits; the intent goes only once the record
 * is durable, with the journal still held, so no daemon opens it in between.
 */
async function writeSalvagedState<S, O>(storage: Storage, dir: string, deviceKey: Buffer, policy: SalvagePolicy<S, O>, intent: RepairIntent): Promise<void> {
  const segmentBytes = intent.segmentBytes ?? undefined;
  const j = await Journal.open({ dir, deviceKey, fold: policy.fold, types: policy.types, storage, segmentBytes, [FINISHING_REPAIR]: true });
  try {
    const seqMap = new Map<number, number>();
    const batchLimit = (segmentBytes ?? 1 << 20) / 4;
    let batch: JournalRecord[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const r = await j.append(batch.map((x) => ({ type: x.type, payload: x.payload })), { durable: true });
      batch.forEach((x, i) => seqMap.set(x.seq, r.firstSeq + i));
      batch = [];
      bytes = 0;
    };
    for (const r of intent.reappend) {
      const size = recordSpan(JSON.stringify(r.payload).length);
      if (bytes + size > batchLimit) await flush();
      batch.push(r);
      bytes += size;
    }
    await flush();
    const state = policy.fold.fromCheckpoint(intent.record.state);
    policy.remap(state, seqMap);
    const payload = { ...intent.record, state: policy.fold.toCheckpoint(state) };
    await j[APPEND_INTERNAL]([{ type: REPAIR.name, payload }], { durable: true });
    removeRepairIntent(storage, dir);
  } finally {
    await j.close();
  }
}

/** Zeroes a segment from `offset` to its end, and back out to `extendTo` when it had been cut short. */
function zeroFrom(storage: Storage, file: string, offset: number, extendTo: number | null): void {
  const f = storage.open(file, 'rw');
  try {
    const size = f.size();
    if (size > offset) writeZeros(f, offset, size - offset);
    if (extendTo !== null && extendTo > Math.max(size, offset)) writeZeros(f, Math.max(size, offset), extendTo - Math.max(size, offset));
    f.sync();
  } finally {
    f.close();
  }
}

/** Does the journal already hold this intent's repair record (written past the cut, same time and place)? */
function repairRecordWritten(storage: Storage, dir: string, deviceKey: Buffer, types: RecordTypes, intent: RepairIntent): boolean {
  let found = false;
  verifyJournal(dir, {
    storage,
    deviceKey,
    types,
    onRecord: (r) => {
      if (found || r.type !== REPAIR.name || r.seq < intent.cut.seq) return;
      const p = JSON.parse(r.payload.toString('utf8')) as { at?: unknown; movedTo?: unknown };
      found = p.at === intent.record.at && p.movedTo === intent.record.movedTo;
    },
  });
  return found;
}

function freeName(storage: Storage, dir: string, name: string): string {
  let candidate = path.join(dir, name);
  for (let n = 2; storage.exists(candidate); n++) candidate = path.join(dir, `${name}.${n}`);
  return candidate;
}

/** The earlier of corruption and tampering (verify goes on reading after a broken MAC, not after corruption). */
function firstDamage(v: VerifyReport): { segment: string; offset: number; reason: string } | null {
  const corruptSeq = (v.lastSeq ?? 0) + 1;
  if (v.tampered && (!v.corrupt || v.tampered.seq <= corruptSeq)) return { segment: v.tampered.segment, offset: v.tampered.offset, reason: v.tampered.reason };
  return v.corrupt;
}

function missingKey(dir: string): never {
  throw new JournalError('NO_KEY', `repairing ${dir} needs its device key (the repaired journal is written under it)`);
}

function foldRecords<S>(fold: StateMachine<S>, start: S, records: readonly JournalRecord[]): S {
  let state = start;
  for (const r of records) {
    if (r.type === CHECKPOINT.name) state = fold.fromCheckpoint((r.payload as CheckpointPayload).state);
    else if (r.type === REPAIR.name) state = fold.fromCheckpoint((r.payload as RepairPayload).state);
    else if (r.type !== RETENTION.name && r.type !== SEAL.name) applyOrRefuse(fold, state, r);
  }
  return state;
}

/** A record the fold cannot take (only a forged or foreign one: nothing was written from it yet) stops the plan with where it is. */
function applyOrRefuse<S>(fold: StateMachine<S>, state: S, r: JournalRecord): void {
  try {
    fold.apply(state, r);
  } catch (e) {
    throw new JournalError('REPAIR_UNFOLDABLE', `record seq ${r.seq} (${r.type}) cannot be folded: ${(e as Error).message}; it is not one this terminal wrote (without the device key every record is folded as if authentic); nothing was changed`);
  }
}

/**
 * Where to cut: at the bad spot in the segment it names; for a segment that is missing, at the seal (or
 * end) of the one before it, so the repaired journal's newest segment no longer names a missing successor.
 */
function findCut(segments: SegmentRef[], bad: { segment: string; offset: number; reason: string }, image: (s: SegmentRef) => Buffer): Cut {
  const index = segments.findIndex((s) => s.name === bad.segment);
  let missingFirst = Number.parseInt(bad.segment.slice(4, 20), 16);
  if (index >= 0) {
    const seg = segments[index]!;
    const img = image(seg);
    const header = decodeSegmentHeader(img);
    const headerBad = bad.offset < SEGMENT_DATA_START || typeof header === 'string';
    if (!headerBad) {
      const prefix = scanSegment(seg.name, img.subarray(0, bad.offset), true);
      const seq = prefix.nextSeq;
      // Nothing left of the only segment (older ones retired): it goes whole, and the journal restarts at seq 1.
      if (index === 0 && seq === seg.firstSeq && seg.firstSeq > 1) return { index, offset: 0, seq, extendTo: null };
      // Damage after the segment's seal: the seal names the next segment, which goes aside with the rest, so
      // the cut is at the seal (a seal left standing would name a missing segment, and the journal not open).
      const last = prefix.records.at(-1);
      if (last && last.typeCode === SEAL.code) return { index, offset: last.offset, seq: last.seq, extendTo: null };
      // At the bad spot, or before it where a batch's first records are (or a record the file's end cut
      // short): they go aside with it, for they cannot stay (the next open would zero them as a torn tail).
      return { index, offset: firstNonZero(img, prefix.endOffset, bad.offset), seq, extendTo: header.segmentBytes > img.length ? header.segmentBytes : null };
    }
    if (index === 0) return { index, offset: 0, seq: seg.firstSeq, extendTo: null };
    // A bad header: the whole segment goes, as if it were missing.
    missingFirst = seg.firstSeq;
  }
  // Cut the segment before the missing one at its seal, if it has one (it names the missing segment).
  let prev = -1;
  for (let i = 0; i < segments.length; i++) if (segments[i]!.firstSeq < missingFirst) prev = i;
  if (prev < 0) return { index: -1, offset: 0, seq: 1, extendTo: null };
  const seg = segments[prev]!;
  const img = image(seg);
  const scan = salvageScan(seg.name, img, SEGMENT_DATA_START, seg.firstSeq, missingFirst);
  const seal = scan.records.find((r) => r.typeCode === SEAL.code && r.seq === missingFirst - 1);
  const offset = seal ? seal.offset : img.length;
  return { index: prev, offset, seq: seqAfterPrefix(seg, img, offset), extendTo: null };
}

/** The seq that follows the last whole batch before `offset`: where the repaired journal continues. */
function seqAfterPrefix(seg: SegmentRef, img: Buffer, offset: number): number {
  return scanSegment(seg.name, img.subarray(0, offset), true).nextSeq;
}
