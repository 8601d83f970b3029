// verifyJournal's report in-process, field by field, on a real multi-segment journal: a clean journal's
// counts, and each header-level defect a repair starts from — a header whose MAC is good but whose first
// seq disagrees with its file name or whose previous-segment MAC does not chain (re-signed with the key: the checks behind the MAC), a torn
// tail, a record whose CRC and MAC are good but whose payload is not JSON. tamper.test.ts covers what a
// forger without the key can do (tamper-cli.test.ts: the same through the CLI).
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, crc32, decodeSegmentHeader, encodeSegmentHeader, encodeSegmentHeaderBody, macHeaderBytes, recordSpan } from '../../protocol/journal/format.js';
import { RecordChain } from '../../firmware-ts/journal/chain.js';
import { verifyJournal, type VerifiedRecord } from '../../firmware-ts/journal/verify.js';
import type { SegmentSummary } from '../../firmware-ts/journal/verified-segments.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { copyTemplate, segmentsOf, writeTemplateJournal } from '../helpers/journal-template.js';
import { tmpDir } from '../helpers/tmp.js';

const types = new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);
let root: string;
let template: string;
let key: Buffer;
let records: VerifiedRecord[];

beforeAll(async () => {
  root = tmpDir('jverify');
  template = path.join(root, 'template');
  key = await writeTemplateJournal(template);
  records = [];
  verifyJournal(template, { types, deviceKey: key, onRecord: (r) => records.push({ ...r, payload: Buffer.from(r.payload) }) });
});

/** Rewrites a segment's header through `edit` and signs it again with the device key. */
function resign(file: string, edit: (h: { firstSeq: number; prevMac: Buffer; segmentBytes: number }) => void): void {
  const img = fs.readFileSync(file);
  const h = decodeSegmentHeader(img);
  if (typeof h === 'string') throw new Error(h);
  const fields = { firstSeq: h.firstSeq, prevMac: Buffer.from(h.prevMac), segmentBytes: h.segmentBytes };
  edit(fields);
  const body = encodeSegmentHeaderBody({ formatVersion: h.formatVersion, ...fields });
  encodeSegmentHeader(body, new RecordChain(key).headerMac(body)).copy(img, 0);
  fs.writeFileSync(file, img);
}

describe('verify report', () => {
  it('a clean journal: every record once in seq order, its bytes, first and last seq, record counts by type', () => {
    const r = verifyJournal(template, { types, deviceKey: key });
    expect(r).toMatchObject({ corrupt: null, tampered: null, tornTail: null });
    expect(records.map((x) => x.seq)).toEqual(records.map((_, i) => i + 1));
    expect(r.firstSeq).toBe(1);
    expect(r.lastSeq).toBe(records.length);
    const bytes = segmentsOf(template).reduce((n, s) => n + fs.statSync(path.join(template, s)).size, 0);
    expect(r.bytes).toBe(bytes);
    const counts: Record<string, number> = {};
    for (const x of records) counts[x.type] = (counts[x.type] ?? 0) + 1;
    expect(r.recordTypes).toEqual(counts);
    // Without the key the CRCs still pass, and the same records are read.
    expect(verifyJournal(template, { types })).toMatchObject({ corrupt: null, tampered: null, lastSeq: records.length });
  });

  it('a header whose MAC is good but whose previous-segment MAC does not chain: tampered at its prevMac', () => {
    const dir = copyTemplate(template, root, 'prevmac');
    const seg = segmentsOf(dir)[3]!;
    resign(path.join(dir, seg), (h) => void (h.prevMac[0] = h.prevMac[0]! ^ 0x01));
    const r = verifyJournal(dir, { types, deviceKey: key });
    expect(r.tampered).toMatchObject({ segment: seg, offset: 24 });
    // Keyless, the header is only checked by its CRC, which is right.
    expect(verifyJournal(dir, { types }).tampered).toBeNull();
  });

  it('a header that disagrees with its file name: corrupt at offset 16, naming both', () => {
    const dir = copyTemplate(template, root, 'name');
    const seg = segmentsOf(dir)[1]!;
    resign(path.join(dir, seg), (h) => void (h.firstSeq += 7));
    const r = verifyJournal(dir, { types, deviceKey: key });
    expect(r.corrupt).toMatchObject({ segment: seg, offset: 16 });
    expect(r.corrupt!.reason).toMatch(/header says first seq \d+, file name says \d+/);
  });

  it('a torn tail of the newest segment is reported as torn, not corrupt; the records before it stand', () => {
    const dir = copyTemplate(template, root, 'torn');
    const segs = segmentsOf(dir);
    const newest = segs.at(-1)!;
    const last = records.filter((x) => x.segment === newest).at(-1)!;
    const file = path.join(dir, newest);
    const img = fs.readFileSync(file);
    img.fill(0xee, last.offset + RECORD_HEADER_BYTES, last.offset + recordSpan(last.payload.length));
    fs.writeFileSync(file, img);
    const r = verifyJournal(dir, { types, deviceKey: key });
    expect(r).toMatchObject({ corrupt: null, tampered: null, lastSeq: last.seq - 1 });
    expect(r.tornTail).toMatchObject({ segment: newest, offset: last.offset });
  });

  it('a checkpoint with a good CRC and MAC whose payload is not JSON: corrupt at that record', () => {
    const dir = copyTemplate(template, root, 'json');
    // Verify reads the payloads it needs (checkpoints and retention records name what was retired).
    const victim = records.filter((x) => x.type === 'journal.checkpoint').at(-1)!;
    const newest = victim.segment;
    const file = path.join(dir, newest);
    const img = fs.readFileSync(file);
    const before = records.find((x) => x.seq === victim.seq - 1)!;
    // The MAC it chains from: the record before it, or the header's for the first record of a segment.
    const prevMac = before.segment === newest ? img.subarray(before.offset + 32, before.offset + 48) : img.subarray(24, 40);
    const at = victim.offset;
    const length = img.readUInt32LE(at + 4);
    img.fill(0x7b, at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length); // '{{{{…'
    const h = (o: number) => ({ length: img.readUInt32LE(o + 4), typeCode: img.readUInt16LE(o + 8), version: img.readUInt8(o + 10), flags: img.readUInt8(o + 11), seq: img.readUInt32LE(o + 16), durable: img.readUInt32LE(o + 24) });
    const v = h(at);
    const mac = new RecordChain(key).recordMac(Buffer.from(prevMac), macHeaderBytes(v.length, v.typeCode, v.version, v.flags, v.seq, v.durable), img.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length));
    mac.copy(img, at + 32);
    img.writeUInt32LE(crc32(img.subarray(at + 4, at + RECORD_HEADER_BYTES + length)), at);
    fs.writeFileSync(file, img);
    const r = verifyJournal(dir, { types, deviceKey: key });
    // Its own MAC is good; the record after it chained from the old MAC, so the chain breaks there, not here.
    if (r.tampered) expect(r.tampered.seq).toBeGreaterThan(victim.seq);
    expect(r.corrupt).toMatchObject({ segment: newest, offset: at });
    expect(r.corrupt!.reason).toBe(`record seq ${victim.seq} payload is not valid JSON`);
    expect(SEGMENT_HEADER_BYTES).toBeLessThan(at);
  });

  it('no segments at all: an empty report, nothing missing', () => {
    const dir = path.join(root, 'empty');
    fs.mkdirSync(dir);
    expect(verifyJournal(dir, { types, deviceKey: key })).toEqual({
      dir,
      records: 0,
      segments: 0,
      firstSeq: null,
      lastSeq: null,
      bytes: 0,
      tornTailBytes: 0,
      tornTail: null,
      corrupt: null,
      chainChecked: true,
      tampered: null,
      retainedThroughSeq: 0,
      recordTypes: {},
    });
  });

  it('a garbled last record of an older segment: corrupt there, never a torn tail (only the newest segment can be torn)', () => {
    const dir = copyTemplate(template, root, 'older-tail');
    const seg = segmentsOf(dir)[1]!;
    const seal = records.filter((x) => x.segment === seg).at(-1)!;
    expect(seal.type).toBe('journal.sealed');
    const file = path.join(dir, seg);
    const img = fs.readFileSync(file);
    // In the newest segment this is what a power cut mid-write leaves (see the torn-tail test above).
    img.fill(0xee, seal.offset + RECORD_HEADER_BYTES, seal.offset + recordSpan(seal.payload.length));
    fs.writeFileSync(file, img);
    const r = verifyJournal(dir, { types, deviceKey: key });
    expect(r.tornTail).toBeNull();
    expect(r.corrupt).toMatchObject({ segment: seg, offset: seal.offset });
  });

  it('a segment whose header and name start before the previous one ends (an overlap): corrupt at offset 16, naming both seqs', () => {
    const dir = copyTemplate(template, root, 'overlap');
    const segs = segmentsOf(dir);
    const firstOf2 = Number.parseInt(segs[2]!.slice(4, 20), 16);
    const moved = `seg-${(firstOf2 - 3).toString(16).padStart(16, '0')}.wal`;
    fs.renameSync(path.join(dir, segs[2]!), path.join(dir, moved));
    resign(path.join(dir, moved), (h) => void (h.firstSeq = firstOf2 - 3));
    const r = verifyJournal(dir, { types, deviceKey: key });
    expect(r.corrupt).toEqual({ segment: moved, offset: 16, reason: `segment starts at seq ${firstOf2 - 3}, but the previous one ends before seq ${firstOf2}` });
  });

  /** The seal of segment `index` signed again with a changed header field: its own MAC good, the next header no longer chains to it. */
  function resealed(dir: string, index: number): string {
    const seg = segmentsOf(dir)[index]!;
    const seal = records.find((x) => x.segment === seg && x.type === 'journal.sealed')!;
    const before = records.find((x) => x.seq === seal.seq - 1)!;
    expect(before.segment).toBe(seg);
    const file = path.join(dir, seg);
    const img = fs.readFileSync(file);
    const at = seal.offset;
    const length = img.readUInt32LE(at + 4);
    img.writeUInt32LE(img.readUInt32LE(at + 24) - 1, at + 24);
    const mac = new RecordChain(key).recordMac(Buffer.from(img.subarray(before.offset + 32, before.offset + 48)), Buffer.from(img.subarray(at + 4, at + 32)), img.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length));
    mac.copy(img, at + 32);
    img.writeUInt32LE(crc32(img.subarray(at + 4, at + RECORD_HEADER_BYTES + length)), at);
    fs.writeFileSync(file, img);
    return segmentsOf(dir)[index + 1]!;
  }

  it('a re-signed seal the next segment does not chain to: tampered at that header, whether or not the next segment is taken from `verified`', () => {
    const dir = copyTemplate(template, root, 'reseal');
    const summaries = new Map<string, SegmentSummary>();
    verifyJournal(dir, { types, deviceKey: key, onSegmentPassed: (s) => summaries.set(s.name, s) });
    // A verify given only onSegmentPassed (the daemon's first boot) hears every older segment.
    expect([...summaries.keys()]).toEqual(segmentsOf(dir).slice(0, -1));
    const next = resealed(dir, 1);
    const expected = { segment: next, offset: 24, seq: Number.parseInt(next.slice(4, 20), 16), reason: 'segment does not chain to the one before it' };
    expect(verifyJournal(dir, { types, deviceKey: key }).tampered).toEqual(expected);
    const passed: string[] = [];
    const cached = verifyJournal(dir, { types, deviceKey: key, verified: summaries, onSegmentPassed: (s) => passed.push(s.name) });
    expect(cached.tampered).toEqual(expected);
    // The segments up to the re-signed one still pass (the first from the cache); from the one that no longer
    // joins on, nothing is vouched for (a boot check would otherwise save a summary of tampered bytes).
    expect(passed).toEqual(segmentsOf(dir).slice(0, 2));
    const fresh: string[] = [];
    verifyJournal(dir, { types, deviceKey: key, onSegmentPassed: (s) => fresh.push(s.name) });
    expect(fresh).toEqual(segmentsOf(dir).slice(0, 2));
  });

  it('a deleted middle segment, the next one taken from `verified`: the gap is still found', () => {
    const dir = copyTemplate(template, root, 'gap-cached');
    const summaries = new Map<string, SegmentSummary>();
    verifyJournal(dir, { types, deviceKey: key, onSegmentPassed: (s) => summaries.set(s.name, s) });
    const segs = segmentsOf(dir);
    fs.rmSync(path.join(dir, segs[2]!));
    const full = verifyJournal(dir, { types, deviceKey: key });
    const [from, to] = [Number.parseInt(segs[2]!.slice(4, 20), 16), Number.parseInt(segs[3]!.slice(4, 20), 16) - 1];
    expect(full.corrupt?.reason).toBe(`segment is missing: seq ${from}..${to} is in no segment (a gap between segments)`);
    expect(verifyJournal(dir, { types, deviceKey: key, verified: summaries })).toEqual(full);
  });

  it('with onRecord, `verified` is not used: every record is heard', () => {
    const dir = copyTemplate(template, root, 'cached-onrecord');
    const summaries = new Map<string, SegmentSummary>();
    verifyJournal(dir, { types, deviceKey: key, onSegmentPassed: (s) => summaries.set(s.name, s) });
    const heard: number[] = [];
    verifyJournal(dir, { types, deviceKey: key, verified: summaries, onRecord: (r) => heard.push(r.seq) });
    expect(heard).toEqual(records.map((r) => r.seq));
  });
});
