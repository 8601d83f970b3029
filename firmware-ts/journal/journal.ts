// The crash-safe, append-only journal: the single source of truth on the terminal (DESIGN rule 1).
// Layout and byte format: protocol/JOURNAL_FORMAT.md.
import * as path from 'node:path';
import {
  FLAG_LAST_IN_BATCH,
  MAC_BYTES,
  MAX_APPEND_PAYLOAD_BYTES,
  MAX_PAYLOAD_BYTES,
  SEGMENT_DATA_START,
  SECTOR_BYTES,
  alignToSector,
  RECORD_ALIGN,
  RECORD_HEADER_BYTES,
  encodeRecord,
  encodeSegmentHeader,
  encodeSegmentHeaderBody,
  finishRecord,
  macHeaderBytes,
  recordSpan,
  segmentFileName,
  writeRecordFields,
} from '../../protocol/journal/format.js';
import type { Storage, StorageFile } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { findSensitive } from '../pci/card-data.js';
import { findCardDataInJson } from '../pci/card-data-scan.js';
import { findPinBlockInFlight, pinBlocksInFlight } from '../pci/pin-blocks-in-flight.js';
import { RecordChain, ZERO_MAC } from './chain.js';
import { NOT_PLAIN, plainJsonCopy } from './json-copy.js';
import { NO_ROOM, PlainJsonFrameWriter } from './json-frame.js';
import { JournalClosedError, JournalError, SensitiveDataError } from './errors.js';
import { CHECKPOINT, INTERNAL_TYPES, RETENTION, SEAL, type CheckpointPayload, type RetentionPayload, type SealPayload } from './internal-types.js';
import { hasRepairIntent, unfinishedRepairError } from './repair-intent.js';
import { FoldRunner, listSegments, recoverJournal, type SegmentRef } from './recovery.js';
import { RecordTypes, type RecordSchema } from './record-types.js';
import { readWhole, SPARE_NAME, writeZeros } from './segment-io.js';
import { SpaceReserve } from './space-reserve.js';
import type { StateMachine } from './state-machine.js';

/** The key of the append that may write the journal's own record types (repair.ts writes `journal.repair`). */
export const APPEND_INTERNAL: unique symbol = Symbol('journal.appendInternal');
/** Set only by repair, which opens the journal to finish what its repair.pending file commits. */
export const FINISHING_REPAIR: unique symbol = Symbol('journal.finishingRepair');
const INTERNAL_NAMES: ReadonlySet<string> = new Set(INTERNAL_TYPES.map((t) => t.name));

// Small enough that boot (which replays the newest segment behind its checkpoint) stays fast; large enough
// that a checkpoint per segment costs little.
export const DEFAULT_SEGMENT_BYTES = 1024 * 1024;

/** Room kept at the end of every segment for its seal: the sector padding after a sync plus the record. */
const SEAL_ROOM = SECTOR_BYTES + recordSpan(64);

export interface RecordInput {
  type: string;
  payload: unknown;
}

/**
 * A record ready to frame: its payload already in place in the frame (`length` bytes at `at` + 48, the
 * header still to write), and what the fold is given once it is written — a private copy of the caller's
 * payload that those bytes are the JSON text of, or (`parse`) the JSON text itself to parse.
 */
interface EncodedRecord {
  code: number;
  version: number;
  type: string;
  at: number;
  length: number;
  /** What is folded (the copy), unless `parse` is set; NOT_PLAIN for a record that folds nothing (a checkpoint). */
  copy: unknown;
  parse: string | null;
}

/** How a refusal names the record. */
const where = (r: RecordInput, index: number) => `records[${index}](${r.type})`;

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
}

/** A finite disk: the journal's budget, its automatic retention and its reserve (JOURNAL_FORMAT §10). */
export interface JournalSpaceOptions {
  /** Live segments above this many bytes: after a rotation the oldest with no open obligation are retired. */
  budgetBytes?: number;
  retention?: 'archive' | 'delete';
  /** Size of DIR/reserve.bin, released only when the filesystem has no room for the next segment. */
  reserveBytes?: number;
}

export interface JournalDiskUsage {
  segments: number;
  /** Bytes of the live segments (what the budget counts). */
  bytes: number;
  budgetBytes: number | null;
  /** Free bytes of the filesystem, when the storage can tell. */
  freeBytes: number | null;
  reserve: { bytes: number; state: 'held' | 'released' | 'none' } | null;
  /** Why the journal refuses writes (a failed write or sync, naming the path), or null. */
  failed: string | null;
}

export interface JournalOptions<S> {
  dir: string;
  deviceKey: Buffer;
  fold: StateMachine<S>;
  types: RecordTypes;
  storage?: Storage;
  segmentBytes?: number;
  space?: JournalSpaceOptions;
  /** Called once when a write or sync fails and the journal closes for writing (DESIGN rule 8). */
  onFailure?: (e: unknown) => void;
  [FINISHING_REPAIR]?: true;
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

export class Journal<S> {
  private file!: StorageFile;
  private segments: SegmentRef[] = [];
  private writePos = SEGMENT_DATA_START;
  /** Size of the segment being written; larger than segmentBytes only when a checkpoint needed room. */
  private currentSegmentBytes = 0;
  private nextSeqValue = 1;
  private durableThrough = 0;
  /** MAC of the last record written (or the segment header's prevMac); this journal's own bytes, updated in place. */
  private readonly lastMac: Buffer = Buffer.alloc(MAC_BYTES);
  private failure: unknown = null;
  /** The next segment being zero-filled in the background; dropped (never waited on) if not ready in time. */
  private spare: { size: number; ready: boolean; done: Promise<void> } | null = null;
  private closed = false;
  private readonly reserve: SpaceReserve | null;
  /** A rotation happened since the last automatic retention. */
  private retireDue = false;
  /** Sizes of segments older than the newest, by name (journalBytes). */
  private readonly sealedBytes = new Map<string, number>();
  private retiring = false;
  private runner!: FoldRunner<S>;
  /**
   * The current append's records, framed where they are written from, reused from append to append: each
   * payload is encoded straight into its place, the headers are filled in once the seqs are known.
   */
  private frame = Buffer.allocUnsafe(16 * 1024);
  private frameUsed = 0;
  private readonly frameWriter = new PlainJsonFrameWriter();
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
    const reserveBytes = opts.space?.reserveBytes ?? 0;
    this.reserve = reserveBytes > 0 ? new SpaceReserve(this.storage, opts.dir, reserveBytes) : null;
    this.types = new RecordTypes(INTERNAL_TYPES);
    for (const t of opts.types.all()) this.types.register(t);
  }

  static async open<S>(opts: JournalOptions<S>): Promise<Journal<S>> {
    const j = new Journal(opts);
    j.storage.mkdirp(opts.dir);
    j.lock = await j.takeLock();
    try {
      if (!opts[FINISHING_REPAIR] && hasRepairIntent(j.storage, opts.dir)) throw unfinishedRepairError(opts.dir);
      j.recover();
      j.keepReserve();
    } catch (e) {
      j.lock.release();
      throw e;
    }
    return j;
  }

  /** On a full disk even the LOCK file cannot be written: the reserve is what gives the room back. */
  private async takeLock(): Promise<{ release(): void }> {
    const guard = await this.storage.guard?.(this.opts.dir);
    try {
      const lock = this.takeLockFile(guard !== undefined);
      return {
        release() {
          lock.release();
          guard?.release();
        },
      };
    } catch (e) {
      guard?.release();
      throw e;
    }
  }

  /**
   * On ENOSPC: first a spare left by a run that failed while making it (it holds blocks and is never
   * referenced; removable before the LOCK only under the guard, which shuts out every other writer), then
   * the reserve.
   */
  private takeLockFile(guarded: boolean): { release(): void } {
    for (;;) {
      try {
        return this.storage.lock(this.opts.dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        const spare = path.join(this.opts.dir, SPARE_NAME);
        if (guarded && this.storage.exists(spare)) {
          this.storage.remove(spare);
          this.storage.syncDir(this.opts.dir);
        } else if (!this.reserve?.release()) throw e;
      }
    }
  }

  /** (Re)makes the reserve when there is room; without room it stays released until retention frees some. */
  private keepReserve(): void {
    try {
      this.reserve?.ensure();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    }
  }

  get state(): S {
    return this.runner.state;
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
  append(records: RecordInput[], options: { durable: boolean }): Promise<AppendResult> {
    // The journal's own records steer how it reads itself (a retention record makes a removed segment look
    // retired, a repair record replaces the state): only the journal and its repair write them.
    try {
      for (const r of records) {
        if (INTERNAL_NAMES.has(r.type)) throw new JournalError('RESERVED_TYPE', `record type ${r.type} is the journal's own: only the journal and its repair write it; nothing was appended`);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this[APPEND_INTERNAL](records, options);
  }

  /**
   * append() without the reserved-type check: for retention here and for repair.ts. Not an async function:
   * the append itself is synchronous, and one promise per append instead of two is a measurable part of a
   * sale's CPU. Every refusal still comes as a rejected promise.
   */
  [APPEND_INTERNAL](records: RecordInput[], options: { durable: boolean }): Promise<AppendResult> {
    let result: AppendResult;
    try {
      this.assertWritable();
      if (records.length === 0) throw new RangeError('append needs at least one record');
      this.frameUsed = 0;
      const encoded: EncodedRecord[] = [];
      for (let i = 0; i < records.length; i++) encoded.push(this.encodePayload(records[i]!, i));
      result = this.appendEncoded(encoded, this.frame, options.durable);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.retireDue && !this.retiring && this.opts.space?.budgetBytes !== undefined) return this.retireOverBudget(this.opts.space.budgetBytes).then(() => result);
    return Promise.resolve(result);
  }

  /** Automatic retention: the append it follows is durable already, so only a failure that closed the journal ends here. */
  private async retireOverBudget(budgetBytes: number): Promise<void> {
    this.retireDue = false;
    this.retiring = true;
    try {
      await this.retain({ mode: this.opts.space?.retention ?? 'delete', budgetBytes });
    } catch (e) {
      if (this.failure === null) throw e;
    } finally {
      this.retiring = false;
    }
  }

  /** Size, budget, free space, reserve and failure: what `posj status` shows about the disk. */
  diskUsage(): JournalDiskUsage {
    const bytes = this.journalBytes();
    return {
      segments: this.segments.length,
      bytes,
      budgetBytes: this.opts.space?.budgetBytes ?? null,
      freeBytes: this.storage.freeBytes ? this.storage.freeBytes(this.opts.dir) : null,
      reserve: this.reserve ? { bytes: this.reserve.bytes, state: this.reserve.state } : null,
      failed: this.failure === null ? null : String((this.failure as Error).message ?? this.failure),
    };
  }

  /**
   * The bytes of every segment file. Only the newest segment is written while the journal is open (retention
   * removes whole files, repair needs the journal closed), so the older ones are each measured once: with
   * a million records that was an open, fstat and close of 356 files for every `posj status`.
   */
  private journalBytes(): number {
    let n = 0;
    for (let k = 0; k < this.segments.length; k++) n += this.segmentFileBytes(k);
    return n;
  }

  private segmentFileBytes(k: number): number {
    const name = this.segments[k]!.name;
    if (k === this.segments.length - 1) return this.fileBytes(name);
    let n = this.sealedBytes.get(name);
    if (n === undefined) this.sealedBytes.set(name, (n = this.fileBytes(name)));
    return n;
  }

  private fileBytes(name: string): number {
    const f = this.storage.open(path.join(this.opts.dir, name), 'r');
    try {
      return f.size();
    } finally {
      f.close();
    }
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
  async retain(options: { mode: 'archive' | 'delete'; budgetBytes?: number }): Promise<RetentionReport | null> {
    this.assertWritable();
    const oldestOpen = this.opts.fold.oldestOpenSeq(this.runner.state) ?? this.nextSeqValue;
    let keepFrom = 0;
    while (keepFrom < this.segments.length - 1 && this.segments[keepFrom + 1]!.firstSeq <= oldestOpen) keepFrom++;
    if (options.budgetBytes !== undefined) {
      // Past the budget only, oldest first.
      let total = this.journalBytes();
      let k = 0;
      while (k < keepFrom && total > options.budgetBytes) total -= this.segmentFileBytes(k++);
      keepFrom = k;
    }
    if (keepFrom === 0) return null;
    const victims = this.segments.slice(0, keepFrom);
    const throughSeq = this.segments[keepFrom]!.firstSeq - 1;
    const payload: RetentionPayload = { throughSeq, mode: options.mode, segments: victims.map((s) => s.name) };
    // Journal the decision first: verify then knows the missing history was retired, not removed.
    await this[APPEND_INTERNAL]([{ type: RETENTION.name, payload }], { durable: true });
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
    for (const v of victims) this.sealedBytes.delete(v.name);
    this.keepReserve();
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

  /**
   * JSON text of the payload, in its place in the append's frame, judged by the PCI guard on the bytes that would be
   * written. A refusal names the field as findSensitive's walk of the value finds it, or the byte offset.
   *
   * Plain data is copied, and the copy is what is written and later folded (json-copy.ts, json-frame.ts): the
   * fold sees what a reboot parses from these bytes, never the caller's objects, without parsing them.
   */
  private encodePayload(r: RecordInput, index: number): EncodedRecord {
    const schema = this.types.schemaFor(r.type);
    const at = this.frameUsed;
    const payloadAt = at + RECORD_HEADER_BYTES;
    // Plain data that fits the frame's free room: copied and written in one walk (json-frame.ts).
    const fast = this.frameWriter.write(r.payload ?? null, this.frame, payloadAt, Math.min(this.frame.length - RECORD_ALIGN, payloadAt + MAX_APPEND_PAYLOAD_BYTES));
    if (fast !== NOT_PLAIN && fast !== NO_ROOM) return this.judged(r, index, schema, at, this.frameWriter.written - payloadAt, fast, null);
    return this.encodeGeneral(r, index, schema);
  }

  /** The general path: anything JSON.stringify takes, in a frame grown to fit it. */
  private encodeGeneral(r: RecordInput, index: number, schema: RecordSchema): EncodedRecord {
    const copy = plainJsonCopy(r.payload ?? null);
    let json: string;
    try {
      json = JSON.stringify(copy === NOT_PLAIN ? (r.payload ?? null) : copy);
    } catch (e) {
      // What cannot be encoded (a BigInt, a cycle) is still reported as card data when it holds some.
      const finding = findSensitive(r.payload, where(r, index));
      if (finding) throw new SensitiveDataError(finding.what, finding.where);
      throw e;
    }
    if (json.length > MAX_APPEND_PAYLOAD_BYTES) {
      throw new JournalError('RECORD_TOO_LARGE', `record ${r.type} payload is ${Buffer.byteLength(json)} bytes; the limit is ${MAX_APPEND_PAYLOAD_BYTES}`);
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit (and a record's padding at most 7).
    const at = this.frameUsed;
    const room = at + RECORD_HEADER_BYTES + json.length * 3 + RECORD_ALIGN;
    if (this.frame.length < room) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.frame.length, room));
      this.frame.copy(grown, 0, 0, at);
      this.frame = grown;
    }
    const payloadAt = at + RECORD_HEADER_BYTES;
    const n = this.frame.write(json, payloadAt, 'utf8');
    return this.judged(r, index, schema, at, n, copy, copy === NOT_PLAIN ? json : null);
  }

  /** A payload of `n` bytes written at `at` + 48, judged by the PCI guard before it counts as part of the frame. */
  private judged(r: RecordInput, index: number, schema: RecordSchema, at: number, n: number, copy: unknown, parse: string | null): EncodedRecord {
    const payloadAt = at + RECORD_HEADER_BYTES;
    const frame = this.frame;
    this.frameUsed = at + recordSpan(n);
    // Judged in place: the scan reads only frame[payloadAt, payloadAt + n).
    const hit = findCardDataInJson(frame, payloadAt, payloadAt + n);
    if (hit) {
      const finding = findSensitive(r.payload, where(r, index)) ?? { what: hit.what, where: `${where(r, index)} payload byte ${hit.offset - payloadAt}` };
      throw new SensitiveDataError(finding.what, finding.where);
    }
    // An encrypted PIN block has no shape to recognise: look for the blocks in flight, byte for byte.
    if (pinBlocksInFlight() > 0 && findPinBlockInFlight(frame.subarray(payloadAt, payloadAt + n)) >= 0) throw new SensitiveDataError('a PIN block', where(r, index));
    if (n > MAX_APPEND_PAYLOAD_BYTES) {
      throw new JournalError('RECORD_TOO_LARGE', `record ${r.type} payload is ${n} bytes; the limit is ${MAX_APPEND_PAYLOAD_BYTES}`);
    }
    return { code: schema.code, version: schema.version, at, length: n, copy, parse, type: r.type };
  }

  /** Frames the records whose payloads are in place in `buf` (packed from 0), writes them as one batch, folds them. */
  private appendEncoded(encoded: EncodedRecord[], buf: Buffer, durable: boolean): AppendResult {
    let total = 0;
    for (let i = 0; i < encoded.length; i++) total += recordSpan(encoded[i]!.length);
    const isCheckpoint = encoded.length === 1 && encoded[0]!.code === CHECKPOINT.code;
    // Half a segment, so any batch fits in a fresh segment behind its checkpoint.
    if (!isCheckpoint && total > this.segmentBytes / 2) {
      throw new JournalError('BATCH_TOO_LARGE', `batch of ${total} bytes exceeds half a segment (${this.segmentBytes / 2} bytes)`);
    }
    // The checkpoint the rotation appends is framed in a buffer of its own: this batch's frame stays as it is.
    if (!isCheckpoint && this.writePos + total + SEAL_ROOM > this.currentSegmentBytes) this.rotate();
    const firstSeq = this.nextSeqValue;
    let seq = firstSeq;
    // Each record's MAC chains the one before: the journal's last, then the previous record's in this frame.
    let prev = this.lastMac;
    let prevAt = 0;
    for (let i = 0; i < encoded.length; i++) {
      const e = encoded[i]!;
      const flags = i === encoded.length - 1 ? FLAG_LAST_IN_BATCH : 0;
      writeRecordFields(buf, e.at, e.length, e.code, e.version, flags, seq, this.durableThrough);
      this.chain.writeRecordMac(buf, e.at, e.length, prev, prevAt);
      prev = buf;
      prevAt = e.at + 32;
      finishRecord(buf, e.at, e.length);
      seq++;
    }
    // As guarded() does, without a closure per append: any failure closes the journal for writing.
    try {
      // The storage copies (pwrite) before returning, so the frame buffer is free again afterwards.
      this.file.write(buf.subarray(0, total), this.writePos);
      if (durable) this.file.datasync();
    } catch (e) {
      this.fail(e);
    }
    this.writePos += total;
    this.nextSeqValue = seq;
    buf.copy(this.lastMac, 0, prevAt, prevAt + MAC_BYTES);
    if (durable) this.markSynced();
    // Fold what a reboot would read back (the JSON text written), not the caller's objects. Checkpoints fold nothing.
    for (let i = 0; i < encoded.length; i++) {
      const e = encoded[i]!;
      if (e.parse !== null) this.runner.apply({ seq: firstSeq + i, type: e.type, payload: JSON.parse(e.parse) });
      else if (e.copy !== NOT_PLAIN) this.runner.apply({ seq: firstSeq + i, type: e.type, payload: e.copy });
    }
    return { firstSeq, lastSeq: seq - 1 };
  }

  private rotate(): void {
    this.guarded(() => this.file.datasync());
    this.markSynced();
    const old = this.file;
    // The seal names the next segment, so a deleted newest segment is evidenced by its predecessor. It is
    // written only after that segment exists, so a crash in between never leaves a seal naming nothing.
    const seal = this.sealRecord();
    if (seal) this.nextSeqValue = seal.seq + 1;
    const checkpoint = this.checkpointJson(this.segments);
    // A large open state (a batch left unsettled for long) gets a bigger segment rather than an error.
    const needed = SEGMENT_DATA_START + recordSpan(checkpoint.length) + this.segmentBytes / 2 + SEAL_ROOM;
    const size = Math.max(this.segmentBytes, Math.ceil(needed / 65536) * 65536);
    this.retireDue = true;
    this.file = this.createSegment(this.nextSeqValue, seal ? seal.mac : this.lastMac, size);
    if (seal) {
      this.guarded(() => {
        old.write(seal.buf, seal.at);
        old.datasync();
      });
      seal.mac.copy(this.lastMac);
      this.durableThrough = seal.seq;
    }
    old.close();
    this.appendCheckpoint(checkpoint);
  }

  /** The seal record for the segment being left, or null when it has no room (written by an older build). */
  private sealRecord(): { buf: Buffer; at: number; seq: number; mac: Buffer } | null {
    const seq = this.nextSeqValue;
    const payload: SealPayload = { nextFirstSeq: seq + 1 };
    const json = Buffer.from(JSON.stringify(payload));
    const at = this.writePos;
    if (at + recordSpan(json.length) > this.currentSegmentBytes) return null;
    const hb = macHeaderBytes(json.length, SEAL.code, SEAL.version, FLAG_LAST_IN_BATCH, seq, this.durableThrough);
    const mac = this.chain.recordMac(this.lastMac, hb, json);
    const buf = Buffer.alloc(recordSpan(json.length));
    encodeRecord(buf, 0, { typeCode: SEAL.code, version: SEAL.version, flags: FLAG_LAST_IN_BATCH, seq, durableThrough: this.durableThrough, mac }, json);
    return { buf, at, seq, mac };
  }

  /** `older`: the segments before the one this checkpoint starts (open checks they are all still there). */
  private checkpointJson(older: SegmentRef[]): Buffer {
    const payload: CheckpointPayload = {
      throughSeq: this.nextSeqValue - 1,
      retainedThroughSeq: this.runner.retainedThroughSeq,
      state: this.opts.fold.toCheckpoint(this.runner.state),
      // Omitted for the first segment, which has none (and so matches the worked example of the format spec).
      ...(older.length > 0 ? { segments: older.map((s) => s.firstSeq) } : {}),
    };
    const json = Buffer.from(JSON.stringify(payload));
    if (json.length > MAX_PAYLOAD_BYTES) {
      throw new JournalError('STATE_TOO_LARGE', `open state of ${json.length} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte checkpoint limit; settle the batch`);
    }
    return json;
  }

  private appendCheckpoint(json: Buffer = this.checkpointJson(this.segments.slice(0, -1))): void {
    const buf = Buffer.allocUnsafe(recordSpan(json.length));
    json.copy(buf, RECORD_HEADER_BYTES);
    this.appendEncoded([{ code: CHECKPOINT.code, version: CHECKPOINT.version, at: 0, length: json.length, copy: NOT_PLAIN, parse: null, type: CHECKPOINT.name }], buf, true);
  }

  /** A new segment is a zero-filled temp file, fsynced, given its header, renamed, and the directory fsynced. */
  private createSegment(firstSeq: number, prevMac: Buffer, size = this.segmentBytes): StorageFile {
    const dir = this.opts.dir;
    const sparePath = path.join(dir, SPARE_NAME);
    const name = segmentFileName(firstSeq);
    const ready = this.spare?.ready === true && this.spare.size === size;
    this.spare = null;
    this.guarded(() => {
      // A new segment is the one write that needs free blocks: on a full disk the reserve pays for it.
      if (!ready) this.reserve?.releaseIfShort(size);
      if (!ready && this.storage.exists(sparePath)) this.storage.remove(sparePath);
      const spare = this.storage.open(sparePath, ready ? 'rw' : 'create');
      try {
        if (!ready) writeZeros(spare, 0, size);
        const body = encodeSegmentHeaderBody({ formatVersion: 1, segmentBytes: size, firstSeq, prevMac });
        spare.write(encodeSegmentHeader(body, this.chain.headerMac(body)), 0);
        spare.sync();
      } catch (e) {
        // A segment cut short by ENOSPC gives its blocks back now: left, it would keep the next open from
        // writing its LOCK on the same full disk.
        spare.close();
        this.removeQuietly(sparePath);
        throw e;
      }
      spare.close();
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
    // Never into the reserve's room: the spare is a convenience, the reserve is what keeps reversals sendable.
    if (this.reserve && !this.reserve.roomFor(this.segmentBytes)) return;
    const sparePath = path.join(this.opts.dir, SPARE_NAME);
    const spare = { size: this.segmentBytes, ready: false, done: Promise.resolve() };
    spare.done = this.storage.preallocate(sparePath, spare.size).then(
      () => void (spare.ready = true),
      () => {
        // A half-made spare (ENOSPC) gives its blocks back at once, unless a newer spare took the name.
        if (this.spare !== spare) return;
        this.spare = null;
        this.removeQuietly(sparePath);
      },
    );
    this.spare = spare;
  }

  private removeQuietly(p: string): void {
    try {
      this.storage.remove(p);
      this.storage.syncDir(this.opts.dir);
    } catch {
      // removed at the next open (step 2 of recovery)
    }
  }

  /** Runs file I/O; any failure closes the journal for writing for good (DESIGN rule 8: never retry fsync). */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  /** A write or sync failed: the journal is closed for writing for good; throws. */
  private fail(e: unknown): never {
    const first = this.failure === null;
    this.failure = e;
    if (first) this.opts.onFailure?.(e);
    throw new JournalClosedError(e);
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
    const listed = listSegments(this.storage, dir);
    this.runner = new FoldRunner(this.opts.fold, this.types);

    if (listed.length === 0) {
      this.segments = [];
      this.file = this.createSegment(1, ZERO_MAC);
      this.appendCheckpoint();
      this.openReport = { segments: 1, recordsReplayed: 0, checkpointSeq: 1, tornTailBytes: 0 };
      return;
    }

    const r = recoverJournal({ storage: this.storage, dir, fold: this.opts.fold, types: this.types, chain: this.chain, segments: listed });
    if (r.abandoned) {
      this.storage.remove(path.join(dir, r.abandoned.name));
      this.storage.syncDir(dir);
    }
    if (r.syncPrevious) {
      const prev = this.storage.open(path.join(dir, r.syncPrevious.name), 'rw');
      try {
        prev.datasync();
      } finally {
        prev.close();
      }
    }
    this.segments = r.segments;
    this.runner = r.runner;
    const { scan, newest } = r;

    this.file = this.storage.open(path.join(dir, newest.name), 'rw');
    let tornTailBytes = 0;
    let tornTail: OpenReport['tornTail'];
    const tail = scan.tail;
    if (tail.kind === 'torn') {
      tornTailBytes = tail.bytes;
      tornTail = { segment: newest.name, offset: tail.offset, reason: tail.reason };
      writeZeros(this.file, tail.offset, tail.bytes); // the tail starts at its first non-zero byte
    }
    this.currentSegmentBytes = scan.header.segmentBytes;
    // What survived the crash may include writes that were never synced; make them durable before any new
    // record claims they are.
    this.file.datasync();
    this.writePos = scan.endOffset;
    this.nextSeqValue = scan.nextSeq;
    this.markSynced();
    const lastRecord = scan.records[scan.records.length - 1];
    (lastRecord ? lastRecord.mac : scan.header.prevMac).copy(this.lastMac, 0, 0, MAC_BYTES);
    if (r.needCheckpoint) this.appendCheckpoint();
    this.startSpare();
    this.openReport = { segments: this.segments.length, recordsReplayed: r.recordsReplayed, checkpointSeq: r.checkpointSeq, tornTailBytes, tornTail };
  }
}

export { parsePayload } from './recovery.js';
