// Byte layout of journal segments and records. The spec is protocol/JOURNAL_FORMAT.md; keep the two in step.
import * as zlib from 'node:zlib';

export const SEGMENT_MAGIC = Buffer.from('POSJWAL1', 'latin1');
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 64;
/**
 * The unit a power cut may garble whole. Nothing is ever written into a sector that already holds synced
 * data: records start after the header's sector, and every sync moves the write position to a new sector.
 */
export const SECTOR_BYTES = 512;
export const SEGMENT_DATA_START = SECTOR_BYTES;
export const RECORD_HEADER_BYTES = 48;
export const RECORD_ALIGN = 8;
export const MAC_BYTES = 16;
/**
 * Largest payload any record may carry on disk; bounds every allocation a reader makes from a length
 * field. Only a checkpoint (the whole open state) comes near it.
 */
export const MAX_PAYLOAD_BYTES = 16 << 20;
/** Largest payload a caller may append; a record is a financial step, not a bulk blob. */
export const MAX_APPEND_PAYLOAD_BYTES = 1 << 20;
/** Largest segment file a reader accepts; a bigger one is damage, not something to read into memory. */
export const MAX_SEGMENT_BYTES = 1 << 30;
export const FLAG_LAST_IN_BATCH = 0x01;

export const crc32 = (buf: Uint8Array): number => zlib.crc32(buf) >>> 0;

export const alignToSector = (offset: number): number => Math.ceil(offset / SECTOR_BYTES) * SECTOR_BYTES;

export function recordSpan(payloadBytes: number): number {
  const raw = RECORD_HEADER_BYTES + payloadBytes;
  return Math.ceil(raw / RECORD_ALIGN) * RECORD_ALIGN;
}

export interface SegmentHeader {
  formatVersion: number;
  segmentBytes: number;
  firstSeq: number;
  prevMac: Buffer;
  headerMac: Buffer;
}

export interface RecordHeader {
  crc: number;
  length: number;
  typeCode: number;
  version: number;
  flags: number;
  seq: number;
  durableThrough: number;
  mac: Buffer;
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, at);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x1_0000_0000;
}

/** Bytes 0..40 of a segment header: what the header MAC covers. */
export function encodeSegmentHeaderBody(h: Omit<SegmentHeader, 'headerMac'>): Buffer {
  const b = Buffer.alloc(40);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt16LE(h.formatVersion, 8);
  b.writeUInt16LE(SEGMENT_HEADER_BYTES, 10);
  b.writeUInt32LE(h.segmentBytes, 12);
  writeU64(b, h.firstSeq, 16);
  h.prevMac.copy(b, 24, 0, MAC_BYTES);
  return b;
}

export function encodeSegmentHeader(body: Buffer, headerMac: Buffer): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  body.copy(b, 0, 0, 40);
  headerMac.copy(b, 40, 0, MAC_BYTES);
  b.writeUInt32LE(crc32(b.subarray(0, 56)), 56);
  return b;
}

export type SegmentHeaderProblem = 'short' | 'magic' | 'checksum' | 'version' | 'layout';

export function decodeSegmentHeader(b: Buffer): SegmentHeader | SegmentHeaderProblem {
  if (b.length < SEGMENT_HEADER_BYTES) return 'short';
  if (!b.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'magic';
  if (b.readUInt32LE(56) !== crc32(b.subarray(0, 56))) return 'checksum';
  const formatVersion = b.readUInt16LE(8);
  if (formatVersion < 1 || formatVersion > FORMAT_VERSION) return 'version';
  if (b.readUInt16LE(10) !== SEGMENT_HEADER_BYTES) return 'layout';
  return {
    formatVersion,
    segmentBytes: b.readUInt32LE(12),
    firstSeq: readU64(b, 16),
    prevMac: Buffer.from(b.subarray(24, 40)),
    headerMac: Buffer.from(b.subarray(40, 56)),
  };
}

/**
 * Writes one record (header + payload + zero padding) into `out` at `at`. The MAC must already be
 * computed over `macInput(...)`; the CRC covers everything after the CRC field, MAC included.
 */
export function encodeRecord(
  out: Buffer,
  at: number,
  h: Omit<RecordHeader, 'crc' | 'length'>,
  payload: Buffer,
): number {
  writeRecordFields(out, at, payload.length, h.typeCode, h.version, h.flags, h.seq, h.durableThrough);
  h.mac.copy(out, at + 32, 0, MAC_BYTES);
  payload.copy(out, at + RECORD_HEADER_BYTES);
  return finishRecord(out, at, payload.length);
}

/** Header bytes 4..32 (length, type, version, flags, reserved, seq, durable-through) of the record at `at`: what its MAC covers. */
export function writeRecordFields(out: Buffer, at: number, length: number, typeCode: number, version: number, flags: number, seq: number, durableThrough: number): void {
  out.writeUInt32LE(length, at + 4);
  out.writeUInt16LE(typeCode, at + 8);
  out.writeUInt8(version, at + 10);
  out.writeUInt8(flags, at + 11);
  out.writeUInt32LE(0, at + 12);
  writeU64(out, seq, at + 16);
  writeU64(out, durableThrough, at + 24);
}

/** With fields, MAC and payload in place: the zero padding and the CRC; returns the record's span. */
export function finishRecord(out: Buffer, at: number, length: number): number {
  const span = recordSpan(length);
  // At most 7 bytes of padding: a loop, not Buffer#fill's argument checks.
  for (let i = at + RECORD_HEADER_BYTES + length; i < at + span; i++) out[i] = 0;
  out.writeUInt32LE(crc32(out.subarray(at + 4, at + RECORD_HEADER_BYTES + length)), at);
  return span;
}

/** The header fields a record's MAC covers (bytes 4..32 of the header), built before the MAC exists. */
export function macHeaderBytes(length: number, typeCode: number, version: number, flags: number, seq: number, durableThrough: number): Buffer {
  const b = Buffer.alloc(32);
  writeRecordFields(b, 0, length, typeCode, version, flags, seq, durableThrough);
  return b.subarray(4);
}

export type RecordProblem = 'zero' | 'short' | 'length' | 'checksum';

/** Header fields as decoded; the MAC stays in the image (bytes at+32..at+48) until someone needs it. */
export type DecodedRecordHeader = Omit<RecordHeader, 'mac'>;

/**
 * Decodes the record at `at` of `buf` (which ends at `end`), checking length bounds and CRC. Allocates no
 * Buffers: boot decodes every record of the newest segment, and per-record Buffers dominated its time.
 */
export function decodeRecordAt(buf: Buffer, at: number, end: number): { header: DecodedRecordHeader; payloadOffset: number; span: number } | RecordProblem {
  if (at + RECORD_HEADER_BYTES > end) return 'short';
  const crc = buf.readUInt32LE(at);
  const length = buf.readUInt32LE(at + 4);
  if (crc === 0 && length === 0) return 'zero';
  if (length > MAX_PAYLOAD_BYTES) return 'length';
  if (at + RECORD_HEADER_BYTES + length > end) return 'short';
  if (crc32(buf.subarray(at + 4, at + RECORD_HEADER_BYTES + length)) !== crc) return 'checksum';
  return {
    header: {
      crc,
      length,
      typeCode: buf.readUInt16LE(at + 8),
      version: buf.readUInt8(at + 10),
      flags: buf.readUInt8(at + 11),
      seq: readU64(buf, at + 16),
      durableThrough: readU64(buf, at + 24),
    },
    payloadOffset: at + RECORD_HEADER_BYTES,
    span: recordSpan(length),
  };
}

export function segmentFileName(firstSeq: number): string {
  return `seg-${firstSeq.toString(16).padStart(16, '0')}.wal`;
}

export function parseSegmentFileName(name: string): number | null {
  const m = /^seg-([0-9a-f]{16})\.wal$/.exec(name);
  return m ? Number.parseInt(m[1]!, 16) : null;
}
