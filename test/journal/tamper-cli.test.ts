// `posj journal verify` on the forgeries of tamper.test.ts: the built CLI in a child process, so its exit
// code (3 tampered or corrupt, 0 clean) and words are what scripts and field engineers see. Not in the
// mutation run (vitest.mutate.config.ts): the child runs the unmutated dist/ build.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { copyTemplate, segmentsOf, writeTemplateJournal } from '../helpers/journal-template.js';
import { editAmount, removeSegment, retainThenSell, swapRecords } from '../helpers/journal-tampering.js';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');

let root: string;
let template: string;
let key: Buffer;

const copyJournal = (name: string): string => copyTemplate(template, root, name);

function posjVerify(dir: string, ...extra: string[]): { code: number | null; stdout: string; json: any } {
  const r = spawnSync(process.execPath, [POSJ, 'journal', 'verify', dir, ...extra], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, json: extra.includes('--json') ? JSON.parse(r.stdout) : null };
}

beforeAll(async () => {
  if (!fs.existsSync(POSJ)) throw new Error(`${POSJ} is missing: run \`npm run build\` first (npm test does)`);
  root = tmpDir('jtampercli');
  template = path.join(root, 'template');
  key = await writeTemplateJournal(template);
});

describe('posj journal verify on a forged journal', () => {
  it('an edited amount: exit 3 naming the record; without the key file, exit 0 and a warning that the chain went unchecked', () => {
    const dir = copyJournal('edit');
    const victim = editAmount(dir);
    const keyed = posjVerify(dir);
    expect(keyed.code).toBe(3);
    expect(keyed.stdout).toContain(`TAMPERED: segment ${victim.segment} offset ${victim.offset} seq ${victim.seq}: record MAC mismatch`);
    fs.renameSync(`${dir}.key`, `${dir}.key.away`);
    const keyless = posjVerify(dir);
    expect(keyless.code).toBe(0);
    expect(keyless.stdout).toMatch(/\nwarning: no device key at .*; MAC chain not checked\nok\n$/);
  });

  it('two records swapped: exit 3', () => {
    const dir = copyJournal('swap');
    const { segment, first } = swapRecords(dir);
    expect(posjVerify(dir, '--json')).toMatchObject({ code: 3, json: { tampered: { segment, offset: first.offset } } });
  });

  it('a deleted middle segment: exit 3, corrupt at the gap', () => {
    const dir = copyJournal('hole');
    const segs = removeSegment(dir, 2);
    expect(posjVerify(dir, '--json')).toMatchObject({ code: 3, json: { corrupt: { segment: segs[2], offset: 0 } } });
  });

  it('a deleted oldest segment without a retention record: exit 3', () => {
    const dir = copyJournal('behead');
    const segs = removeSegment(dir, 0);
    expect(posjVerify(dir, '--json')).toMatchObject({ code: 3, json: { tampered: { segment: segs[1], offset: 0 } } });
  });

  it('after a real retain (archive): exit 0; one more segment removed: exit 3', async () => {
    const dir = copyJournal('retain');
    // Enough sales after it to leave more than the newest segment (~80 a segment).
    await retainThenSell(dir, key, 200);
    expect(segmentsOf(dir).length).toBeGreaterThanOrEqual(2);
    expect(posjVerify(dir).code).toBe(0);
    removeSegment(dir, 0);
    expect(posjVerify(dir).code).toBe(3);
  });

  it('--key-file with the wrong key: exit 3 at the first header MAC', () => {
    const dir = copyJournal('wrongkey');
    const other = path.join(root, 'other.key');
    fs.writeFileSync(other, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    expect(posjVerify(dir, '--json', '--key-file', other)).toMatchObject({ code: 3, json: { tampered: { segment: segmentsOf(dir)[0], offset: 40 } } });
  });
});
