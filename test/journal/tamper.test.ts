// Tamper evidence: someone with the files but not the device key edits, reorders or removes history and
// keeps every CRC valid. The CRC alone cannot see it; the MAC chain under the device key must.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32, RECORD_HEADER_BYTES } from '../../protocol/journal/format.js';
import { verifyJournal, type VerifiedRecord } from '../../firmware-ts/journal/verify.js';
import { JournalCorruptionError } from '../../firmware-ts/journal/errors.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { copyTemplate, segmentsOf, writeTemplateJournal } from '../helpers/journal-template.js';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const SEGMENT_BYTES = 64 * 1024;
const types = new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);

let root: string;
let template: string;
let key: Buffer;

const copyJournal = (name: string): string => copyTemplate(template, root, name);

function listRecords(dir: string): VerifiedRecord[] {
  const out: VerifiedRecord[] = [];
  verifyJournal(dir, { types, onRecord: (r) => out.push({ ...r, payload: Buffer.from(r.payload) }) });
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

function posjVerify(dir: string, ...extra: string[]): { code: number | null; json: any } {
  const r = spawnSync(process.execPath, [POSJ, 'journal', 'verify', dir, '--json', ...extra], { encoding: 'utf8' });
  return { code: r.status, json: JSON.parse(r.stdout) };
}

beforeAll(async () => {
  if (!fs.existsSync(POSJ)) throw new Error(`${POSJ} is missing: run \`npm run build\` first (npm test does)`);
  root = tmpDir('jtamper');
  template = path.join(root, 'template');
  key = await writeTemplateJournal(template);
});

describe('tamper evidence', () => {
  it('an edited amount with a recomputed CRC passes the CRC check but not the chain (CLI exit 3)', () => {
    const dir = copyJournal('edit');
    const victim = listRecords(dir).find((r) => r.type === 'auth.intent' && r.segment === segmentsOf(dir)[2])!;
    const payload = JSON.parse(victim.payload.toString('utf8'));
    const doctored = Buffer.from(JSON.stringify({ ...payload, amount: (payload.amount % 9) + 1 }).padEnd(victim.payload.length, ' '));
    expect(doctored.length).toBe(victim.payload.length);
    forgeRecord(path.join(dir, victim.segment), victim.offset, (rec) => doctored.copy(rec, RECORD_HEADER_BYTES));

    const crcOnly = verifyJournal(dir, { types });
    expect(crcOnly).toMatchObject({ corrupt: null, tampered: null, chainChecked: false });
    const keyed = verifyJournal(dir, { types, deviceKey: key });
    expect(keyed.corrupt).toBeNull();
    expect(keyed.tampered).toMatchObject({ segment: victim.segment, offset: victim.offset, seq: victim.seq });
    const cli = posjVerify(dir);
    expect(cli.code).toBe(3);
    expect(cli.json.tampered).toMatchObject({ segment: victim.segment, offset: victim.offset });
    // Without the key the CLI can only vouch for the CRCs, and says so.
    fs.renameSync(`${dir}.key`, `${dir}.key.away`);
    expect(posjVerify(dir)).toMatchObject({ code: 0, json: { chainChecked: false, tampered: null } });
  });

  it('two records of equal length swapped (seqs and CRCs fixed up) are caught', () => {
    const dir = copyJournal('swap');
    const seg = segmentsOf(dir)[3]!;
    const inSeg = listRecords(dir).filter((r) => r.segment === seg && r.type !== 'journal.checkpoint');
    const a = inSeg[4]!;
    const b = inSeg.find((r) => r.seq > a.seq + 1 && r.payload.length === a.payload.length && !r.payload.equals(a.payload))!;
    expect(b).toBeDefined();
    const file = path.join(dir, seg);
    const img = fs.readFileSync(file);
    const recA = Buffer.from(img.subarray(a.offset, a.offset + RECORD_HEADER_BYTES + a.payload.length));
    const recB = Buffer.from(img.subarray(b.offset, b.offset + RECORD_HEADER_BYTES + b.payload.length));
    // Move each record (header, MAC, payload) into the other's place but keep the seq the place expects.
    forgeRecord(file, a.offset, (rec) => {
      recB.copy(rec);
      recA.copy(rec, 16, 16, 24);
    });
    forgeRecord(file, b.offset, (rec) => {
      recA.copy(rec);
      recB.copy(rec, 16, 16, 24);
    });
    expect(verifyJournal(dir, { types })).toMatchObject({ corrupt: null, tampered: null });
    expect(verifyJournal(dir, { types, deviceKey: key }).tampered).toMatchObject({ segment: seg, offset: a.offset, seq: a.seq });
    expect(posjVerify(dir).code).toBe(3);
  });

  it('a deleted middle segment is reported', () => {
    const dir = copyJournal('hole');
    const segs = segmentsOf(dir);
    fs.rmSync(path.join(dir, segs[2]!));
    const r = verifyJournal(dir, { types, deviceKey: key });
    expect(r.corrupt).toMatchObject({ segment: segs[2], offset: 0 });
    expect(r.corrupt!.reason).toMatch(/^segment is missing: seq \d+\.\.\d+ is in no segment \(a gap between segments\)$/);
    expect(posjVerify(dir).code).toBe(3);
  });

  it('open refuses a deleted middle segment with the words verify uses', async () => {
    const dir = copyJournal('hole-open');
    const segs = segmentsOf(dir);
    fs.rmSync(path.join(dir, segs[2]!));
    const r = verifyJournal(dir, { types, deviceKey: key });
    await expect(openTerminalJournal({ dir, deviceKey: key, segmentBytes: SEGMENT_BYTES })).rejects.toThrow(`journal corrupt in segment ${segs[2]} at offset 0: ${r.corrupt!.reason}`);
  });

  it('a deleted oldest segment without a retention record is reported', () => {
    const dir = copyJournal('behead');
    const segs = segmentsOf(dir);
    fs.rmSync(path.join(dir, segs[0]!));
    const keyed = verifyJournal(dir, { types, deviceKey: key });
    expect(keyed.tampered).toMatchObject({ segment: segs[1], offset: 0 });
    expect(keyed.tampered!.reason).toMatch(/missing and no retention record retired it/);
    expect(verifyJournal(dir, { types }).corrupt).toMatchObject({ segment: segs[1] });
    expect(posjVerify(dir).code).toBe(3);
  });

  it('after a real retain (archive) verify is clean, the archive holds the old segments, and history cut beyond it is still caught', async () => {
    const dir = copyJournal('retain');
    const segs = segmentsOf(dir);
    const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: SEGMENT_BYTES });
    const report = await j.retain({ mode: 'archive' });
    // More sales after it, so that more than the newest segment is left to cut.
    for (const step of syntheticSteps(1000, 1100, 40)) await j.append(step.records, { durable: step.durable });
    await j.close();
    expect(segmentsOf(dir).length).toBeGreaterThanOrEqual(2);
    expect(report).not.toBeNull();
    expect(report!.segments.length).toBeGreaterThan(0);
    expect(report!.segments).toEqual(segs.slice(0, report!.segments.length));
    expect(fs.readdirSync(path.join(dir, 'archive')).sort()).toEqual(report!.segments);
    for (const s of report!.segments) expect(fs.readFileSync(path.join(dir, 'archive', s)).equals(fs.readFileSync(path.join(template, s)))).toBe(true);

    const v = verifyJournal(dir, { types, deviceKey: key });
    expect(v).toMatchObject({ corrupt: null, tampered: null, chainChecked: true, retainedThroughSeq: report!.throughSeq });
    expect(posjVerify(dir).code).toBe(0);
    // The retention record covers only what it retired: removing one more segment is still tampering.
    fs.rmSync(path.join(dir, segmentsOf(dir)[0]!));
    expect(verifyJournal(dir, { types, deviceKey: key }).tampered?.reason).toMatch(/no retention record retired it/);
  });

  it('a wrong device key shows as a header MAC mismatch, and open refuses it', async () => {
    const dir = copyJournal('wrongkey');
    const other = randomBytes(32);
    const r = verifyJournal(dir, { types, deviceKey: other });
    expect(r.tampered).toMatchObject({ segment: segmentsOf(dir)[0], offset: 40 });
    expect(r.tampered!.reason).toMatch(/header MAC mismatch/);
    fs.writeFileSync(path.join(root, 'other.key'), other.toString('hex') + '\n', { mode: 0o600 });
    expect(posjVerify(dir, '--key-file', path.join(root, 'other.key')).code).toBe(3);
    const err = await openTerminalJournal({ dir, deviceKey: other, segmentBytes: SEGMENT_BYTES }).catch((e) => e);
    expect(err).toBeInstanceOf(JournalCorruptionError);
    expect(err).toMatchObject({ offset: 40 });
    // The refused open changed nothing and left no lock behind.
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    expect(verifyJournal(dir, { types, deviceKey: key })).toMatchObject({ corrupt: null, tampered: null });
  });
});
