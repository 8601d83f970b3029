// Tamper evidence: someone with the files but not the device key edits, reorders or removes history and
// keeps every CRC valid. The CRC alone cannot see it; the MAC chain under the device key must. In-process,
// so `npm run mutate` runs it against the mutated journal; tamper-cli.test.ts has the CLI's exit codes on
// the same forgeries.
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { verifyJournal } from '../../firmware-ts/journal/verify.js';
import { JournalCorruptionError } from '../../firmware-ts/journal/errors.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { copyTemplate, segmentsOf, writeTemplateJournal, TEMPLATE_SEGMENT_BYTES } from '../helpers/journal-template.js';
import { editAmount, removeSegment, retainThenSell, swapRecords, tamperTypes as types } from '../helpers/journal-tampering.js';
import { propertyRuns } from '../property-runs.js';
import { tmpDir } from '../helpers/tmp.js';

let root: string;
let template: string;
let key: Buffer;

const copyJournal = (name: string): string => copyTemplate(template, root, name);

beforeAll(async () => {
  root = tmpDir('jtamper');
  template = path.join(root, 'template');
  key = await writeTemplateJournal(template);
});

describe('tamper evidence', () => {
  it('an edited amount with a recomputed CRC passes the CRC check but not the chain', () => {
    const dir = copyJournal('edit');
    const victim = editAmount(dir);
    // Without the key only the CRCs can be vouched for, and the report says so.
    expect(verifyJournal(dir, { types })).toMatchObject({ corrupt: null, tampered: null, chainChecked: false });
    const keyed = verifyJournal(dir, { types, deviceKey: key });
    expect(keyed).toMatchObject({ corrupt: null, chainChecked: true });
    expect(keyed.tampered).toMatchObject({ segment: victim.segment, offset: victim.offset, seq: victim.seq });
  });

  it('two records of equal length swapped (seqs and CRCs fixed up) are caught', () => {
    const dir = copyJournal('swap');
    const { segment, first } = swapRecords(dir);
    expect(verifyJournal(dir, { types })).toMatchObject({ corrupt: null, tampered: null });
    expect(verifyJournal(dir, { types, deviceKey: key }).tampered).toMatchObject({ segment, offset: first.offset, seq: first.seq });
  });

  it('a deleted middle segment is reported', () => {
    const dir = copyJournal('hole');
    const segs = removeSegment(dir, 2);
    const r = verifyJournal(dir, { types, deviceKey: key });
    expect(r.corrupt).toMatchObject({ segment: segs[2], offset: 0 });
    expect(r.corrupt!.reason).toMatch(/^segment is missing: seq \d+\.\.\d+ is in no segment \(a gap between segments\)$/);
  });

  it('open refuses a deleted middle segment with the words verify uses', async () => {
    const dir = copyJournal('hole-open');
    const segs = removeSegment(dir, 2);
    const r = verifyJournal(dir, { types, deviceKey: key });
    await expect(openTerminalJournal({ dir, deviceKey: key, segmentBytes: TEMPLATE_SEGMENT_BYTES })).rejects.toThrow(`journal corrupt in segment ${segs[2]} at offset 0: ${r.corrupt!.reason}`);
  });

  it('a deleted oldest segment without a retention record is reported', () => {
    const dir = copyJournal('behead');
    const segs = removeSegment(dir, 0);
    const keyed = verifyJournal(dir, { types, deviceKey: key });
    expect(keyed.tampered).toMatchObject({ segment: segs[1], offset: 0 });
    expect(keyed.tampered!.reason).toMatch(/missing and no retention record retired it/);
    expect(verifyJournal(dir, { types }).corrupt).toMatchObject({ segment: segs[1] });
  });

  it('after a real retain (archive) verify is clean, the archive holds the old segments, and history cut beyond it is still caught', async () => {
    const dir = copyJournal('retain');
    const segs = segmentsOf(dir);
    // Fewer sales under `npm run mutate`, never so few that only the newest segment is left (~80 a segment).
    const report = await retainThenSell(dir, key, Math.max(200, propertyRuns(1100)));
    expect(segmentsOf(dir).length).toBeGreaterThanOrEqual(2);
    expect(report).not.toBeNull();
    expect(report!.segments.length).toBeGreaterThan(0);
    expect(report!.segments).toEqual(segs.slice(0, report!.segments.length));
    expect(fs.readdirSync(path.join(dir, 'archive')).sort()).toEqual(report!.segments);
    for (const s of report!.segments) expect(fs.readFileSync(path.join(dir, 'archive', s)).equals(fs.readFileSync(path.join(template, s)))).toBe(true);

    const v = verifyJournal(dir, { types, deviceKey: key });
    expect(v).toMatchObject({ corrupt: null, tampered: null, chainChecked: true, retainedThroughSeq: report!.throughSeq });
    // The retention record covers only what it retired: removing one more segment is still tampering.
    removeSegment(dir, 0);
    expect(verifyJournal(dir, { types, deviceKey: key }).tampered?.reason).toMatch(/no retention record retired it/);
  });

  it('a wrong device key shows as a header MAC mismatch, and open refuses it', async () => {
    const dir = copyJournal('wrongkey');
    const other = randomBytes(32);
    const r = verifyJournal(dir, { types, deviceKey: other });
    expect(r.tampered).toMatchObject({ segment: segmentsOf(dir)[0], offset: 40 });
    expect(r.tampered!.reason).toMatch(/header MAC mismatch/);
    const err = await openTerminalJournal({ dir, deviceKey: other, segmentBytes: TEMPLATE_SEGMENT_BYTES }).catch((e) => e);
    expect(err).toBeInstanceOf(JournalCorruptionError);
    expect(err).toMatchObject({ offset: 40 });
    // The refused open changed nothing and left no lock behind.
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    expect(verifyJournal(dir, { types, deviceKey: key })).toMatchObject({ corrupt: null, tampered: null });
  });
});
