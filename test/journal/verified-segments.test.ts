// The daemon's boot verify with `verified` (issue 13/9: a full verify grew to seconds at 1M records): older
// segments whose bytes hash as a previous full verify saw them are not re-read record by record. It must
// judge exactly as a full verify does: the same counts and seq range; a flipped byte, or a forged record
// with its CRC fixed up, in a segment it vouched for is still refused; and a `verified` file that was
// edited, comes from another terminal, or names bytes that are no longer there buys nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32, RECORD_HEADER_BYTES } from '../../protocol/journal/format.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import type { Storage } from '../../firmware-ts/io/storage.js';
import { refuseDamagedJournal } from '../../firmware-ts/journal/boot-check.js';
import { findPanLikeRun } from '../../firmware-ts/pci/card-data.js';
import { loadOrCreateDeviceKey } from '../../firmware-ts/journal/device-key.js';
import { JournalCorruptionError, JournalTamperError } from '../../firmware-ts/journal/errors.js';
import { loadVerifiedSegments, VERIFIED_FILE } from '../../firmware-ts/journal/verified-segments.js';
import { verifyJournal, type VerifiedRecord } from '../../firmware-ts/journal/verify.js';
import { journalRecordTypes } from '../../firmware-ts/txn/terminal-journal.js';
import { copyTemplate, segmentsOf, writeTemplateJournal } from '../helpers/journal-template.js';
import { tmpDir } from '../helpers/tmp.js';

const types = journalRecordTypes();
let root: string;
let template: string;
let key: Buffer;

const copyJournal = (name: string): string => copyTemplate(template, root, name);
const check = (dir: string, deviceKey = key) => refuseDamagedJournal(dir, { deviceKey, types });

function records(dir: string): VerifiedRecord[] {
  const out: VerifiedRecord[] = [];
  verifyJournal(dir, { types, onRecord: (r) => out.push({ ...r, payload: Buffer.from(r.payload) }) });
  return out;
}

/** Same length, CRC recomputed: only the MAC chain can tell. */
function forgeAmount(dir: string, r: VerifiedRecord): void {
  const p = JSON.parse(r.payload.toString('utf8'));
  const doctored = Buffer.from(JSON.stringify({ ...p, amount: (p.amount % 9) + 1 }).padEnd(r.payload.length, ' '));
  const file = path.join(dir, r.segment);
  const img = fs.readFileSync(file);
  doctored.copy(img, r.offset + RECORD_HEADER_BYTES);
  img.writeUInt32LE(crc32(img.subarray(r.offset + 4, r.offset + RECORD_HEADER_BYTES + r.payload.length)), r.offset);
  fs.writeFileSync(file, img);
}

beforeAll(async () => {
  root = tmpDir('verified');
  template = path.join(root, 'template');
  key = await writeTemplateJournal(template);
});

describe('the boot verify with `verified`', () => {
  it('the first boot verifies everything and writes `verified`; the next reuses every older segment and reports as a full verify does', () => {
    const dir = copyJournal('reuse');
    const older = segmentsOf(dir).length - 1;
    expect(check(dir)).toEqual({ segments: older + 1, reused: 0 });
    expect(fs.existsSync(path.join(dir, VERIFIED_FILE))).toBe(true);
    const before = fs.statSync(path.join(dir, VERIFIED_FILE)).mtimeMs;
    expect(check(dir)).toEqual({ segments: older + 1, reused: older });
    // Nothing new was sealed: the file is left as it is.
    expect(fs.statSync(path.join(dir, VERIFIED_FILE)).mtimeMs).toBe(before);
    // What a reusing verify reports equals the full one's.
    const full = verifyJournal(dir, { types, deviceKey: key });
    const seen: string[] = [];
    const vouched = loadVerifiedSegments(nodeStorage, dir, key);
    expect(vouched.size).toBe(older);
    const reusing = verifyJournal(dir, { types, deviceKey: key, verified: vouched, onSegmentPassed: (s) => seen.push(s.name) });
    expect(reusing).toEqual(full);
    // The report counts records by their type's name, the journal's own types and the terminal's alike.
    expect(Object.keys(full.recordTypes).filter((t) => t.startsWith('unknown#'))).toEqual([]);
    expect(Object.keys(full.recordTypes)).toEqual(expect.arrayContaining(['journal.checkpoint', 'auth.intent', 'auth.outcome']));
    expect(seen).toEqual(segmentsOf(dir).slice(0, -1));
    // Nothing in the file that the PCI scan would take for a card number (digests are base64url, not hex).
    expect(findPanLikeRun(fs.readFileSync(path.join(dir, VERIFIED_FILE)))).toBe(-1);
  });

  it('a flipped byte, or a forged record with its CRC fixed up, in a segment `verified` vouched for is refused as a full verify refuses it', () => {
    for (const damage of ['flip', 'forge'] as const) {
      const dir = copyJournal(`damage-${damage}`);
      check(dir);
      const victim = records(dir).find((r) => r.type === 'auth.intent' && r.segment === segmentsOf(dir)[2])!;
      if (damage === 'flip') {
        const file = path.join(dir, victim.segment);
        const img = fs.readFileSync(file);
        img[victim.offset + RECORD_HEADER_BYTES + 3]! ^= 0x20;
        fs.writeFileSync(file, img);
      } else forgeAmount(dir, victim);
      const full = verifyJournal(dir, { types, deviceKey: key });
      const problem = damage === 'flip' ? full.corrupt : full.tampered;
      expect(problem).toMatchObject({ segment: victim.segment, offset: victim.offset });
      expect(() => check(dir)).toThrow(damage === 'flip' ? JournalCorruptionError : JournalTamperError);
      expect(() => check(dir)).toThrow(problem!.reason);
    }
  });

  it('an edited `verified`, or one from another terminal, is not believed: a full verify, and the file is written anew', () => {
    const dir = copyJournal('edited');
    check(dir);
    const file = path.join(dir, VERIFIED_FILE);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.segments[1].records += 1;
    fs.writeFileSync(file, JSON.stringify(doc));
    expect(check(dir).reused).toBe(0);
    expect(check(dir).reused).toBe(segmentsOf(dir).length - 1);

    // Another terminal's journal of the same history under its own key: its `verified` is worth nothing here.
    const other = copyJournal('other');
    const otherKey = loadOrCreateDeviceKey(`${root}/another-terminal.key`, null);
    expect(() => check(other, otherKey)).toThrow(JournalTamperError);
    fs.copyFileSync(path.join(dir, VERIFIED_FILE), path.join(other, VERIFIED_FILE));
    expect(() => check(other, otherKey)).toThrow(JournalTamperError);
    for (const junk of ['', '{', '{"version":1,"segments":{},"mac":"x"}', JSON.stringify({ version: 2 })]) {
      fs.writeFileSync(file, junk);
      expect(check(dir).reused).toBe(0);
    }
    // Authentic segments and MAC, but a version this build does not know, or a MAC that is not a string: not believed.
    check(dir);
    const good = fs.readFileSync(file, 'utf8');
    expect(loadVerifiedSegments(nodeStorage, dir, key).size).toBe(segmentsOf(dir).length - 1);
    for (const edit of [(d: { version: unknown }) => void (d.version = 2), (d: { mac: unknown }) => void (d.mac = [d.mac])]) {
      const d = JSON.parse(good);
      edit(d);
      fs.writeFileSync(file, JSON.stringify(d));
      expect(loadVerifiedSegments(nodeStorage, dir, key).size).toBe(0);
    }
  });

  it('a segment replaced by other bytes under the same name (a restored copy) is read again record by record', () => {
    const dir = copyJournal('replaced');
    check(dir);
    const seg = segmentsOf(dir)[1]!;
    const victim = records(dir).find((r) => r.type === 'auth.intent' && r.segment === seg)!;
    forgeAmount(dir, victim);
    expect(() => check(dir)).toThrow(`record MAC mismatch`);
  });

  it('a full disk only costs the cache: the check passes and says why it was not saved', () => {
    const dir = copyJournal('full-disk');
    const full: Storage = {
      ...nodeStorage,
      open: (p, mode) => {
        if (mode === 'create') throw Object.assign(new Error(`ENOSPC: no space left on device, open '${p}'`), { code: 'ENOSPC' });
        return nodeStorage.open(p, mode);
      },
    };
    const r = refuseDamagedJournal(dir, { deviceKey: key, types, storage: full });
    expect(r).toMatchObject({ reused: 0, saveError: `ENOSPC ENOSPC: no space left on device, open '${path.join(dir, `${VERIFIED_FILE}.tmp`)}'` });
    expect(fs.existsSync(path.join(dir, VERIFIED_FILE))).toBe(false);
    // An error without a code is given by its message alone.
    const gone: Storage = { ...nodeStorage, open: (p, mode) => (mode === 'create' ? (() => { throw new Error('disk gone'); })() : nodeStorage.open(p, mode)) };
    expect(refuseDamagedJournal(dir, { deviceKey: key, types, storage: gone }).saveError).toBe('disk gone');
  });

  it('`verified` is the JOURNAL_FORMAT §9.1 document: HMAC-SHA256 under HMAC(device key, "pos-journal verified segments v1"); a crash’s leftover temp file is replaced', () => {
    const dir = copyJournal('format');
    fs.writeFileSync(path.join(dir, `${VERIFIED_FILE}.tmp`), 'half a file from a power cut');
    check(dir);
    expect(fs.existsSync(path.join(dir, `${VERIFIED_FILE}.tmp`))).toBe(false);
    const doc = JSON.parse(fs.readFileSync(path.join(dir, VERIFIED_FILE), 'utf8'));
    const fileKey = crypto.createHmac('sha256', key).update('pos-journal verified segments v1').digest();
    expect(doc.version).toBe(1);
    expect(doc.mac).toBe(crypto.createHmac('sha256', fileKey).update(JSON.stringify(doc.segments)).digest('base64url'));
    expect(doc.segments.map((x: { name: string }) => x.name)).toEqual(segmentsOf(dir).slice(0, -1));
  });

  it('an authentic `verified` of another version, or whose segments are not a list, buys nothing', () => {
    const dir = copyJournal('other-version');
    check(dir);
    const file = path.join(dir, VERIFIED_FILE);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const fileKey = crypto.createHmac('sha256', key).update('pos-journal verified segments v1').digest();
    const signed = (segments: unknown, version: number) => JSON.stringify({ version, segments, mac: crypto.createHmac('sha256', fileKey).update(JSON.stringify(segments)).digest('base64url') });
    fs.writeFileSync(file, signed(doc.segments, 1));
    expect(loadVerifiedSegments(nodeStorage, dir, key).size).toBe(doc.segments.length);
    fs.writeFileSync(file, signed(doc.segments, 2));
    expect(loadVerifiedSegments(nodeStorage, dir, key).size).toBe(0);
    fs.writeFileSync(file, signed(Object.fromEntries(doc.segments.map((x: { name: string }) => [x.name, x])), 1));
    expect(loadVerifiedSegments(nodeStorage, dir, key).size).toBe(0);
  });

  it('an authentic entry that no longer matches its segment: the segment is read again and the file corrected, so the next boot reuses it', () => {
    const dir = copyJournal('stale-entry');
    check(dir);
    const file = path.join(dir, VERIFIED_FILE);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const right = doc.segments[1].sha256;
    doc.segments[1].sha256 = right.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A'));
    const fileKey = crypto.createHmac('sha256', key).update('pos-journal verified segments v1').digest();
    doc.mac = crypto.createHmac('sha256', fileKey).update(JSON.stringify(doc.segments)).digest('base64url');
    fs.writeFileSync(file, JSON.stringify(doc));
    const older = segmentsOf(dir).length - 1;
    // Same number of segments passed as the file names, one of them not reused: the file is written again.
    expect(check(dir)).toEqual({ segments: older + 1, reused: older - 1 });
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).segments[1].sha256).toBe(right);
    expect(check(dir)).toEqual({ segments: older + 1, reused: older });
  });
});
