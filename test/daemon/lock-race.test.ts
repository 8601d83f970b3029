// Two openers and one stale LOCK (issue 10): the LOCK file alone cannot tell two processes apart that both
// read "stale" at the same instant, so each would replace it and both would write the journal. The kernel
// guard (an abstract socket bound for as long as the journal is open) decides. The race's window is a
// fraction of a millisecond, too narrow to hit on demand, so the tests build its outcome directly: the
// winner is live and holds the journal while its LOCK reads as a dead holder's, which is what the loser
// finds. Real processes and the built code, then two real `posj run` daemons on one journal.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { guardName } from '../../firmware-ts/io/holder-guard.js';
import { bootId, takeGuard, takeLock } from '../../firmware-ts/io/lock-file.js';
import { JournalLockedError } from '../../firmware-ts/journal/errors.js';
import { killAll, posj, requireDist, startAcquirer, startDaemon, writeDaemonConfig } from '../helpers/kill-rig.js';
import { tmpDir } from '../helpers/tmp.js';

afterAll(killAll);

const LOCK_FILE_JS = path.resolve('dist/firmware-ts/io/lock-file.js');

/** What a dead holder leaves: its PID is now some other process (PID 1 never started at tick 999999999). */
const staleHolder = () => JSON.stringify({ pid: 1, bootId: bootId(), startTime: '999999999', nonce: 'gone' });

/** A process that takes the journal lock the way the journal does (guard, then LOCK), prints `won` or `locked: …`, and holds what it won for `holdMs`. */
function opener(dir: string, holdMs: number): { proc: ChildProcess; said: Promise<string> } {
  const script = `
    const { takeGuard, takeLock } = await import(${JSON.stringify(LOCK_FILE_JS)});
    try {
      const guard = await takeGuard(${JSON.stringify(dir)});
      try {
        const lock = takeLock(${JSON.stringify(dir)});
        console.log('won');
        setTimeout(() => { lock.release(); guard.release(); }, ${holdMs});
      } catch (e) { guard.release(); throw e; }
    } catch (e) { console.log('locked: ' + e.message); }`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const said = new Promise<string>((resolve) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    proc.on('close', () => resolve(out.trim()));
  });
  return { proc, said };
}

describe('the journal lock against a LOCK that reads stale', () => {
  it('a live holder keeps the journal although its LOCK names a dead process; once it dies, the next opener takes over', async () => {
    requireDist();
    const dir = tmpDir('lock-guard');
    const holder = opener(dir, 60_000);
    try {
      expect(await holder.said).toBe('won');
      fs.writeFileSync(path.join(dir, 'LOCK'), staleHolder());
      await expect(takeGuard(dir)).rejects.toThrow(`journal is locked by pid ${holder.proc.pid}`);
      const exited = new Promise((r) => holder.proc.once('exit', r));
      holder.proc.kill('SIGKILL');
      await exited;
      const guard = await takeGuard(dir);
      const reasons: string[] = [];
      takeLock(dir, (r) => reasons.push(r)).release();
      guard.release();
      expect(reasons).toEqual(['pid 1 is another process now']);
    } finally {
      holder.proc.kill('SIGKILL');
    }
  });
});

describe('a guard held by something that is not a journal', () => {
  it('is refused without naming the PID the LOCK file gives (that process may be long gone)', async () => {
    const dir = tmpDir('lock-foreign');
    fs.writeFileSync(path.join(dir, 'LOCK'), staleHolder());
    // Another program bound the name and answers nothing.
    const squatter = net.createServer(() => undefined);
    await new Promise<void>((resolve) => squatter.listen(guardName(dir), resolve));
    try {
      const refusal = takeGuard(dir);
      await expect(refusal).rejects.toThrow(JournalLockedError);
      await expect(refusal).rejects.toThrow(/is held by a live process that did not say its PID/);
      await expect(refusal).rejects.not.toThrow('pid 1 ');
    } finally {
      squatter.close();
    }
  });
});

describe('two posj run daemons on one journal', () => {
  it('the second is refused (exit 4, naming the first) while the first serves, even with the LOCK overwritten as stale', async () => {
    requireDist();
    const dir = tmpDir('lock-daemons');
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, '{"rules": []}');
    const acquirer = await startAcquirer({ ledger: path.join(dir, 'ledger.jsonl'), rules });
    const cfg = writeDaemonConfig({ dir, acquirerPort: acquirer.port });
    // The second daemon: the same journal and key, its own control socket, so only the journal lock can stop it.
    const second = path.join(dir, 'second.json');
    fs.writeFileSync(second, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfg.file, 'utf8')), socketPath: 'second.sock' }));
    const first = await startDaemon(cfg.file);
    fs.writeFileSync(path.join(cfg.journalDir, 'LOCK'), staleHolder());
    const r = await posj(['run', '--config', second]);
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toContain(`journal is locked by pid ${first.pid}`);
    const sale = await posj(['sale', '1.00', '--socket', cfg.socketPath]);
    expect(sale.status, sale.stderr).toBe(0);
    first.proc.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
  });
});
