// What a forger with the files but not the device key does to a copy of the template journal
// (journal-template.ts), keeping every CRC valid. Shared by the in-process tamper tests and the CLI's:
// both must judge the same forgeries.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32, RECORD_HEADER_BYTES } from '../../protocol/journal/format.js';
import { verifyJournal, type VerifiedRecord } from '../../firmware-ts/journal/verify.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import type { RetentionReport } from '../../firmware-ts/journal/journal.js';
import { segmentsOf, TEMPLATE_SEGMENT_BYTES } from './journal-template.js';

/** The record types the CLI verifies with. */
export const tamperTypes = new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);

export function listRecords(dir: string): VerifiedRecord[] {
  const out: VerifiedRecord[] = [];
  verifyJournal(dir, { types: tamperTypes, onRecord: (r) => out.push({ ...r, payload: Buffer.from(r.payload) }) });
  return out;
}

/** Rewrites a record's bytes in place and recomputes its CRC, as an attacker who knows the format would. */
function forgeRecord(file: string, offset: number, edit: (rec: Buffer) => void): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const head = Buffer.alloc(RECORD_HEADER_BYTES);
    fs.readSync(fd, head, 0, head.length, offset);
    const rec = Buffer.alloc(RECORD_HEADER_BYTES + head.readUInt32LE(4));
    fs.readSync(fd, rec, 0, rec.length, offset);
    edit(rec);
    rec.writeUInt32LE(crc32(rec.subarray(4)), 0);
    fs.writeSync(fd, rec, 0, rec.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** Changes the amount of a sale in the third segment, same length, CRC recomputed; returns the record. */
export function editAmount(dir: string): VerifiedRecord {
  const victim = listRecords(dir).find((r) => r.type === 'auth.intent' && r.segment === segmentsOf(dir)[2])!;
  const payload = JSON.parse(victim.payload.toString('utf8'));
  const doctored = Buffer.from(JSON.stringify({ ...payload, amount: (payload.amount % 9) + 1 }).padEnd(victim.payload.length, ' '));
  if (doctored.length !== victim.payload.length) throw new Error(`the edited payload is ${doctored.length} bytes, the record's ${victim.payload.length}`);
  forgeRecord(path.join(dir, victim.segment), victim.offset, (rec) => doctored.copy(rec, RECORD_HEADER_BYTES));
  return victim;
}

/**
 * Swaps two records of equal length in the fourth segment: each (header, MAC, payload) moves into the
 * other's place but keeps the seq the place expects, CRCs fixed up. Returns the segment and the first.
 */
export function swapRecords(dir: string): { segment: string; first: VerifiedRecord } {
  const segment = segmentsOf(dir)[3]!;
  const inSeg = listRecords(dir).filter((r) => r.segment === segment && r.type !== 'journal.checkpoint');
  const a = inSeg[4]!;
  const b = inSeg.find((r) => r.seq > a.seq + 1 && r.payload.length === a.payload.length && !r.payload.equals(a.payload));
  if (!b) throw new Error(`no record in ${segment} to swap with seq ${a.seq}`);
  const file = path.join(dir, segment);
  const img = fs.readFileSync(file);
  const recA = Buffer.from(img.subarray(a.offset, a.offset + RECORD_HEADER_BYTES + a.payload.length));
  const recB = Buffer.from(img.subarray(b.offset, b.offset + RECORD_HEADER_BYTES + b.payload.length));
  forgeRecord(file, a.offset, (rec) => {
    recB.copy(rec);
    recA.copy(rec, 16, 16, 24);
  });
  forgeRecord(file, b.offset, (rec) => {
    recA.copy(rec);
    recB.copy(rec, 16, 16, 24);
  });
  return { segment, first: a };
}

/** Removes the i-th segment (oldest first); returns the segment names as they were. */
export function removeSegment(dir: string, i: number): string[] {
  const segs = segmentsOf(dir);
  fs.rmSync(path.join(dir, segs[i]!));
  return segs;
}

/**
 * A real retention (archive) by the journal, then `sales` more sales so that more than the newest segment
 * is left to cut. Returns what the retention retired.
 */
export async function retainThenSell(dir: string, key: Buffer, sales: number): Promise<RetentionReport | null> {
  const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: TEMPLATE_SEGMENT_BYTES });
  const report = await j.retain({ mode: 'archive' });
  for (const step of syntheticSteps(1000, sales, 40)) await j.append(step.records, { durable: step.durable });
  await j.close();
  return report;
}
