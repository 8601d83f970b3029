// Reads one segment image and tells a torn tail (unacknowledged bytes at the end of the newest segment,
// safe to cut) from corruption (damage to bytes that were acknowledged durable: refuse to open).
//
// Every record carries `durableThrough`, the highest seq known synced when it was written. A valid record
// found beyond a bad one proves corruption only if it says the bad one had already been synced; otherwise
// both sit in the unsynced window a power cut may scramble sector by sector.
import {
  FLAG_LAST_IN_BATCH,
  MAC_BYTES,
  MAX_PAYLOAD_BYTES,
  RECORD_ALIGN,
  RECORD_HEADER_BYTES,
  SECTOR_BYTES,
  SEGMENT_DATA_START,
  alignToSector,
  decodeRecordAt,
  decodeSegmentHeader,
  type RecordProblem,
  type SegmentHeader,
} from '../../protocol/journal/format.js';
import { JournalCorruptionError } from './errors.js';

/** A record found in a segment image; payload and MAC are views into the image, made only on demand. */
export class ScannedRecord {
  constructor(
    private readonly image: Buffer,
    readonly offset: number,
    readonly length: number,
    readonly seq: number,
    readonly typeCode: number,
    readonly version: number,
    readonly flags: number,
    readonly durableThrough: number,
  ) {}

  get payload(): Buffer {
    return this.image.subarray(this.offset + RECORD_HEADER_BYTES, this.offset + RECORD_HEADER_BYTES + this.length);
  }

  payloadText(): string {
    return this.image.toString('utf8', this.offset + RECORD_HEADER_BYTES, this.offset + RECORD_HEADER_BYTES + this.length);
  }

  get mac(): Buffer {
    return this.image.subarray(this.offset + 32, this.offset + 32 + MAC_BYTES);
  }
}

export type TailState =
  | { kind: 'clean' }
  | { kind: 'torn'; offset: number; bytes: number; reason: string }
  | { kind: 'corrupt'; offset: number; reason: string };

export interface SegmentScan {
  name: string;
  header: SegmentHeader;
  /** Records of complete batches only, in order. */
  records: ScannedRecord[];
  /** Offset just past the last complete batch: where the next append goes. */
  endOffset: number;
  nextSeq: number;
  tail: TailState;
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

/** Offset one past the last non-zero byte in buf[from, to), or `from` if all zero. */
export function endOfNonZero(buf: Buffer, from: number, to: number): number {
  let end = to;
  while (end > from) {
    const start = Math.max(from, end - ZERO_CHUNK.length);
    if (buf.compare(ZERO_CHUNK, 0, end - start, start, end) === 0) {
      end = start;
      continue;
    }
    for (let i = end - 1; i >= start; i--) if (buf[i] !== 0) return i + 1;
  }
  return from;
}

/** Offset of the first non-zero byte in buf[from, to), or `to` if all zero. */
export function firstNonZero(buf: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return i;
  return to;
}

function problemText(p: RecordProblem | 'sequence', expectedSeq: number, gotSeq?: number): string {
  switch (p) {
    case 'zero':
      return 'zeroed record header';
    case 'short':
      return 'record runs past the end of the segment';
    case 'length':
      return `record length over the ${MAX_PAYLOAD_BYTES}-byte limit`;
    case 'checksum':
      return 'record checksum mismatch';
    case 'sequence':
      return `expected seq ${expectedSeq}, found ${gotSeq}`;
  }
}

/** Is there a valid record after `from` that was written when seq `seq` was already durable? */
function laterRecordVouchesFor(buf: Buffer, from: number, end: number, seq: number): number | null {
  for (let at = from; at + RECORD_HEADER_BYTES <= end; at += RECORD_ALIGN) {
    const length = buf.readUInt32LE(at + 4);
    if (length > MAX_PAYLOAD_BYTES || (length === 0 && buf.readUInt32LE(at) === 0)) continue;
    const recSeq = buf.readUInt32LE(at + 16) + buf.readUInt32LE(at + 20) * 0x1_0000_0000;
    if (recSeq <= seq || recSeq > seq + 0x7fff_ffff) continue;
    const r = decodeRecordAt(buf, at, end);
    if (typeof r !== 'string' && r.header.durableThrough >= seq) return at;
  }
  return null;
}

/**
 * Scans a whole segment image. For an older segment (`isLast` false) any damage is corruption; for the
 * newest it may be a torn tail. Throws JournalCorruptionError for a bad header.
 */
export function scanSegment(name: string, image: Buffer, isLast: boolean): SegmentScan {
  const header = decodeSegmentHeader(image);
  if (typeof header === 'string') throw new JournalCorruptionError(name, 0, `segment header: ${header}`);
  // Segments are created at full length before they are renamed into place: one that ends inside its header
  // area was cut, and scanning it would put the end of its records past the end of the file (found by the fuzzer).
  if (image.length < SEGMENT_DATA_START) throw new JournalCorruptionError(name, image.length, `segment file is ${image.length} bytes, shorter than its ${SEGMENT_DATA_START}-byte header area: truncated`);
  const end = image.length;
  const records: ScannedRecord[] = [];
  let pending: ScannedRecord[] = [];
  let at = SEGMENT_DATA_START;
  let endOffset = at;
  let expectedSeq = header.firstSeq;
  let batchStartSeq = expectedSeq;
  let problem: { offset: number; reason: string } | null = null;

  while (at < end) {
    const r = decodeRecordAt(image, at, end);
    if (r === 'zero' && pending.length === 0 && at % SECTOR_BYTES !== 0) {
      // The writer moved to a fresh sector after a sync; the rest of this one is padding.
      at = alignToSector(at);
      continue;
    }
    if (typeof r === 'string') {
      problem = { offset: at, reason: problemText(r, expectedSeq) };
      break;
    }
    if (r.header.seq !== expectedSeq) {
      problem = { offset: at, reason: problemText('sequence', expectedSeq, r.header.seq) };
      break;
    }
    const h = r.header;
    pending.push(new ScannedRecord(image, at, h.length, h.seq, h.typeCode, h.version, h.flags, h.durableThrough));
    at += r.span;
    expectedSeq++;
    if (r.header.flags & FLAG_LAST_IN_BATCH) {
      for (const p of pending) records.push(p);
      pending = [];
      endOffset = at;
      batchStartSeq = expectedSeq;
    }
  }

  const dirtyEnd = endOfNonZero(image, endOffset, end);
  let tail: TailState = { kind: 'clean' };
  if (dirtyEnd > endOffset) {
    const where = problem ?? { offset: endOffset, reason: 'incomplete batch at end of segment' };
    if (!isLast) {
      tail = { kind: 'corrupt', offset: where.offset, reason: `${where.reason} (in an older segment)` };
    } else {
      const voucher = laterRecordVouchesFor(image, where.offset + RECORD_ALIGN, end, batchStartSeq);
      // The tail starts at the record slot of its first non-zero byte: zero sector padding after the last
      // synced batch is not torn data (counting it made a record cut in half report more bytes than it had),
      // but a torn record whose CRC happens to begin with a zero byte still begins at its own aligned slot.
      const nonZero = firstNonZero(image, endOffset, dirtyEnd);
      const tornFrom = Math.max(endOffset, nonZero - (nonZero % RECORD_ALIGN));
      tail =
        voucher === null
          ? { kind: 'torn', offset: tornFrom, bytes: dirtyEnd - tornFrom, reason: where.reason }
          : { kind: 'corrupt', offset: where.offset, reason: `${where.reason}, yet a later record at offset ${voucher} was written after it was durable` };
    }
  }
  return { name, header, records, endOffset, nextSeq: batchStartSeq, tail };
}
