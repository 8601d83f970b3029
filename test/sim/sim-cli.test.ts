// `posj sim` as CI and a field engineer run it: the built CLI in a child process, real exit codes.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';

const POSJ = path.resolve('dist/host-bridge/cli/posj-bench.js');
const posj = (...args: string[]) => spawnSync(process.execPath, [POSJ, 'sim', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('posj sim', () => {
  it('--json: one object with seeds, steps, crashes, violations per invariant and seedsPerMinute; exit 0', () => {
    const r = posj('--seeds', '25', '--json');
    expect(r.status).toBe(0);
    const o = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(o).toMatchObject({ seeds: 25, steps: 750 });
    expect(o.crashes).toBeGreaterThan(0);
    expect(o.seedsPerMinute).toBeGreaterThan(0);
    expect(Object.values(o.violations as Record<string, number>).every((n) => n === 0)).toBe(true);
    expect(Object.keys(o.violations as object)).toEqual(expect.arrayContaining(['no-phantom-debit', 'no-lost-sale', 'stan-unique', 'reversal-once', 'settled-totals', 'journal-reopens', 'no-card-data']));
  });

  it('--seed S replays one seed bit for bit (same trace hash twice)', () => {
    const a = posj('--seed', '12345', '--json');
    const b = posj('--seed', '12345', '--json');
    expect(a.status).toBe(0);
    const ha = (JSON.parse(a.stdout) as { traceHash: string }).traceHash;
    expect(ha).toMatch(/^[0-9a-f]{64}$/);
    expect((JSON.parse(b.stdout) as { traceHash: string }).traceHash).toBe(ha);
    const text = posj('--seed', '12345');
    expect(text.stdout).toContain(`trace hash ${ha}`);
  });

  it('--workers 2 (run again under a single-threaded GC) gives the summary of --workers 1', () => {
    const summary = (workers: string) => {
      const r = posj('--seeds', '12', '--first', '40', '--workers', workers, '--json');
      expect(r.status).toBe(0);
      const { seeds, steps, crashes, violations, failedSeeds } = JSON.parse(r.stdout) as Record<string, unknown>;
      return { seeds, steps, crashes, violations, failedSeeds };
    };
    expect(summary('2')).toEqual(summary('1'));
  });

  it('--forever --workers 2: Ctrl-C (SIGINT to the process group) stops the run with its summary and exit 0', async () => {
    const child = spawn(process.execPath, [POSJ, 'sim', '--forever', '--workers', '2', '--json'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 3_000));
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    const o = JSON.parse(out) as { seeds: number; workers: number };
    expect(o.workers).toBe(2);
    expect(o.seeds).toBeGreaterThan(0);
  }, 30_000);

  it('--forever --workers 2: the run under the single-threaded GC stops when the posj that started it is killed outright', async () => {
    const parent = spawn(process.execPath, [POSJ, 'sim', '--forever', '--workers', '2', '--json'], { stdio: 'ignore' });
    const childOf = (pid: number) => Number(spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
    const alive = (pid: number) => spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim().replace(/^Z.*/, '') !== '';
    let child = 0;
    for (let i = 0; i < 50 && !child; i++) {
      await new Promise((r) => setTimeout(r, 100));
      child = childOf(parent.pid!);
    }
    expect(child).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1_500));
    parent.kill('SIGKILL');
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 100));
      gone = !alive(child);
    }
    if (!gone) process.kill(child, 'SIGKILL');
    expect(gone).toBe(true);
  }, 30_000);

  it('bad usage exits 2', () => {
    expect(posj('--seeds', 'many').status).toBe(2);
  });
});
