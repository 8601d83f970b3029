// The journal CLI as scripts and field engineers use it: the built `posj` in a child process, real files,
// real exit codes. Damage is made by hand at offsets taken from `posj journal ls --json`.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { tmpDir } from '../helpers/tmp.js';
import { readDeviceKey } from '../../firmware-ts/journal/device-key.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import type { Storage } from '../../firmware-ts/io/storage.js';
import { repairJournal } from '../../firmware-ts/journal/repair.js';
import { terminalSalvage } from '../../firmware-ts/txn/terminal-salvage.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const PROBE = path.resolve('dist/firmware-ts/journal/crash-probe.js');
const SEG = '65536';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
interface Listed {
  seq: number;
  type: string;
  segment: string;
  offset: number;
  payload: Record<string, unknown>;
}

function posj(...args: string[]): Run {
  const r = spawnSync(process.execPath, [POSJ, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function posjJson(...args: string[]): { code: number | null; json: any } {
  const r = posj(...args, '--json');
  try {
    return { code: r.code, json: JSON.parse(r.stdout) };
  } catch {
    throw new Error(`posj ${args.join(' ')} --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

function records(dir: string): Listed[] {
  const { code, json } = posjJson('journal', 'ls', dir, '--limit', '1000000');
  expect(code).toBe(0);
  return json.records as Listed[];
}

/** The size a segment's header declares (bytes 12..16): the configured size, or larger when its checkpoint needed room. */
const declaredBytes = (file: string) => fs.readFileSync(file).readUInt32LE(12);

const segmentsOf = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();

function flipByte(file: string, at: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0] = b[0]! ^ 0x20;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
}

/** sha256 of every file under dir, by relative path: "byte-identical" in one comparable value. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}

let template: string;
let root: string;

/** A private copy of the filled template journal (and its key file beside it). */
function copyJournal(name: string): string {
  const dir = path.join(root, name);
  fs.cpSync(template, dir, { recursive: true });
  fs.copyFileSync(`${template}.key`, `${dir}.key`);
  return dir;
}

/** A record in the middle of `segment` with durable records after it (so damage there is not a torn tail). */
function middleRecord(dir: string, segment: string): Listed {
  const inSeg = records(dir).filter((r) => r.segment === segment && r.type !== 'journal.checkpoint');
  expect(inSeg.length).toBeGreaterThan(10);
  return inSeg[Math.floor(inSeg.length / 2)]!;
}

beforeAll(() => {
  if (!fs.existsSync(POSJ)) throw new Error(`${POSJ} is missing: run \`npm run build\` first (npm test does)`);
  root = tmpDir('jcli');
  template = path.join(root, 'template');
  const r = posjJson('journal', 'fill', template, '--records', '1200', '--segment-bytes', SEG);
  expect(r.code).toBe(0);
  expect(r.json.segments).toBeGreaterThanOrEqual(5);
});

describe('posj journal verify on damaged journals', () => {
  it('a flipped byte mid-way through the newest segment: exit 3 naming that record', () => {
    const dir = copyJournal('flip-newest');
    const newest = segmentsOf(dir).at(-1)!;
    const victim = middleRecord(dir, newest);
    flipByte(path.join(dir, newest), victim.offset + 48 + 10);
    const { code, json } = posjJson('journal', 'verify', dir);
    expect(code).toBe(3);
    expect(json.corrupt).toMatchObject({ segment: newest, offset: victim.offset });
    expect(json.tornTailBytes).toBe(0);
    const human = posj('journal', 'verify', dir);
    expect(human.code).toBe(3);
    expect(human.stdout).toContain(`CORRUPT: segment ${newest} offset ${victim.offset}`);
  });

  it('a flipped byte in an old segment: exit 3 naming that segment and record', () => {
    const dir = copyJournal('flip-old');
    const old = segmentsOf(dir)[1]!;
    const victim = middleRecord(dir, old);
    flipByte(path.join(dir, old), victim.offset + 48 + 3);
    const { code, json } = posjJson('journal', 'verify', dir);
    expect(code).toBe(3);
    expect(json.corrupt).toMatchObject({ segment: old, offset: victim.offset });
    expect(json.corrupt.reason).toMatch(/older segment/);
  });

  it('the newest segment torn mid-record: exit 0, the partial record counted as torn, and open cuts it', () => {
    const dir = copyJournal('torn');
    const newest = segmentsOf(dir).at(-1)!;
    const last = records(dir).at(-1)!;
    expect(last.segment).toBe(newest);
    // The header and part of the payload of the last record survive, the rest never reached the disk.
    const partial = 48 + Math.min(40, JSON.stringify(last.payload).length - 1);
    const file = path.join(dir, newest);
    const image = fs.readFileSync(file);
    image.fill(0, last.offset + partial);
    fs.writeFileSync(file, image);
    const { code, json } = posjJson('journal', 'verify', dir);
    expect(code).toBe(0);
    expect(json.corrupt).toBeNull();
    expect(json.tornTailBytes).toBe(partial);
    expect(json.tornTail).toMatchObject({ segment: newest, offset: last.offset });
    expect(json.lastSeq).toBe(last.seq - 1);
    expect(posj('journal', 'verify', dir).stdout).toMatch(new RegExp(`torn tail: ${partial} bytes.*\\nok \\(torn tail only\\)`));

    // The next writer cuts the tail and takes over the lost seq; the segment is whole again.
    expect(posj('journal', 'fill', dir, '--records', '5', '--segment-bytes', SEG).code).toBe(0);
    const after = posjJson('journal', 'verify', dir);
    expect(after.code).toBe(0);
    expect(after.json).toMatchObject({ tornTailBytes: 0, corrupt: null, tampered: null, lastSeq: last.seq + 4 });
    expect(fs.statSync(path.join(dir, newest)).size).toBe(declaredBytes(path.join(dir, newest)));
  });
});

describe('posj journal verify on a truncated newest segment', () => {
  it('is corrupt (exit 3), never ok, and the daemon-side open refuses it with the same words', async () => {
    const dir = copyJournal('truncated');
    const newest = segmentsOf(dir).at(-1)!;
    const last = records(dir).at(-1)!;
    const declared = declaredBytes(path.join(dir, newest));
    const cut = last.offset + 48 + Math.min(40, JSON.stringify(last.payload).length - 1);
    fs.truncateSync(path.join(dir, newest), cut);
    const { code, json } = posjJson('journal', 'verify', dir);
    expect(code).toBe(3);
    const reason = `segment file is ${cut} bytes but its header declares ${declared}: truncated`;
    expect(json.corrupt).toEqual({ segment: newest, offset: cut, reason });
    expect(posj('journal', 'verify', dir).stdout).toContain(`CORRUPT: segment ${newest} offset ${cut}: ${reason}`);
    const key = readDeviceKey(`${path.resolve(dir)}.key`)!;
    await expect(openTerminalJournal({ dir, deviceKey: key })).rejects.toThrow(`journal corrupt in segment ${newest} at offset ${cut}: ${reason}`);
  });
});

describe('posj journal repair', () => {
  it('without the flag changes nothing and exits 1 with a plan', () => {
    const dir = copyJournal('repair-dry');
    const newest = segmentsOf(dir).at(-1)!;
    const victim = middleRecord(dir, newest);
    flipByte(path.join(dir, newest), victim.offset + 60);
    const before = snapshot(dir);
    const r = posj('journal', 'repair', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`damage: segment ${newest} offset ${victim.offset}: record checksum mismatch`);
    expect(r.stdout).toContain(`would move ${newest} from offset ${victim.offset} (seq ${victim.seq} on)`);
    expect(r.stdout).toMatch(/\nSTAN +before \d+ +evidenced \d+ +after \d+\nbatch +before \d+ +evidenced \d+ +after \d+\nobligations kept: reversals owed /);
    expect(r.stdout).toContain('--yes-move-damaged');
    const j = posjJson('journal', 'repair', dir);
    expect(j.code).toBe(1);
    expect(j.json).toMatchObject({ applied: false, plan: { segment: newest, offset: victim.offset, segmentsMoved: [] } });
    expect(snapshot(dir)).toEqual(before);
  });

  it('with --yes-move-damaged moves the damage aside (kept on disk); then verify is clean and fill works', () => {
    const dir = copyJournal('repair-old');
    const segs = segmentsOf(dir);
    const old = segs[2]!;
    const victim = middleRecord(dir, old);
    flipByte(path.join(dir, old), victim.offset + 50);
    const damagedImage = fs.readFileSync(path.join(dir, old));
    const later = segs.slice(3).map((s) => [s, fs.readFileSync(path.join(dir, s))] as const);

    const { code, json } = posjJson('journal', 'repair', dir, '--yes-move-damaged');
    expect(code).toBe(0);
    expect(json.applied).toBe(true);
    const moved = json.plan.movedTo as string;
    expect(path.basename(moved)).toBe(`damaged-${old.replace(/\.wal$/, '')}-at-${victim.offset}`);
    // Nothing is lost: the damaged bytes and every later segment are under damaged-*, unchanged.
    expect(fs.readFileSync(path.join(moved, `${old}.from-${victim.offset}.bin`)).equals(damagedImage.subarray(victim.offset))).toBe(true);
    for (const [name, bytes] of later) expect(fs.readFileSync(path.join(moved, name)).equals(bytes)).toBe(true);
    // The first three stay; what the open batch still needs from the moved ones is written again after them.
    expect(segmentsOf(dir).slice(0, 3)).toEqual(segs.slice(0, 3));
    expect(json.plan.recordsReappended).toBeGreaterThan(0);

    const v = posjJson('journal', 'verify', dir);
    expect(v.code).toBe(0);
    expect(v.json).toMatchObject({ corrupt: null, tampered: null, tornTailBytes: 0 });
    expect(v.json.recordTypes['journal.repair']).toBe(1);
    // STAN moved past everything evidenced, the damaged part included, plus the margin.
    const stat = posjJson('journal', 'stat', dir);
    expect(stat.code).toBe(0);
    expect(stat.json.state.stan).toBe(json.plan.stan.after);
    expect(json.plan.stan.after).toBeGreaterThan(json.plan.stan.evidenced + 100);
    expect(json.plan.stan.evidenced).toBeGreaterThanOrEqual(Math.max(...records(template).filter((x) => x.type === 'auth.intent').map((x) => Number(x.payload.stan))));
    expect(posj('journal', 'fill', dir, '--records', '300', '--segment-bytes', SEG).code).toBe(0);
    const v2 = posjJson('journal', 'verify', dir);
    expect(v2.code).toBe(0);
    expect(v2.json).toMatchObject({ corrupt: null, tampered: null, lastSeq: v.json.lastSeq + 300 });
  });
});

describe('posj journal repair cut off part-way', () => {
  it('verify and stat exit 3 naming it, the daemon-side open refuses, and the next repair finishes it as planned', async () => {
    const dir = copyJournal('repair-cut');
    const segs = segmentsOf(dir);
    const victim = middleRecord(dir, segs[1]!);
    flipByte(path.join(dir, segs[1]!), victim.offset + 50);
    const key = readDeviceKey(`${dir}.key`)!;
    const planned = posjJson('journal', 'repair', dir);
    expect(planned.json.plan.segmentsMoved.length).toBeGreaterThan(2);
    // The process dies (here: a throw) after the second segment went aside, before anything was written back.
    const dying: Storage = Object.create(nodeStorage) as Storage;
    let moved = 0;
    dying.rename = (from, to) => {
      if (to.includes(`${path.sep}damaged-`) && ++moved === 2) throw new Error('power cut');
      nodeStorage.rename(from, to);
    };
    await expect(repairJournal(dir, { storage: dying, deviceKey: key, confirm: true, policy: terminalSalvage, now: () => new Date().toISOString() })).rejects.toThrow('power cut');

    const v = posjJson('journal', 'verify', dir);
    expect([v.code, v.json.repairUnfinished]).toEqual([3, true]);
    expect(posj('journal', 'verify', dir).stdout).toContain(`REPAIR UNFINISHED: a repair of ${dir} was interrupted`);
    const st = posjJson('journal', 'stat', dir);
    expect([st.code, st.json.repairUnfinished, st.json.state]).toEqual([3, true, null]);
    await expect(openTerminalJournal({ dir, deviceKey: key })).rejects.toMatchObject({ code: 'REPAIR_UNFINISHED' });

    const dry = posj('journal', 'repair', dir);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('was interrupted after it began; it is to be finished as it was planned');
    const done = posjJson('journal', 'repair', dir, '--yes-move-damaged');
    expect(done.code).toBe(0);
    expect(done.json).toMatchObject({ applied: true, resumed: true, plan: planned.json.plan });
    const after = posjJson('journal', 'verify', dir);
    expect([after.code, after.json.repairUnfinished, after.json.recordTypes['journal.repair']]).toEqual([0, false, 1]);
    expect(posjJson('journal', 'stat', dir).json.state.stan).toBe(planned.json.plan.stan.after);
    expect(posj('journal', 'repair', dir).stdout).toContain('nothing to repair');
  });
});

describe('posj journal ls / show / stat', () => {
  it('lists, shows and summarises in human and JSON form', () => {
    const dir = template;
    const all = records(dir);
    const verify = posjJson('journal', 'verify', dir).json;
    expect(all.length).toBe(verify.records);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all[0]).toMatchObject({ seq: 1, type: 'journal.checkpoint', segment: 'seg-0000000000000001.wal', offset: 512 });

    const ls = posj('journal', 'ls', dir, '--limit', '5');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^\s+2\s+auth\.intent\s+stan=1 kind=sale amount=\d+ maskedPan=\d{6}\*{6}\d{4}/m);
    expect(ls.stdout).toContain(`(5 of ${all.length} records)`);
    const intents = posjJson('journal', 'ls', dir, '--type', 'auth.intent', '--from', '100', '--limit', '4').json.records as Listed[];
    expect(intents.map((r) => r.type)).toEqual(Array(4).fill('auth.intent'));
    expect(intents[0]!.seq).toBeGreaterThanOrEqual(100);

    const show = posjJson('journal', 'show', dir, '--seq', '2');
    expect(show.code).toBe(0);
    expect(show.json).toMatchObject({ seq: 2, type: 'auth.intent', version: 1, offset: all[1]!.offset });
    expect(show.json.payload.maskedPan).toMatch(/^\d{6}\*+\d{4}$/);
    expect(posj('journal', 'show', dir, '--seq', '2').stdout).toMatch(/^seq 2 {2}auth\.intent v1 {2}\(seg-0+1\.wal @ \d+\)\n\{/);
    const missing = posj('journal', 'show', dir, '--seq', '99999999');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no record with seq 99999999');

    const stat = posjJson('journal', 'stat', dir);
    expect(stat.code).toBe(0);
    const lastIntent = all.filter((r) => r.type === 'auth.intent').at(-1)!;
    expect(stat.json).toMatchObject({ records: all.length, segments: segmentsOf(dir).length, corrupt: null, tampered: null });
    expect(stat.json.state.stan).toBe(lastIntent.payload.stan);
    expect(stat.json.recordTypes['journal.checkpoint']).toBe(segmentsOf(dir).length);
    const human = posj('journal', 'stat', dir);
    expect(human.stdout).toContain(`STAN ${lastIntent.payload.stan}`);
    expect(human.stdout).toMatch(/batch totals: sales \d+/);
  });
});

describe('posj usage and locking', () => {
  it('a second writer gets "journal is locked by pid N" and exit 4; a dead holder\'s lock is taken over', async () => {
    const dir = copyJournal('locked');
    const child = spawn(process.execPath, [PROBE, dir, `${dir}.key`, SEG, '7'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (/^open /m.test(out)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`crash probe exited ${code} before opening`)));
      });
      for (const args of [['fill', dir, '--records', '5'], ['repair', dir], ['retain', dir]]) {
        const r = posj('journal', ...args);
        expect(r.code, `journal ${args[0]}`).toBe(4);
        expect(r.stderr).toContain(`journal is locked by pid ${child.pid}`);
      }
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
    // SIGKILL left LOCK behind with a dead pid: the next writer takes it over, after cutting any torn tail.
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(true);
    expect(posj('journal', 'fill', dir, '--records', '5', '--segment-bytes', SEG).code).toBe(0);
    expect(posj('journal', 'verify', dir).code).toBe(0);
  });

  it('a missing directory is a usage error (exit 2), in human and JSON form', () => {
    const dir = path.join(root, 'no-such-journal');
    for (const cmd of ['verify', 'ls', 'stat', 'repair']) {
      const r = posj('journal', cmd, dir);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toContain(`no journal here: ${dir}`);
    }
    const j = posjJson('journal', 'verify', dir);
    expect(j.code).toBe(2);
    expect(j.json.error.code).toBe('NO_JOURNAL');
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a directory without segments is no journal (exit 2), never "ok"', () => {
    const dir = path.join(root, 'empty-dir');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a segment');
    for (const cmd of ['verify', 'stat', 'ls', 'repair', 'retain']) {
      const r = posj('journal', cmd, dir);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toContain(`no journal here: ${dir} holds no journal segments`);
    }
  });

  it('stat exits 3 on TAMPERED as on CORRUPT', () => {
    const dir = copyJournal('stat-tampered');
    const seg = segmentsOf(dir)[1]!;
    const victim = middleRecord(dir, seg);
    // Rewrite the payload and its CRC: the CRC is happy, only the MAC chain shows it.
    const file = path.join(dir, seg);
    const img = fs.readFileSync(file);
    img[victim.offset + 48 + 2] = img[victim.offset + 48 + 2]! ^ 0x01;
    const length = img.readUInt32LE(victim.offset + 4);
    img.writeUInt32LE(zlib.crc32(img.subarray(victim.offset + 4, victim.offset + 48 + length)) >>> 0, victim.offset);
    fs.writeFileSync(file, img);
    const stat = posjJson('journal', 'stat', dir);
    expect(stat.json.tampered).toMatchObject({ segment: seg, seq: victim.seq });
    expect(stat.code).toBe(3);
    expect(posj('journal', 'stat', dir).stdout).toContain(`TAMPERED: segment ${seg}`);
  });

  it('a missing device key for an existing journal is refused, and nothing is written', () => {
    const dir = copyJournal('no-key');
    fs.rmSync(`${dir}.key`);
    const before = snapshot(dir);
    const r = posj('journal', 'fill', dir, '--records', '5');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`device key missing for an existing journal: ${path.resolve(dir)}.key`);
    expect(fs.existsSync(`${dir}.key`)).toBe(false);
    expect(snapshot(dir)).toEqual(before);
  });

  it('--help works; bad usage exits 2', () => {
    const top = posj('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('journal');
    const verify = posj('journal', 'verify', '--help');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/Usage: posj journal verify \[options\] <dir>/);
    expect(verify.stdout).toContain('--json');
    expect(posj('journal', 'fill', path.join(root, 'x'), '--records', 'many').code).toBe(2);
    expect(posj('journal', 'verify').code).toBe(2);
  });
});
