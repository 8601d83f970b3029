// Reads what still verifies out of a damaged segment image: every record with a good CRC, found by
// resynchronizing in 8-byte steps past bytes that do not decode (records are 8-byte aligned, so the
// next good one is found wherever the framing survived). Repair folds these; verify never does.
import { FLAG_LAST_IN_BATCH, MAC_BYTES, RECORD_ALIGN, RECORD_HEADER_BYTES, SEGMENT_DATA_START, decodeRecordAt } from '../../protocol/journal/format.js';

export interface SalvagedRecord {
  segment: string;
  offset: number;
  seq: number;
  typeCode: number;
  version: number;
  flags: number;
  durableThrough: number;
  payload: Buffer;
  mac: Buffer;
  /** The 28 header bytes the MAC covers, as stored. */
  macHeader: Buffer;
}

export interface SalvageScan {
  records: SalvagedRecord[];
  /** Non-zero bytes no good record accounts for: what was lost here, at most. */
  unreadableBytes: number;
}

/** Every CRC-valid record in image[from, end), with seq in [minSeq, maxSeq]. */
export function salvageScan(segment: string, image: Buffer, from: number, minSeq: number, maxSeq: number): SalvageScan {
  const records: SalvagedRecord[] = [];
  let unreadableBytes = 0;
  const end = image.length;
  let at = Math.max(SEGMENT_DATA_START, from - (from % RECORD_ALIGN));
  while (at + RECORD_HEADER_BYTES <= end) {
    const seq = image.readUInt32LE(at + 16) + image.readUInt32LE(at + 20) * 0x1_0000_0000;
    const plausible = seq >= minSeq && seq <= maxSeq;
    const r = plausible ? decodeRecordAt(image, at, end) : 'checksum';
    if (typeof r === 'string') {
      if (image.readBigUInt64LE(at) !== 0n) unreadableBytes += RECORD_ALIGN;
      at += RECORD_ALIGN;
      continue;
    }
    const h = r.header;
    records.push({
      segment,
      offset: at,
      seq: h.seq,
      typeCode: h.typeCode,
      version: h.version,
      flags: h.flags,
      durableThrough: h.durableThrough,
      payload: Buffer.from(image.subarray(r.payloadOffset, r.payloadOffset + h.length)),
      mac: Buffer.from(image.subarray(at + 32, at + 32 + MAC_BYTES)),
      macHeader: Buffer.from(image.subarray(at + 4, at + 32)),
    });
    at += r.span;
  }
  for (let i = end - (end % RECORD_ALIGN); i < end; i++) if (image[i] !== 0) unreadableBytes++;
  return { records, unreadableBytes };
}

/**
 * Seqs of records whose batch is whole: consecutive seqs up to one carrying LAST_IN_BATCH. After a hole the
 * head of a batch may be lost with it; what is left still folds (a record without a checkable MAC only
 * ever adds, so a lost head cannot make a tail clear anything).
 */
export function completeBatches(sorted: readonly SalvagedRecord[]): Set<number> {
  const done = new Set<number>();
  let run: number[] = [];
  let prev = -2;
  for (const r of sorted) {
    if (r.seq !== prev + 1) run = [];
    run.push(r.seq);
    prev = r.seq;
    if (r.flags & FLAG_LAST_IN_BATCH) {
      for (const s of run) done.add(s);
      run = [];
    }
  }
  return done;
}
