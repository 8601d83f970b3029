// Full, read-only check of a journal directory: every segment, every record's checksum and sequence, the
// MAC chain under the device key, and that any missing history was retired by a journaled retention.
// Unlike open(), it reads the whole history and changes nothing.
import * as path from 'node:path';
import { decodeSegmentHeader, encodeSegmentHeaderBody, macHeaderBytes, type SegmentHeader } from '../../protocol/journal/format.js';
import type { Storage } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { RecordChain } from './chain.js';
import { JournalCorruptionError } from './errors.js';
import { CHECKPOINT, INTERNAL_TYPES, RETENTION, SEAL, type CheckpointPayload, type RetentionPayload } from './internal-types.js';
import { RecordTypes } from './record-types.js';
import { scanSegment, type ScannedRecord } from './segment-scan.js';
import { readWhole } from './segment-io.js';
import { listSegments, sealedNewestError } from './recovery.js';
import { missingSegmentError, truncationError } from './segment-checks.js';
import { segmentDigest, type SegmentSummary } from './verified-segments.js';

export interface VerifyReport {
  dir: string;
  records: number;
  segments: number;
  firstSeq: number | null;
  lastSeq: number | null;
  bytes: number;
  tornTailBytes: number;
  tornTail: { segment: string; offset: number; reason: string } | null;
  corrupt: { segment: string; offset: number; reason: string } | null;
  /** False when no device key was given: only checksums and sequence were checked. */
  chainChecked: boolean;
  tampered: { segment: string; offset: number; seq: number; reason: string } | null;
  retainedThroughSeq: number;
  recordTypes: Record<string, number>;
}

export interface VerifiedRecord {
  segment: string;
  offset: number;
  seq: number;
  type: string;
  version: number;
  durableThrough: number;
  payload: Buffer;
}

export interface VerifyOptions {
  storage?: Storage;
  deviceKey?: Buffer | null;
  types?: RecordTypes;
  onRecord?: (r: VerifiedRecord) => void;
  /**
   * Older segments a full verify with the same key passed before, by name (the daemon's boot check): one
   * whose bytes hash the same is taken from its summary rather than read record by record. Never with onRecord.
   */
  verified?: Map<string, SegmentSummary>;
  /** Hears every older segment that passed whole (chain checked, clean end), with what a later verify needs to skip it. */
  onSegmentPassed?: (s: SegmentSummary) => void;
}

export { listSegments };

export function verifyJournal(dir: string, opts: VerifyOptions = {}): VerifyReport {
  const storage = opts.storage ?? nodeStorage;
  const types = opts.types ?? new RecordTypes(INTERNAL_TYPES);
  const chain = opts.deviceKey ? new RecordChain(opts.deviceKey) : null;
  const segments = listSegments(storage, dir);
  const report: VerifyReport = {
    dir,
    records: 0,
    segments: segments.length,
    firstSeq: null,
    lastSeq: null,
    bytes: 0,
    tornTailBytes: 0,
    tornTail: null,
    corrupt: null,
    chainChecked: chain !== null,
    tampered: null,
    retainedThroughSeq: 0,
    recordTypes: {},
  };
  let expectedFirst: number | null = null;
  let prevMac: Buffer | null = null;
  let prevSealed = false;

  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const image = readWhole(storage, path.join(dir, seg.name));
    report.bytes += image.length;
    const older = i < segments.length - 1;
    const digest = older && chain && (opts.verified || opts.onSegmentPassed) ? segmentDigest(image) : null;
    const known = digest !== null && !opts.onRecord ? opts.verified?.get(seg.name) : undefined;
    if (known && known.bytes === image.length && known.sha256 === digest) {
      // The same bytes a full verify passed: only how it joins the segment before is checked again.
      const h = decodeSegmentHeader(image) as SegmentHeader;
      const problem = joinProblem(seg, h, expectedFirst, chain, prevMac);
      if (problem?.corrupt) {
        report.corrupt = problem.corrupt;
        return report;
      }
      if (problem?.tampered) report.tampered ??= problem.tampered;
      takeSummary(report, known);
      // As for a segment read in full: once the chain broke, nothing from there on passed.
      if (!report.tampered) opts.onSegmentPassed?.(known);
      prevMac = Buffer.from(known.lastMac, 'base64url');
      expectedFirst = known.nextSeq;
      prevSealed = known.sealed;
      continue;
    }
    const before = { records: report.records, recordTypes: { ...report.recordTypes } };
    let scan;
    try {
      scan = scanSegment(seg.name, image, i === segments.length - 1);
    } catch (e) {
      if (!(e instanceof JournalCorruptionError)) throw e;
      report.corrupt = { segment: seg.name, offset: e.offset, reason: e.reason };
      return report;
    }
    const h = scan.header;
    if (h.firstSeq !== seg.firstSeq) {
      report.corrupt = { segment: seg.name, offset: 16, reason: `header says first seq ${h.firstSeq}, file name says ${seg.firstSeq}` };
      return report;
    }
    // A rotation cut between naming the new segment and sealing the old one: the empty newest segment holds
    // nothing, and the next open removes it (JOURNAL_FORMAT §6). Not a gap.
    const halfRotated = i === segments.length - 1 && scan.records.length === 0 && scan.tail.kind !== 'corrupt' && expectedFirst === h.firstSeq - 1 && !prevSealed;
    if (halfRotated) break;
    const problem = joinProblem(seg, h, expectedFirst, chain, prevMac);
    if (problem?.corrupt) {
      report.corrupt = problem.corrupt;
      return report;
    }
    if (problem?.tampered) report.tampered ??= problem.tampered;
    let mac = h.prevMac;
    for (const rec of scan.records) {
      if (chain && !report.tampered) {
        const expected = chain.recordMac(mac, macHeaderBytes(rec.payload.length, rec.typeCode, rec.version, rec.flags, rec.seq, rec.durableThrough), rec.payload);
        if (!expected.equals(rec.mac)) report.tampered = { segment: seg.name, offset: rec.offset, seq: rec.seq, reason: 'record MAC mismatch: edited, removed or reordered' };
      }
      mac = rec.mac;
      noteRecord(report, types, seg.name, rec, opts.onRecord);
    }
    prevMac = mac;
    // Its records are readable (and listed); what the missing end held is not.
    const truncated = truncationError(seg.name, image.length, h.segmentBytes);
    if (truncated) {
      report.corrupt = asProblem(truncated);
      return report;
    }
    if (scan.tail.kind === 'torn') {
      report.tornTailBytes = scan.tail.bytes;
      report.tornTail = { segment: seg.name, offset: scan.tail.offset, reason: scan.tail.reason };
    } else if (scan.tail.kind === 'corrupt') {
      report.corrupt = { segment: seg.name, offset: scan.tail.offset, reason: scan.tail.reason };
      return report;
    }
    expectedFirst = scan.nextSeq;
    prevSealed = scan.records[scan.records.length - 1]?.typeCode === SEAL.code;
    if (digest !== null && scan.tail.kind === 'clean' && !report.tampered && !report.corrupt) {
      opts.onSegmentPassed?.({
        name: seg.name,
        bytes: image.length,
        sha256: digest,
        records: report.records - before.records,
        firstSeq: scan.records[0]?.seq ?? null,
        lastSeq: scan.records[scan.records.length - 1]?.seq ?? null,
        lastMac: mac.toString('base64url'),
        nextSeq: scan.nextSeq,
        sealed: prevSealed,
        retainedThroughSeq: report.retainedThroughSeq,
        recordTypes: countsSince(before.recordTypes, report.recordTypes),
      });
    }
    const sealed = i === segments.length - 1 ? sealedNewestError(scan) : null;
    if (sealed) {
      report.corrupt = asProblem(sealed);
      return report;
    }
  }

  const first = segments[0];
  if (first && first.firstSeq > 1 && report.retainedThroughSeq < first.firstSeq - 1) {
    const problem = { segment: first.name, offset: 0, reason: `history before seq ${first.firstSeq} is missing and no retention record retired it` };
    if (chain) report.tampered ??= { ...problem, seq: first.firstSeq };
    else report.corrupt = problem;
  }
  return report;
}

const asProblem = (e: JournalCorruptionError) => ({ segment: e.segment, offset: e.offset, reason: e.reason });

/** How a segment's header joins the one before it: seq continuity, then (with a key) its MAC and the chain. */
function joinProblem(seg: { name: string }, h: SegmentHeader, expectedFirst: number | null, chain: RecordChain | null, prevMac: Buffer | null): { corrupt?: VerifyReport['corrupt']; tampered?: VerifyReport['tampered'] } | null {
  if (expectedFirst !== null && h.firstSeq > expectedFirst) return { corrupt: asProblem(missingSegmentError(expectedFirst, h.firstSeq)) };
  if (expectedFirst !== null && h.firstSeq !== expectedFirst) return { corrupt: { segment: seg.name, offset: 16, reason: `segment starts at seq ${h.firstSeq}, but the previous one ends before seq ${expectedFirst}` } };
  if (chain && !chain.headerMac(encodeSegmentHeaderBody(h)).equals(h.headerMac)) return { tampered: { segment: seg.name, offset: 40, seq: h.firstSeq, reason: 'segment header MAC mismatch (altered header or wrong device key)' } };
  if (chain && prevMac && !prevMac.equals(h.prevMac)) return { tampered: { segment: seg.name, offset: 24, seq: h.firstSeq, reason: 'segment does not chain to the one before it' } };
  return null;
}

function takeSummary(report: VerifyReport, s: SegmentSummary): void {
  report.records += s.records;
  if (s.firstSeq !== null) report.firstSeq ??= s.firstSeq;
  if (s.lastSeq !== null) report.lastSeq = s.lastSeq;
  report.retainedThroughSeq = Math.max(report.retainedThroughSeq, s.retainedThroughSeq);
  for (const [type, n] of Object.entries(s.recordTypes)) report.recordTypes[type] = (report.recordTypes[type] ?? 0) + n;
}

function countsSince(before: Record<string, number>, now: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [type, n] of Object.entries(now)) if (n !== (before[type] ?? 0)) out[type] = n - (before[type] ?? 0);
  return out;
}

function noteRecord(report: VerifyReport, types: RecordTypes, segment: string, rec: ScannedRecord, onRecord?: (r: VerifiedRecord) => void): void {
  report.records++;
  report.firstSeq ??= rec.seq;
  report.lastSeq = rec.seq;
  const type = types.nameOf(rec.typeCode);
  report.recordTypes[type] = (report.recordTypes[type] ?? 0) + 1;
  if (rec.typeCode === RETENTION.code || rec.typeCode === CHECKPOINT.code) {
    try {
      const p = JSON.parse(rec.payload.toString('utf8')) as RetentionPayload & CheckpointPayload;
      const through = rec.typeCode === RETENTION.code ? p.throughSeq : p.retainedThroughSeq;
      if (Number.isSafeInteger(through)) report.retainedThroughSeq = Math.max(report.retainedThroughSeq, through);
    } catch {
      report.corrupt ??= { segment, offset: rec.offset, reason: `record seq ${rec.seq} payload is not valid JSON` };
    }
  }
  onRecord?.({ segment, offset: rec.offset, seq: rec.seq, type, version: rec.version, durableThrough: rec.durableThrough, payload: rec.payload });
}
