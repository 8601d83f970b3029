// The journal lock after power cuts and reboots (issue 8 item 9): a LOCK left behind must never stop the
// terminal from booting by itself, whatever live process its PID now names — PID 1 in a container, an
// unrelated process after a reboot — while a LOCK whose holder is really running still refuses (exit 4).
// Unit checks on the lock file, then the real daemon (`posj run --config`) booting on planted LOCKs.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootId, processStartTime, staleReason, takeLock } from '../../firmware-ts/io/lock-file.js';
import { JournalLockedError } from '../../firmware-ts/journal/errors.js';
import { killAll, posj, requireDist, startAcquirer, startDaemon, writeDaemonConfig } from '../helpers/kill-rig.js';
import { tmpDir } from '../helpers/tmp.js';

afterAll(killAll);

const bootMs = () => Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))![1]) * 1000;

/** A live process that has nothing to do with the journal. */
function unrelatedProcess(): { pid: number; stop(): void } {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

function plant(dir: string, content: string, mtimeMs?: number): string {
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'LOCK');
  fs.writeFileSync(lock, content);
  if (mtimeMs !== undefined) fs.utimesSync(lock, mtimeMs / 1000, mtimeMs / 1000);
  return lock;
}

describe('journal LOCK: boot, PID and start time', () => {
  it('names this boot, this PID and its start time, and a second taker is refused with the PID', () => {
    const dir = tmpDir('lock');
    const lock = takeLock(dir);
    const held = JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')) as Record<string, unknown>;
    expect(held).toMatchObject({ pid: process.pid, bootId: bootId(), startTime: processStartTime(process.pid) });
    expect(() => takeLock(dir)).toThrow(JournalLockedError);
    expect(() => takeLock(dir)).toThrow(`locked by pid ${process.pid}`);
    expect(fs.readdirSync(dir)).toEqual(['LOCK']);
    lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a LOCK naming a live PID is stale when taken in another boot or by another process with that PID', () => {
    const other = unrelatedProcess();
    try {
      const dir = tmpDir('lock-stale');
      const lock = path.join(dir, 'LOCK');
      const real = { pid: other.pid, bootId: bootId(), startTime: processStartTime(other.pid), nonce: 'n' };
      plant(dir, JSON.stringify(real));
      expect(staleReason(lock)).toBeNull();
      plant(dir, JSON.stringify({ ...real, bootId: '00000000-0000-0000-0000-000000000000' }));
      expect(staleReason(lock)).toBe('taken in an earlier boot');
      plant(dir, JSON.stringify({ ...real, pid: 1, startTime: '999999999' }));
      expect(staleReason(lock)).toBe('pid 1 is another process now');
      // The older format, a bare PID: written before this boot, or before the PID started.
      plant(dir, `${other.pid}\n`, bootMs() - 60_000);
      expect(staleReason(lock)).toBe('written before this boot');
      plant(dir, '1\n', bootMs() - 60_000);
      expect(staleReason(lock)).toBe('written before this boot');
      plant(dir, `${other.pid}\n`, bootMs() + 1000);
      expect(staleReason(lock)).toBe(`pid ${other.pid} started after the LOCK was written`);
      plant(dir, `${process.pid}\n`);
      expect(staleReason(lock)).toBeNull();
      plant(dir, '');
      expect(staleReason(lock)).toBe('LOCK unreadable');
    } finally {
      other.stop();
    }
  });
});

/** A process that has exited and that nobody reaps: its shell exec'd into a sleep that never waits for it. */
async function zombieProcess(): Promise<{ pid: number; stop(): void }> {
  const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
  const state = () => /\) (\S)/.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  for (let i = 0; state() !== 'Z'; i++) {
    if (i > 200) throw new Error(`pid ${pid} never became a zombie`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { pid, stop: () => parent.kill('SIGKILL') };
}

describe('journal LOCK held by a zombie', () => {
  it('a holder that died and was never reaped is not running: its LOCK is taken over', async () => {
    // A power cut kills a launcher with its daemon; the orphaned daemon waits on an init that may never reap it.
    const z = await zombieProcess();
    try {
      const dir = tmpDir('lock-zombie');
      plant(dir, JSON.stringify({ pid: z.pid, bootId: bootId(), startTime: processStartTime(z.pid), nonce: 'z' }));
      expect(staleReason(path.join(dir, 'LOCK'))).toBe(`pid ${z.pid} not running`);
      const reasons: string[] = [];
      takeLock(dir, (r) => reasons.push(r)).release();
      expect(reasons).toEqual([`pid ${z.pid} not running`]);
    } finally {
      z.stop();
    }
  });
});

describe('posj run on a LOCK left behind', () => {
  it('boots past a LOCK naming PID 1, or a live unrelated PID from a previous boot; refuses a live holder (exit 4)', async () => {
    requireDist();
    const dir = tmpDir('daemon-lock');
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, '{"rules": []}');
    const acquirer = await startAcquirer({ ledger: path.join(dir, 'ledger.jsonl'), rules });
    const cfg = writeDaemonConfig({ dir, acquirerPort: acquirer.port });
    const other = unrelatedProcess();
    try {
      const planted: Array<[string, string, number?]> = [
        ['PID 1 in a container that restarted (same boot)', JSON.stringify({ pid: 1, bootId: bootId(), startTime: '999999999', nonce: 'x' })],
        ['a live unrelated PID, LOCK from a previous boot', JSON.stringify({ pid: other.pid, bootId: 'f0000000-0000-0000-0000-00000000000f', startTime: processStartTime(other.pid), nonce: 'y' })],
        ['a bare PID 1 written before this boot (older LOCK format)', '1\n', bootMs() - 3600_000],
        ['a bare live unrelated PID written before this boot', `${other.pid}\n`, bootMs() - 3600_000],
      ];
      for (const [what, content, mtime] of planted) {
        plant(cfg.journalDir, content, mtime);
        const daemon = await startDaemon(cfg.file);
        const sale = await posj(['sale', '1.00', '--socket', cfg.socketPath]);
        expect(sale.status, `${what}: ${sale.stderr}`).toBe(0);
        expect(JSON.parse(fs.readFileSync(path.join(cfg.journalDir, 'LOCK'), 'utf8'))).toMatchObject({ pid: daemon.pid });
        daemon.proc.kill('SIGTERM');
        expect(await daemon.exited, what).toEqual({ code: 0, signal: null });
        expect(fs.existsSync(path.join(cfg.journalDir, 'LOCK')), `${what}: released on a clean stop`).toBe(false);
      }
      // A holder that is really there (this test process, as it wrote itself into LOCK) still refuses.
      const lock = takeLock(cfg.journalDir);
      try {
        const r = await posj(['run', '--config', cfg.file]);
        expect(r.status).toBe(4);
        expect(r.stderr).toContain(`journal is locked by pid ${process.pid}`);
      } finally {
        lock.release();
      }
    } finally {
      other.stop();
    }
  });
});
