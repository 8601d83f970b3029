// Recovery, read-only: which segments there are, whether their headers hold, and the state folded from
// the newest checkpoint plus the tail after it. Open (journal.ts) applies its result; `posj journal stat`
// uses it as is, so the two can never disagree about STAN, batch or what is owed (one code path).
import * as path from 'node:path';
import { SEGMENT_HEADER_BYTES, decodeSegmentHeader, parseSegmentFileName, type SegmentHeader } from '../../protocol/journal/format.js';
import type { Storage } from '../io/storage.js';
import type { RecordChain } from './chain.js';
import { JournalCorruptionError } from './errors.js';
import { CHECKPOINT, REPAIR, RETENTION, SEAL, type CheckpointPayload, type RepairPayload, type RetentionPayload, type SealPayload } from './internal-types.js';
import type { RecordTypes } from './record-types.js';
import { missingSegmentError, truncationError } from './segment-checks.js';
import { scanSegment, type ScannedRecord, type SegmentScan } from './segment-scan.js';
import { readWhole } from './segment-io.js';
import type { JournalRecord, StateMachine } from './state-machine.js';

export interface SegmentRef {
  name: string;
  firstSeq: number;
}

export function listSegments(storage: Storage, dir: string): SegmentRef[] {
  return storage
    .list(dir)
    .map((name) => ({ name, firstSeq: parseSegmentFileName(name) }))
    .filter((s): s is SegmentRef => s.firstSeq !== null)
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

export function parsePayload(rec: ScannedRecord, segment: string): unknown {
  try {
    return JSON.parse(rec.payloadText());
  } catch {
    throw new JournalCorruptionError(segment, rec.offset, `record seq ${rec.seq} payload is not valid JSON`);
  }
}

/** The fold plus what the journal keeps for itself (the retention horizon); the one place records are applied. */
export class FoldRunner<S> {
  state: S;
  retainedThroughSeq = 0;
  /** Older segments the loaded checkpoint listed (undefined for checkpoints of older builds). */
  listedSegments: number[] | undefined;

  constructor(
    private readonly fold: StateMachine<S>,
    private readonly types: RecordTypes,
  ) {
    this.state = fold.initial();
  }

  loadCheckpoint(rec: ScannedRecord, segment: string): void {
    const cp = this.types.upgrade(rec.typeCode, rec.version, parsePayload(rec, segment)).payload as CheckpointPayload;
    this.state = this.fold.fromCheckpoint(cp.state);
    this.retainedThroughSeq = cp.retainedThroughSeq;
    this.listedSegments = cp.segments;
  }

  apply(r: JournalRecord): void {
    if (r.type === CHECKPOINT.name || r.type === SEAL.name) return;
    if (r.type === RETENTION.name) {
      this.retainedThroughSeq = Math.max(this.retainedThroughSeq, (r.payload as RetentionPayload).throughSeq);
      return;
    }
    // A repair's salvaged state replaces what the records before it folded to (they are its prefix).
    if (r.type === REPAIR.name) {
      this.state = this.fold.fromCheckpoint((r.payload as RepairPayload).state);
      return;
    }
    this.fold.apply(this.state, r);
  }

  replay(records: ScannedRecord[], segment: string): number {
    for (const rec of records) {
      const { name, payload } = this.types.upgrade(rec.typeCode, rec.version, parsePayload(rec, segment));
      this.apply({ seq: rec.seq, type: name, payload });
    }
    return records.length;
  }
}

export interface Recovered<S> {
  segments: SegmentRef[];
  runner: FoldRunner<S>;
  /** The segment appends continue in, its image as read, and its scan. */
  newest: SegmentRef;
  image: Buffer;
  scan: SegmentScan;
  recordsReplayed: number;
  checkpointSeq: number;
  /** The newest segment has no checkpoint yet (power lost right after creating it): open writes one. */
  needCheckpoint: boolean;
  /** An empty newest segment whose predecessor was never sealed (rotation cut short): open removes it. */
  abandoned: SegmentRef | null;
  /** The segment before an empty newest one: open fdatasyncs it (its seal may not have been synced). */
  syncPrevious: SegmentRef | null;
}

export interface RecoverInput<S> {
  storage: Storage;
  dir: string;
  fold: StateMachine<S>;
  types: RecordTypes;
  /** Null (no device key): header MACs are not checked, as `verify` without a key. */
  chain: RecordChain | null;
  /** Segments as listed (non-empty). */
  segments: SegmentRef[];
}

/** Reads a segment's header and size, checking what open checks for every segment (not only the newest). */
export function checkHeader(storage: Storage, dir: string, s: SegmentRef, chain: RecordChain | null): SegmentHeader {
  const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
  const f = storage.open(path.join(dir, s.name), 'r');
  let size: number;
  try {
    f.read(head, 0, SEGMENT_HEADER_BYTES, 0);
    size = f.size();
  } finally {
    f.close();
  }
  const h = decodeSegmentHeader(head);
  if (typeof h === 'string') throw new JournalCorruptionError(s.name, 0, `segment header: ${h}`);
  if (h.firstSeq !== s.firstSeq) throw new JournalCorruptionError(s.name, 16, `header says first seq ${h.firstSeq}, file name says ${s.firstSeq}`);
  // Bytes 0..40 as read are the body the MAC covers (decode checked every field of them).
  if (chain && !chain.headerMac(head.subarray(0, 40)).equals(h.headerMac)) throw new JournalCorruptionError(s.name, 40, 'segment header MAC mismatch (wrong device key, or the header was altered)');
  const truncated = truncationError(s.name, size, h.segmentBytes);
  if (truncated) throw truncated;
  return h;
}

const lastRecord = (scan: SegmentScan) => scan.records[scan.records.length - 1];

/** A newest segment whose last record is a seal: the segment it names was removed. */
export function sealedNewestError(scan: SegmentScan): JournalCorruptionError | null {
  const last = lastRecord(scan);
  if (!last || last.typeCode !== SEAL.code) return null;
  let p: SealPayload;
  try {
    p = parsePayload(last, scan.name) as SealPayload;
  } catch (e) {
    // A seal that does not parse is damage at the seal, for open and verify alike (a SyntaxError said neither).
    return e as JournalCorruptionError;
  }
  // The writer names the next segment after the seal's own seq; anything else is a forged or garbled seal, and
  // a missing-segment message built from it would name a segment that never existed.
  if (p === null || typeof p !== 'object' || p.nextFirstSeq !== last.seq + 1) {
    return new JournalCorruptionError(scan.name, last.offset, `seal seq ${last.seq} names the next segment's first seq as ${JSON.stringify((p as Partial<SealPayload> | null)?.nextFirstSeq) ?? 'nothing'}, not ${last.seq + 1}`);
  }
  return missingSegmentError(p.nextFirstSeq, null);
}

export function recoverJournal<S>(input: RecoverInput<S>): Recovered<S> {
  const { storage, dir, fold, types, chain, segments } = input;
  for (const s of segments) checkHeader(storage, dir, s, chain);
  const newest = segments[segments.length - 1]!;
  const image = readWhole(storage, path.join(dir, newest.name));
  const scan = scanSegment(newest.name, image, true);
  if (scan.tail.kind === 'corrupt') throw new JournalCorruptionError(newest.name, scan.tail.offset, scan.tail.reason);
  const sealed = sealedNewestError(scan);
  if (sealed) throw sealed;

  const runner = new FoldRunner(fold, types);
  const first = scan.records[0];
  let result: Recovered<S>;
  if (first && first.typeCode === CHECKPOINT.code) {
    runner.loadCheckpoint(first, newest.name);
    const replayed = runner.replay(scan.records.slice(1), newest.name);
    result = { segments, runner, newest, image, scan, recordsReplayed: replayed, checkpointSeq: first.seq, needCheckpoint: false, abandoned: null, syncPrevious: null };
  } else if (first) {
    throw new JournalCorruptionError(newest.name, first.offset, 'segment does not start with its checkpoint');
  } else if (segments.length > 1) {
    result = recoverFromPrevious(input, newest, image, scan, runner);
  } else if (newest.firstSeq === 1) {
    // The very first segment, cut before its checkpoint: the initial state is the truth.
    result = { segments, runner, newest, image, scan, recordsReplayed: 0, checkpointSeq: 0, needCheckpoint: true, abandoned: null, syncPrevious: null };
  } else {
    throw new JournalCorruptionError(newest.name, SEGMENT_HEADER_BYTES, `segment has no checkpoint and nothing before seq ${newest.firstSeq} is left to rebuild it from`);
  }
  checkListedSegments(result);
  return result;
}

/**
 * The newest segment is empty: power was lost between creating it and its checkpoint becoming durable.
 * Rebuild from the segment before it (fully synced before this one was created) — from that segment's
 * checkpoint, never from the initial state: every segment starts with one, so its absence is corruption.
 */
function recoverFromPrevious<S>(input: RecoverInput<S>, newest: SegmentRef, image: Buffer, scan: SegmentScan, runner: FoldRunner<S>): Recovered<S> {
  const { storage, dir, segments } = input;
  const prev = segments[segments.length - 2]!;
  const prevImage = readWhole(storage, path.join(dir, prev.name));
  // Scanned as a newest segment first: a seal cut by the power loss may have torn its last sector.
  const prevScan = scanSegment(prev.name, prevImage, true);
  const pf = prevScan.records[0];
  if (!pf || pf.typeCode !== CHECKPOINT.code) throw new JournalCorruptionError(prev.name, pf?.offset ?? 512, 'segment does not start with its checkpoint');
  const sealed = lastRecord(prevScan)?.typeCode === SEAL.code;
  if (!sealed && prevScan.tail.kind !== 'corrupt' && prevScan.nextSeq === newest.firstSeq - 1) {
    // The rotation named the new segment after the seal it was about to write, and was cut before the seal
    // became durable: the empty segment holds nothing; drop it and carry on in the one before.
    runner.loadCheckpoint(pf, prev.name);
    const replayed = runner.replay(prevScan.records.slice(1), prev.name);
    const rest = segments.slice(0, -1);
    return { segments: rest, runner, newest: prev, image: prevImage, scan: prevScan, recordsReplayed: replayed, checkpointSeq: pf.seq, needCheckpoint: false, abandoned: newest, syncPrevious: null };
  }
  if (prevScan.tail.kind !== 'clean') {
    const t = prevScan.tail;
    throw new JournalCorruptionError(prev.name, t.offset, `${t.reason} (in an older segment)`);
  }
  if (prevScan.nextSeq !== newest.firstSeq) {
    throw new JournalCorruptionError(prev.name, prevScan.endOffset, `segment ends before seq ${newest.firstSeq - 1}, which the next segment follows`);
  }
  runner.loadCheckpoint(pf, prev.name);
  const replayed = runner.replay(prevScan.records.slice(1), prev.name);
  // Its seal may have survived the power cut unsynced: open makes it durable before anything builds on it.
  return { segments, runner, newest, image, scan, recordsReplayed: replayed, checkpointSeq: pf.seq, needCheckpoint: true, abandoned: null, syncPrevious: prev };
}

/** Every older segment the loaded checkpoint listed, above the retention horizon, must still be there. */
function checkListedSegments<S>(r: Recovered<S>): void {
  const listed = r.runner.listedSegments;
  if (!listed) return;
  const present = new Set(r.segments.map((s) => s.firstSeq));
  for (const firstSeq of listed) {
    if (firstSeq <= r.runner.retainedThroughSeq || present.has(firstSeq)) continue;
    const next = r.segments.find((s) => s.firstSeq > firstSeq);
    throw missingSegmentError(firstSeq, next?.firstSeq ?? null);
  }
}
