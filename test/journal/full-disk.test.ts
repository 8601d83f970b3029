// A full disk, for real: a 2 MiB tmpfs the test mounts itself (root; .ci/run runs as root). No mount, no
// pass: the test fails and says why instead of skipping. The terminal's journal lives there with a budget
// and a reserve; a reversal gets stuck, the disk is filled to the last byte, and then: the terminal
// restarts on the full disk, keeps journaling its reversal attempts (a new segment included), sends the
// reversal when the host answers, and retention frees space by itself. Refused sales write nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { Settlement } from '../../firmware-ts/txn/settlement.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import { ID } from '../acquirer/harness.js';
import { EngineRig, HOST_IGNORES_REVERSALS } from '../txn/engine-rig.js';
import { tmpDir } from '../helpers/tmp.js';

let mount: string;

beforeAll(() => {
  mount = tmpDir('fulldisk');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mount], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot mount a 2 MiB tmpfs at ${mount} (${(r.stderr || r.error?.message || '').trim()}): this test needs root with CAP_SYS_ADMIN, as .ci/run has`);
});

afterAll(() => {
  if (!mount) return;
  // A test that failed may leave a file open on it (EBUSY): detach it lazily then, so no tmpfs is left mounted.
  if (spawnSync('umount', [mount]).status !== 0) spawnSync('umount', ['-l', mount]);
});

/** Fills the filesystem to the last byte; returns the filler's path. */
function fillDisk(name: string): string {
  const p = path.join(mount, name);
  const fd = fs.openSync(p, 'a');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
  return p;
}

const free = () => {
  const s = fs.statfsSync(mount);
  return s.bavail * s.bsize;
};

describe('a full disk', () => {
  it('never stops the terminal from booting or from journaling and sending an owed reversal', async () => {
    const dir = path.join(mount, 'journal');
    const journal = { dir, storage: nodeStorage, space: { budgetBytes: 512 * 1024, reserveBytes: 256 * 1024, retention: 'delete' as const } };
    const rig = new EngineRig();
    let engine = await rig.start({ journal });
    expect((await rig.run(engine.boot())).signedOn).toBe(true);
    expect(rig.journal.diskUsage().reserve).toEqual({ bytes: 256 * 1024, state: 'held' });
    for (let i = 0; i < 300; i++) expect(await rig.run(engine.sale(500 + i))).toMatchObject({ kind: 'approved' });
    const settlement = new Settlement({ journal: rig.journal, link: rig.link, clock: rig.clock, identity: ID, storage: nodeStorage });
    expect(await rig.run(settlement.settle())).toMatchObject({ balanced: true });
    // Automatic retention kept the journal near its budget while the sales went in: within one segment of it
    // (a segment is larger than configured when its checkpoint, which carries the open batch, needs room).
    const largestSegment = Math.max(...rig.journal.segmentNames().map((n) => fs.statSync(path.join(dir, n)).size));
    expect(rig.journal.diskUsage().bytes).toBeLessThanOrEqual(512 * 1024 + largestSegment);
    expect(readTerminalRecords(rig.journal, nodeStorage).length).toBeGreaterThan(0);

    // The host debits and its reply is lost; it then answers every reversal 96 (did not act), so the reversal
    // is owed and gets stuck. (An attempt that never left the terminal is not counted, so an unplugged network
    // alone never makes a reversal stuck.)
    rig.loseReplyAndIgnoreReversals(9_999);
    const lost = await rig.run(engine.sale(9_999));
    expect(lost).toMatchObject({ kind: 'reversed', reversal: 'stuck' });
    const stan = lost.kind === 'reversed' ? lost.stan : 0;
    // Refused sales while it is stuck write nothing.
    const seqBefore = rig.journal.nextSeq;
    for (let i = 0; i < 50; i++) expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'refused', reason: 'reversal-stuck' });
    expect(rig.journal.nextSeq).toBe(seqBefore);

    // The disk fills up to the last byte; the terminal restarts on it.
    fillDisk('filler-1');
    expect(free()).toBeLessThan(4096);
    // The host still does not act on reversals (96): every attempt is journaled, none clears.
    rig.host.rules = { ...rig.host.rules, rules: [...HOST_IGNORES_REVERSALS] };
    await engine.stop();
    await rig.journal.close();
    engine = await rig.start({ journal });
    await rig.run(engine.boot());
    expect(Object.keys(rig.journal.state.reversals)).toEqual([String(stan)]);

    // Reversal attempts keep being journaled on the full disk, through a new segment too.
    const segmentsBefore = rig.journal.segmentNames().at(-1);
    const attemptsBefore = rig.journal.state.reversals[String(stan)]!.attempts;
    for (let i = 0; i < 200 && rig.journal.segmentNames().at(-1) === segmentsBefore; i++) await rig.idle(15 * 60_000, 60_000);
    expect(rig.journal.segmentNames().at(-1)).not.toBe(segmentsBefore);
    expect(rig.journal.failed).toBeNull();
    // The new segment's blocks came from the reserve.
    expect(rig.journal.diskUsage().reserve?.state).toBe('released');
    expect(rig.journal.state.reversals[String(stan)]!.attempts).toBeGreaterThan(attemptsBefore);
    // That rotation ran retention past the budget: old segments deleted, space given back, journaled.
    expect(readTerminalRecords(rig.journal, nodeStorage).length).toBeGreaterThan(0);
    expect(free()).toBeGreaterThan(64 * 1024);

    // The host answers: the reversal is sent, applied once, and its clearing journaled.
    rig.host.rules = { ...rig.host.rules, rules: [] };
    await rig.idle(30 * 60_000, 10_000);
    expect(rig.journal.state.reversals).toEqual({});
    expect(rig.ledger('reversal')).toHaveLength(1);
    expect(readTerminalRecords(rig.journal, nodeStorage).some((r) => r.type === TerminalRecord.reversalCleared.name && (r.payload as { stan: number }).stan === stan)).toBe(true);

    // Filled again with nothing left to release: the next segment cannot be made, and the error names the path.
    fillDisk('filler-2');
    let failure: unknown = null;
    for (let i = 0; i < 400 && failure === null; i++) await rig.run(engine.signOn()).catch((e: unknown) => (failure = e));
    expect(failure).not.toBeNull();
    expect(String((failure as Error).message)).toMatch(new RegExp(`ENOSPC.*'${dir}/`));
    expect(String((failure as Error).message)).toMatch(/restart the daemon/);
    expect(rig.journal.diskUsage().failed).toMatch(/ENOSPC/);
    await engine.stop();
    await rig.journal.close();
  }, 180_000);

  it('with no reserve left: a segment cut short by ENOSPC gives its blocks back at once, the next open on the full disk takes its LOCK, and a LOCK that cannot be written leaves no temp file', async () => {
    for (const name of fs.readdirSync(mount)) fs.rmSync(path.join(mount, name), { recursive: true, force: true });
    const dir = path.join(mount, 'journal2');
    const key = randomBytes(32);
    const open = () => openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 });
    let j = await open();
    // Room for less than one more segment: the next rotation meets ENOSPC part-way through its zero fill.
    const filler = fillDisk('filler');
    fs.truncateSync(filler, fs.statSync(filler).size - 40 * 1024);
    let failure: unknown = null;
    let lastSeq = 0;
    try {
      for (const step of syntheticSteps(1, Number.MAX_SAFE_INTEGER, 500)) lastSeq = (await j.append(step.records, { durable: true })).lastSeq;
    } catch (e) {
      failure = e;
    }
    expect(String((failure as Error)?.message)).toContain('ENOSPC');
    expect(fs.readdirSync(dir)).not.toContain('spare.tmp');
    await j.close().catch(() => undefined);

    // A spare left by an older build (or a kill mid-fill) on a disk full to the last byte: open frees it to write its LOCK.
    const leftover = fs.openSync(path.join(dir, 'spare.tmp'), 'w');
    fs.writeSync(leftover, Buffer.alloc(32 * 1024));
    fs.closeSync(leftover);
    fillDisk('filler2');
    j = await open();
    expect(j.nextSeq - 1).toBe(lastSeq);
    await j.close();

    // Nothing left to free: the open fails with ENOSPC, and leaves no LOCK temp file behind.
    fillDisk('filler3');
    await expect(open()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('LOCK'))).toEqual([]);

    // The daemon on that disk: not a config error (exit 2, "config key journalDir") but a journal that could
    // not be written, exit 74, so init starts it again and it opens once space is freed.
    const off = tmpDir('fulldisk-daemon');
    fs.writeFileSync(path.join(off, 'journal.key'), key.toString('hex') + '\n', { mode: 0o600 });
    const config = { journalDir: dir, deviceKeyFile: path.join(off, 'journal.key'), socketPath: path.join(off, 'posj.sock'), log: { file: path.join(off, 'posj') }, terminalId: '12345678', merchantId: '898310048990001', merchantName: 'FULL DISK', acquirer: { host: '127.0.0.1', port: 9, tmk: '0123456789ABCDEFFEDCBA9876543210' }, reader: 'simulated', printer: 'simulated', journalSpace: { reserveBytes: 0 } };
    fs.writeFileSync(path.join(off, 'posj.json'), JSON.stringify(config));
    const run = spawnSync(process.execPath, [path.resolve('dist/host-bridge/cli/posj-bench.js'), 'run', '--config', path.join(off, 'posj.json')], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(74);
    expect(run.stderr).toContain(`opening the journal in ${dir}: ENOSPC`);
    expect(run.stderr).toContain('the disk is full: free space on it, or retire old segments (posj journal retain)');
    expect(run.stderr).not.toContain('config key');
  }, 60_000);
});
