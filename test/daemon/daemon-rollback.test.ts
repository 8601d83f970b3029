// The rollback anchor through the daemon: a journal directory put back from an operator's older copy,
// against the acquirer simulator (its ledger on disk across the restarts) that saw the later sales. The
// daemon boots, the 0810 gives it away: status shows the alarm (and `posj status` exits 1), sales are
// refused with the typed reason, the log names it, and after the supervisor's acknowledgement the next
// sale goes out with a STAN the acquirer has not seen.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import { embeddedConfig, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const PASSWORD = 'Tr4de-Sup';

type Answer = { ok: boolean; result: Record<string, unknown> };

/** `posj status` as its own process (asynchronously: the daemon answering it runs in this one). */
function posjStatus(sock: string): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [POSJ, 'status', '--socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    p.on('close', (status) => resolve({ status, stdout }));
  });
}

describe('a journal restored from an older copy, through the daemon', () => {
  it('is found behind at sign-on: alarm in status and the log, sales refused until acknowledged, no STAN reused', async () => {
    const dir = tmpDir('rollback');
    const config = embeddedConfig(dir);
    const log: string[] = [];
    const run = async (steps: (sock: string) => Promise<void>) => {
      const sim = await startSimulatedDaemon({ config, log: lineLog((l) => log.push(l), systemClock) });
      try {
        await steps(sim.daemon.socketPath);
      } finally {
        await sim.daemon.stop();
      }
    };
    const sale = async (sock: string, amount: number) => (await controlCall(sock, { op: 'sale', amount })) as Answer;

    await run(async (sock) => {
      expect((await controlCall(sock, { op: 'supervisor-set', password: PASSWORD })).ok).toBe(true);
      expect((await sale(sock, 1_000)).result).toMatchObject({ kind: 'approved' });
    });
    const backup = `${config.journalDir}.backup`;
    fs.cpSync(config.journalDir, backup, { recursive: true });
    let lastStan = 0;
    await run(async (sock) => {
      await sale(sock, 2_000);
      lastStan = (await sale(sock, 3_000)).result.stan as number;
    });
    fs.rmSync(config.journalDir, { recursive: true });
    fs.cpSync(backup, config.journalDir, { recursive: true });

    await run(async (sock) => {
      const status = ((await controlCall(sock, { op: 'status' })) as Answer).result;
      expect(status.rollback).toMatchObject({ anchor: 'acquirer 0810' });
      expect(status.stan as number).toBeGreaterThan(lastStan);
      const cli = await posjStatus(sock);
      expect(cli.status).toBe(1);
      expect(cli.stdout).toMatch(/ALARM journal rolled back: .*STAN \d+ used in batch 1/);
      expect((await sale(sock, 4_000)).result).toMatchObject({ kind: 'refused', reason: 'journal-rolled-back' });
      expect(log.some((l) => l.includes('rollback-detected'))).toBe(true);

      const ack = ((await controlCall(sock, { op: 'acknowledge-rollback', password: PASSWORD, reason: 'restored copy; ledger checked' })) as Answer).result;
      expect(ack).toMatchObject({ acknowledged: true });
      const after = (await sale(sock, 4_000)).result;
      expect(after).toMatchObject({ kind: 'approved' });
      expect(after.stan as number).toBeGreaterThan(lastStan);
      expect((await posjStatus(sock)).status).toBe(0);
    });
  });
});
