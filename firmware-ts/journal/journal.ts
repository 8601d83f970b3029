// The crash-safe, append-only journal: the single source of truth on the terminal (DESIGN rule 1).
// Layout and byte format: protocol/JOURNAL_FORMAT.md.
import * as path from 'node:path';
import {
  FLAG_LAST_IN_BATCH,
  MAX_APPEND_PAYLOAD_BYTES,
  MAX_PAYLOAD_BYTES,
  SEGMENT_DATA_START,
  SEGMENT_HEADER_BYTES,
  alignToSector,
  encodeRecord,
  encodeSegmentHeader,
  encodeSegmentHeaderBody,
  macHeaderBytes,
  parseSegmentFileName,
  recordSpan,
  segmentFileName,
} from '../../protocol/journal/format.js';
import type { Storage, StorageFile } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { findSensitive } from '../pci/card-data.js';
import { RecordChain, ZERO_MAC } from './chain.js';
import { JournalClosedError, JournalCorruptionError, JournalError, SensitiveDataError } from './errors.js';
import { CHECKPOINT, INTERNAL_TYPES, RETENTION, type CheckpointPayload, type RetentionPayload } from './internal-types.js';
import { RecordTypes } from './record-types.js';
import { scanSegment, type ScannedRecord, type SegmentScan } from './segment-scan.js';
import { readWhole, SPARE_NAME, writeZeros } from './segment-io.js';
import type { JournalRecord, StateMachine } from './state-machine.js';

// Small enough that boot (which replays the newest segment behind its checkpoint) stays fast; large enough
// that a checkpoint per segment costs little.
export const DEFAULT_SEGMENT_BYTES = 1024 * 1024;

export interface RecordInput {
  type: string;
  payload: unknown;
}

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
}

export interface JournalOptions<S> {
  dir: string;
  deviceKey: Buffer;
  fold: StateMachine<S>;
  types: RecordTypes;
  storage?: Storage;
  segmentBytes?: number;
}

export interface OpenReport {
  segments: number;
  /** Records folded at boot on top of the checkpoint (the tail since it). */
  recordsReplayed: number;
  checkpointSeq: number;
  tornTailBytes: number;
  tornTail?: { segment: string; offset: number; reason: string };
}

export interface RetentionReport {
  throughSeq: number;
  mode: 'archive' | 'delete';
  segments: string[];
}

interface SegmentRef {
  name: string;
  firstSeq: number;
}

export class Journal<S> {
  private file!: StorageFile;
  private segments: SegmentRef[] = [];
  private writePos = SEGMENT_DATA_START;
  /** Size of the segment being written; larger than segmentBytes only when a checkpoint needed room. */
  private currentSegmentBytes = 0;
  private nextSeqValue = 1;
  private durableThrough = 0;
  private lastMac: Buffer = ZERO_MAC;
  private retainedThroughSeq = 0;
  private failure: unknown = null;
  /** The next segment being zero-filled in the background; dropped (never waited on) if not ready in time. */
  private spare: { size: number; ready: boolean; done: Promise<void> } | null = null;
  private closed = false;
  private stateValue!: S;
  private lock!: { release(): void };
  private readonly storage: Storage;
  private readonly chain: RecordChain;
  private readonly segmentBytes: number;
  private readonly types: RecordTypes;
  openReport!: OpenReport;

  private constructor(private readonly opts: JournalOptions<S>) {
    this.storage = opts.storage ?? nodeStorage;
    this.chain = new RecordChain(opts.deviceKey);
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (this.segmentBytes < 64 * 1024 || this.segmentBytes > 1 << 30) throw new RangeError('segmentBytes must be 64 KiB .. 1 GiB');
    this.types = new RecordTypes(INTERNAL_TYPES);
    for (const t of opts.types.all()) this.types.register(t);
  }

  static async open<S>(opts: JournalOptions<S>): Promise<Journal<S>> {
    const j = new Journal(opts);
    j.storage.mkdirp(opts.dir);
    j.lock = j.storage.lock(opts.dir);
    try {
      j.recover();
    } catch (e) {
      j.lock.release();
      throw e;
    }
    return j;
  }

  get state(): S {
    return this.stateValue;
  }

  get nextSeq(): number {
    return this.nextSeqValue;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** Why the journal refuses writes (an fsync failure), or null while healthy. */
  get failed(): unknown {
    return this.failure;
  }

  /**
   * Appends records as one batch: after a crash either all of them are there or none. A durable append
   * resolves only after fdatasync; a lazy one becomes durable with the next durable append or sync().
   */
  async append(records: RecordInput[], options: { durable: boolean }): Promise<AppendResult> {
    this.assertWritable();
    if (records.length === 0) throw new RangeError('append needs at least one record');
    const encoded = records.map((r, i) => this.encodePayload(r, i));
    return this.appendEncoded(encoded, options.durable);
  }

  /** Makes every lazily appended record durable. */
  async sync(): Promise<void> {
    this.assertWritable();
    this.guarded(() => this.file.datasync());
    this.markSynced();
  }

  /** After a sync, later writes go to a fresh sector so a torn write can never garble synced records. */
  private markSynced(): void {
    this.durableThrough = this.nextSeqValue - 1;
    this.writePos = alignToSector(this.writePos);
  }

  /**
   * Archives (moves to DIR/archive) or deletes segments whose records are all closed and all folded into
   * the newest checkpoint. A segment holding any open obligation stays.
   */
  async retain(options: { mode: 'archive' | 'delete' }): Promise<RetentionReport | null> {
    this.assertWritable();
    const oldestOpen = this.opts.fold.oldestOpenSeq(this.stateValue) ?? this.nextSeqValue;
    let keepFrom = 0;
    while (keepFrom < this.segments.length - 1 && this.segments[keepFrom + 1]!.firstSeq <= oldestOpen) keepFrom++;
    if (keepFrom === 0) return null;
    const victims = this.segments.slice(0, keepFrom);
    const throughSeq = this.segments[keepFrom]!.firstSeq - 1;
    const payload: RetentionPayload = { throughSeq, mode: options.mode, segments: victims.map((s) => s.name) };
    // Journal the decision first: verify then knows the missing history was retired, not removed.
    await this.append([{ type: RETENTION.name, payload }], { durable: true });
    const archiveDir = path.join(this.opts.dir, 'archive');
    // Guarded like every other write: a failed directory fsync is as fatal as a failed fdatasync (DESIGN
    // rule 8), and the in-memory segment list no longer matches the disk; only a reopen re-reads it.
    this.guarded(() => {
      if (options.mode === 'archive') this.storage.mkdirp(archiveDir);
      for (const v of victims) {
        const from = path.join(this.opts.dir, v.name);
        if (options.mode === 'archive') this.storage.rename(from, path.join(archiveDir, v.name));
        else this.storage.remove(from);
      }
      if (options.mode === 'archive') this.storage.syncDir(archiveDir);
      this.storage.syncDir(this.opts.dir);
    });
    this.segments = this.segments.slice(keepFrom);
    return payload;
  }

  /** Resolves when the background spare segment is ready (or its preparation ended); for tests. */
  async whenSpareReady(): Promise<boolean> {
    await this.spare?.done;
    return this.spare?.ready ?? false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.spare?.done;
    try {
      if (!this.failure && this.durableThrough < this.nextSeqValue - 1) this.file.datasync();
    } finally {
      this.file.close();
      this.lock.release();
    }
  }

  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  // ---- write path ----

  private encodePayload(r: RecordInput, index: number): { code: number; version: number; json: Buffer; type: string } {
    const schema = this.types.schemaFor(r.type);
    const finding = findSensitive(r.payload, `records[${index}](${r.type})`);
    if (finding) throw new SensitiveDataError(finding.what, finding.where);
    const json = Buffer.from(JSON.stringify(r.payload ?? null), 'utf8');
    if (json.length > MAX_APPEND_PAYLOAD_BYTES) {
      throw new JournalError('RECORD_TOO_LARGE', `record ${r.type} payload is ${json.length} bytes; the limit is ${MAX_APPEND_PAYLOAD_BYTES}`);
    }
    return { code: schema.code, version: schema.version, json, type: r.type };
  }

  private appendEncoded(encoded: { code: number; version: number; json: Buffer; type: string }[], durable: boolean): AppendResult {
    const total = encoded.reduce((n, e) => n + recordSpan(e.json.length), 0);
    const isCheckpoint = encoded.length === 1 && encoded[0]!.code === CHECKPOINT.code;
    // Half a segment, so any batch fits in a fresh segment behind its checkpoint.
    if (!isCheckpoint && total > this.segmentBytes / 2) {
      throw new JournalError('BATCH_TOO_LARGE', `batch of ${total} bytes exceeds half a segment (${this.segmentBytes / 2} bytes)`);
    }
    if (!isCheckpoint && this.writePos + total > this.currentSegmentBytes) this.rotate();
    const buf = Buffer.allocUnsafe(total);
    const firstSeq = this.nextSeqValue;
    let seq = firstSeq;
    let mac = this.lastMac;
    let off = 0;
    encoded.forEach((e, i) => {
      const flags = i === encoded.length - 1 ? FLAG_LAST_IN_BATCH : 0;
      const hb = macHeaderBytes(e.json.length, e.code, e.version, flags, seq, this.durableThrough);
      mac = this.chain.recordMac(mac, hb, e.json);
      off += encodeRecord(buf, off, { typeCode: e.code, version: e.version, flags, seq, durableThrough: this.durableThrough, mac }, e.json);
      seq++;
    });
    this.guarded(() => {
      this.file.write(buf, this.writePos);
      if (durable) this.file.datasync();
    });
    this.writePos += total;
    this.nextSeqValue = seq;
    this.lastMac = mac;
    if (durable) this.markSynced();
    // Fold what a reboot would read back, not the caller's objects. Checkpoints fold nothing.
    encoded.forEach((e, i) => {
      if (e.code !== CHECKPOINT.code) this.applyRecord({ seq: firstSeq + i, type: e.type, payload: JSON.parse(e.json.toString('utf8')) });
    });
    return { firstSeq, lastSeq: seq - 1 };
  }

  private applyRecord(r: JournalRecord): void {
    if (r.type === CHECKPOINT.name) return;
    if (r.type === RETENTION.name) {
      this.retainedThroughSeq = Math.max(this.retainedThroughSeq, (r.payload as RetentionPayload).throughSeq);
      return;
    }
    this.opts.fold.apply(this.stateValue, r);
  }

  private rotate(): void {
    this.guarded(() => this.file.datasync());
    this.markSynced();
    this.file.close();
    const checkpoint = this.checkpointJson();
    // A large open state (a batch left unsettled for long) gets a bigger segment rather than an error.
    const needed = SEGMENT_DATA_START + recordSpan(checkpoint.length) + this.segmentBytes / 2;
    const size = Math.max(this.segmentBytes, Math.ceil(needed / 65536) * 65536);
    this.file = this.createSegment(this.nextSeqValue, this.lastMac, size);
    this.appendCheckpoint(checkpoint);
  }

  private checkpointJson(): Buffer {
    const payload: CheckpointPayload = {
      throughSeq: this.nextSeqValue - 1,
      retainedThroughSeq: this.retainedThroughSeq,
      state: this.opts.fold.toCheckpoint(this.stateValue),
    };
    const json = Buffer.from(JSON.stringify(payload));
    if (json.length > MAX_PAYLOAD_BYTES) {
      throw new JournalError('STATE_TOO_LARGE', `open state of ${json.length} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte checkpoint limit; settle the batch`);
    }
    return json;
  }

  private appendCheckpoint(json: Buffer = this.checkpointJson()): void {
    this.appendEncoded([{ code: CHECKPOINT.code, version: CHECKPOINT.version, json, type: CHECKPOINT.name }], true);
  }

  /** A new segment is a zero-filled temp file, fsynced, given its header, renamed, and the directory fsynced. */
  private createSegment(firstSeq: number, prevMac: Buffer, size = this.segmentBytes): StorageFile {
    const dir = this.opts.dir;
    const sparePath = path.join(dir, SPARE_NAME);
    const name = segmentFileName(firstSeq);
    const ready = this.spare?.ready === true && this.spare.size === size;
    this.spare = null;
    this.guarded(() => {
      if (!ready && this.storage.exists(sparePath)) this.storage.remove(sparePath);
      const spare = this.storage.open(sparePath, ready ? 'rw' : 'create');
      try {
        if (!ready) writeZeros(spare, 0, size);
        const body = encodeSegmentHeaderBody({ formatVersion: 1, segmentBytes: size, firstSeq, prevMac });
        spare.write(encodeSegmentHeader(body, this.chain.headerMac(body)), 0);
        spare.sync();
      } finally {
        spare.close();
      }
      this.storage.rename(sparePath, path.join(dir, name));
      this.storage.syncDir(dir);
    });
    this.segments.push({ name, firstSeq });
    this.writePos = SEGMENT_DATA_START;
    this.currentSegmentBytes = size;
    const file = this.storage.open(path.join(dir, name), 'rw');
    this.startSpare();
    return file;
  }

  /**
   * Zero-fills the next segment off the append path (etcd's file pipeline does the same). A spare that
   * is not ready when needed is abandoned and the segment is made inline; a half-made one is never
   * referenced and is removed at the next open.
   */
  private startSpare(): void {
    if (!this.storage.preallocate || this.closed || this.failure) return;
    const spare = { size: this.segmentBytes, ready: false, done: Promise.resolve() };
    spare.done = this.storage.preallocate(path.join(this.opts.dir, SPARE_NAME), spare.size).then(
      () => void (spare.ready = true),
      () => undefined,
    );
    this.spare = spare;
  }

  /** Runs file I/O; any failure closes the journal for writing for good (DESIGN rule 8: never retry fsync). */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.failure = e;
      throw new JournalClosedError(e);
    }
  }

  private assertWritable(): void {
    if (this.closed) throw new JournalClosedError();
    if (this.failure) throw new JournalClosedError(this.failure);
  }

  // ---- recovery ----

  private recover(): void {
    const { dir } = this.opts;
    const names = this.storage.list(dir);
    if (names.includes(SPARE_NAME)) {
      this.storage.remove(path.join(dir, SPARE_NAME));
      this.storage.syncDir(dir);
    }
    this.segments = names
      .map((name) => ({ name, firstSeq: parseSegmentFileName(name) }))
      .filter((s): s is SegmentRef => s.firstSeq !== null)
      .sort((a, b) => a.firstSeq - b.firstSeq);
    this.stateValue = this.opts.fold.initial();

    if (this.segments.length === 0) {
      this.segments = [];
      this.file = this.createSegment(1, ZERO_MAC);
      this.appendCheckpoint();
      this.openReport = { segments: 1, recordsReplayed: 0, checkpointSeq: 1, tornTailBytes: 0 };
      return;
    }

    this.checkSegmentHeaders();
    const last = this.segments[this.segments.length - 1]!;
    const lastImage = readWhole(this.storage, path.join(dir, last.name));
    const scan = scanSegment(last.name, lastImage, true);
    if (scan.tail.kind === 'corrupt') throw new JournalCorruptionError(last.name, scan.tail.offset, scan.tail.reason);

    let replayed = 0;
    let checkpointSeq: number;
    let needCheckpoint = false;
    const first = scan.records[0];
    if (first && first.typeCode === CHECKPOINT.code) {
      checkpointSeq = first.seq;
      this.loadCheckpoint(first, last.name);
      replayed = this.replay(scan.records.slice(1), last.name);
    } else if (first) {
      throw new JournalCorruptionError(last.name, first.offset, 'segment does not start with its checkpoint');
    } else if (this.segments.length > 1) {
      // Power was lost between creating this segment and its checkpoint becoming durable: rebuild from the
      // segment before it, which was fully synced before this one was created.
      const prev = this.segments[this.segments.length - 2]!;
      const prevScan = scanSegment(prev.name, readWhole(this.storage, path.join(dir, prev.name)), false);
      if (prevScan.tail.kind === 'corrupt') throw new JournalCorruptionError(prev.name, prevScan.tail.offset, prevScan.tail.reason);
      if (prevScan.nextSeq !== last.firstSeq) {
        throw new JournalCorruptionError(prev.name, prevScan.endOffset, `segment ends before seq ${last.firstSeq - 1}, which the next segment follows`);
      }
      const pf = prevScan.records[0];
      if (pf && pf.typeCode === CHECKPOINT.code) {
        this.loadCheckpoint(pf, prev.name);
        replayed = this.replay(prevScan.records.slice(1), prev.name);
      } else {
        replayed = this.replay(prevScan.records, prev.name);
      }
      checkpointSeq = pf?.seq ?? 0;
      needCheckpoint = true;
    } else {
      checkpointSeq = 0;
      needCheckpoint = true;
    }

    this.file = this.storage.open(path.join(dir, last.name), 'rw');
    let tornTailBytes = 0;
    let tornTail: OpenReport['tornTail'];
    if (scan.tail.kind === 'torn') {
      tornTailBytes = scan.tail.bytes;
      tornTail = { segment: last.name, offset: scan.tail.offset, reason: scan.tail.reason };
      writeZeros(this.file, scan.tail.offset, scan.tail.bytes); // the tail starts at its first non-zero byte
    }
    this.currentSegmentBytes = scan.header.segmentBytes;
    if (lastImage.length < scan.header.segmentBytes) writeZeros(this.file, lastImage.length, scan.header.segmentBytes - lastImage.length);
    // What survived the crash may include writes that were never synced; make them durable before any new
    // record claims they are.
    this.file.datasync();
    this.writePos = scan.endOffset;
    this.nextSeqValue = scan.nextSeq;
    this.markSynced();
    const lastRecord = scan.records[scan.records.length - 1];
    this.lastMac = Buffer.from(lastRecord ? lastRecord.mac : scan.header.prevMac);
    if (needCheckpoint) this.appendCheckpoint();
    this.startSpare();
    this.openReport = { segments: this.segments.length, recordsReplayed: replayed, checkpointSeq, tornTailBytes, tornTail };
  }

  private checkSegmentHeaders(): void {
    let prevFirst = 0;
    for (const s of this.segments) {
      const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
      const f = this.storage.open(path.join(this.opts.dir, s.name), 'r');
      try {
        f.read(head, 0, SEGMENT_HEADER_BYTES, 0);
      } finally {
        f.close();
      }
      const scan = scanHeaderOnly(s.name, head);
      if (scan.firstSeq !== s.firstSeq) throw new JournalCorruptionError(s.name, 16, `header says first seq ${scan.firstSeq}, file name says ${s.firstSeq}`);
      const body = encodeSegmentHeaderBody(scan);
      if (!this.chain.headerMac(body).equals(scan.headerMac)) throw new JournalCorruptionError(s.name, 40, 'segment header MAC mismatch (wrong device key, or the header was altered)');
      if (s.firstSeq <= prevFirst) throw new JournalCorruptionError(s.name, 16, 'segments out of order');
      prevFirst = s.firstSeq;
    }
  }

  private loadCheckpoint(rec: ScannedRecord, segment: string): void {
    const { payload } = this.types.upgrade(rec.typeCode, rec.version, parsePayload(rec, segment));
    const cp = payload as CheckpointPayload;
    this.stateValue = this.opts.fold.fromCheckpoint(cp.state);
    this.retainedThroughSeq = cp.retainedThroughSeq;
  }

  private replay(records: ScannedRecord[], segment: string): number {
    for (const rec of records) {
      const { name, payload } = this.types.upgrade(rec.typeCode, rec.version, parsePayload(rec, segment));
      this.applyRecord({ seq: rec.seq, type: name, payload });
    }
    return records.length;
  }
}

function scanHeaderOnly(name: string, head: Buffer): SegmentScan['header'] {
  // A header-only image is a valid "segment" with no records; scanSegment validates magic, version, CRC.
  return scanSegment(name, head, true).header;
}

export function parsePayload(rec: ScannedRecord, segment: string): unknown {
  try {
    return JSON.parse(rec.payloadText());
  } catch {
    throw new JournalCorruptionError(segment, rec.offset, `record seq ${rec.seq} payload is not valid JSON`);
  }
}
