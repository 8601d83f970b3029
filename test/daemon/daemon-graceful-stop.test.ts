// SIGTERM and SIGINT to the real daemon (`posj run --config`) in the middle of a sale, against the acquirer
// simulator as its own process behind the TCP gate (test/helpers/tcp-gate.mjs): the request is held "in the
// network" when the signal arrives. The daemon must stop taking work, let the sale reach its durable outcome,
// answer the waiting client with that outcome (what the journal and the acquirer's ledger then hold), log a
// shutdown line and exit 0. A second signal exits at once, and the next boot reverses what was in flight.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlCall, DaemonUnreachableError } from '../../firmware-ts/daemon/control-client.js';
import { TerminalRecord, type AuthOutcome } from '../../firmware-ts/txn/records.js';
import { spawn } from 'node:child_process';
import { Child, Gate, journalRecords, killAll, ledgerEntries, POSJ_BRIDGE, requireDist, startAcquirer, startDaemon, writeDaemonConfig } from '../helpers/kill-rig.js';
import { createPtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

afterAll(killAll);

const pad6 = (n: number) => String(n).padStart(6, '0');

async function rig(responseMs: number, hostRules: unknown[] = []) {
  requireDist();
  const dir = tmpDir('daemon-stop');
  const ledger = path.join(dir, 'acquirer-ledger.jsonl');
  const rules = path.join(dir, 'rules.json');
  fs.writeFileSync(rules, JSON.stringify({ rules: hostRules }));
  const acquirer = await startAcquirer({ ledger, rules });
  const gate = await Gate.start(acquirer.port);
  const cfg = writeDaemonConfig({ dir, acquirerPort: gate.port });
  const file = JSON.parse(fs.readFileSync(cfg.file, 'utf8')) as { timeouts: Record<string, number> };
  file.timeouts.responseMs = responseMs;
  fs.writeFileSync(cfg.file, JSON.stringify(file));
  const daemon = await startDaemon(cfg.file);
  const debits = (stan: number) => ledgerEntries(ledger).filter((e) => e.kind === 'authorization' && e.stan === pad6(stan));
  const reversals = (stan: number) => ledgerEntries(ledger).filter((e) => e.kind === 'reversal' && e.stan === pad6(stan));
  const outcome = (stan: number) => journalRecords(cfg.journalDir).find((r) => r.type === TerminalRecord.authOutcome.name && (r.payload as AuthOutcome).stan === stan)?.payload as AuthOutcome | undefined;
  return { dir, gate, cfg, daemon, debits, reversals, outcome, ledger };
}

/** Starts a sale whose request the gate holds, and waits until its bytes are held. */
async function heldSale(r: Awaited<ReturnType<typeof rig>>, amount: number) {
  await r.gate.send('hold');
  const from = r.gate.child.events.length;
  const sale = controlCall(r.cfg.socketPath, { op: 'sale', amount });
  await r.gate.child.waitEvent((e) => e.event === 'held', 'the sale request at the gate', 5000, from);
  return { sale };
}

describe('posj run: graceful stop', () => {
  it('SIGTERM mid-sale: the sale is approved, its client hears it, new work is refused, exit 0', async () => {
    const r = await rig(4000);
    const first = await controlCall(r.cfg.socketPath, { op: 'sale', amount: 1000 });
    expect(first).toMatchObject({ ok: true, result: { kind: 'approved' } });
    const stan = (first as { result: { stan: number } }).result.stan + 1;

    const { sale } = await heldSale(r, 2500);
    r.daemon.proc.kill('SIGTERM');
    await r.daemon.waitLine(/ shutdown-begin .*inFlight=sale/, 'the shutdown to begin with the sale in flight');
    // No new work once the signal came: the socket no longer accepts.
    await expect(controlCall(r.cfg.socketPath, { op: 'ping' }, 2000)).rejects.toBeInstanceOf(DaemonUnreachableError);
    expect(r.debits(stan)).toEqual([]);
    // The request reaches the acquirer now; it debits and answers; the daemon finishes the sale.
    await r.gate.send('pass');
    await r.gate.send('release');
    const res = await sale;
    expect(res).toMatchObject({ ok: true, result: { kind: 'approved', stan, amount: 2500 } });
    const exit = await r.daemon.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    // The answer is the truth on both sides: approved in the journal, one live debit at the acquirer.
    expect(r.outcome(stan)?.result).toBe('approved');
    expect(r.debits(stan)).toHaveLength(1);
    expect(r.reversals(stan)).toEqual([]);
    const shutdown = r.daemon.lines.find((l) => / shutdown /.test(l));
    expect(shutdown).toMatch(/signal=SIGTERM inFlight=sale waitedMs=\d+ result=finished/);
    expect(r.daemon.lines.join('\n')).not.toMatch(/closed by peer/);
    expect(r.daemon.lines.join('\n')).toMatch(/link-disconnected detail="closed by this terminal"/);
    // The same events in the rotated log file beside the journal, amounts in yuan.
    const logDir = path.join(path.dirname(r.cfg.journalDir), 'log');
    const events = fs
      .readdirSync(logDir)
      .flatMap((f) => fs.readFileSync(path.join(logDir, f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ event: 'start', terminalId: '87654321' });
    expect(events).toContainEqual(expect.objectContaining({ event: 'sale', stan, amount: '25.00 CNY', kind: 'approved' }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'shutdown', signal: 'SIGTERM', inFlight: 'sale', result: 'finished' }));
    expect(events.at(-1)).toMatchObject({ event: 'stopped', signal: 'SIGTERM' });
  });

  it('SIGINT mid-sale whose reply is lost: the client is told reversed, the acquirer holds no live debit', async () => {
    const r = await rig(1500, [{ when: { amount: 3100, mti: '0200' }, then: { action: 'drop-reply' } }]);
    const first = await controlCall(r.cfg.socketPath, { op: 'sale', amount: 1000 });
    const stan = (first as { result: { stan: number } }).result.stan + 1;
    const { sale } = await heldSale(r, 3100);
    r.daemon.proc.kill('SIGINT');
    await r.daemon.waitLine(/ shutdown-begin /, 'the shutdown to begin');
    // Delivered to the acquirer, which debits and never answers.
    await r.gate.send('release');
    await until(() => r.debits(stan).length === 1, 'the debit at the acquirer', 3000, 5);
    await r.gate.send('pass');
    const res = await sale;
    expect(res).toMatchObject({ ok: true, result: { kind: 'reversed', stan } });
    expect(await r.daemon.exited).toEqual({ code: 0, signal: null });
    const reversal = (res as { result: { reversal: string } }).result.reversal;
    // What the client was told matches the acquirer: cleared → reversed there; otherwise still owed in the journal.
    if (reversal === 'cleared') expect(r.reversals(stan)).toHaveLength(1);
    else expect(r.reversals(stan)).toEqual([]);
  });

  it('a second signal exits at once; the next boot reverses the sale that was in flight', async () => {
    const r = await rig(8000);
    const first = await controlCall(r.cfg.socketPath, { op: 'sale', amount: 1000 });
    const stan = (first as { result: { stan: number } }).result.stan + 1;
    const held = await heldSale(r, 4200);
    const sale = held.sale.catch((e: Error) => e);
    r.daemon.proc.kill('SIGTERM');
    await r.daemon.waitLine(/ shutdown-begin /, 'the shutdown to begin');
    r.daemon.proc.kill('SIGTERM');
    const exit = await r.daemon.exited;
    expect(exit.code).toBe(1);
    expect(r.daemon.lines.join('\n')).toMatch(/shutdown-forced signal=SIGTERM/);
    expect(await sale).toBeInstanceOf(DaemonUnreachableError);
    await r.gate.send('pass');
    await r.gate.send('release');
    await until(() => r.debits(stan).length === 1, 'the late debit at the acquirer', 3000, 5);
    const again = await startDaemon(r.cfg.file);
    await until(() => r.reversals(stan).length === 1, `the reversal of STAN ${stan} at the next boot`, 10_000, 20);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM while a sale waits for a card on a real reader line: the wait ends, nothing is sent, exit 0', async () => {
    requireDist();
    const pair = await createPtyPair();
    try {
      const reader = new Child(spawn(process.execPath, [POSJ_BRIDGE, 'sim', 'reader', '--port', pair.b, '--present', 'none'], { stdio: ['pipe', 'pipe', 'pipe'] }), 'stderr');
      const dir = tmpDir('daemon-stop-card');
      const ledger = path.join(dir, 'acquirer-ledger.jsonl');
      const rules = path.join(dir, 'rules.json');
      fs.writeFileSync(rules, JSON.stringify({ rules: [] }));
      const acquirer = await startAcquirer({ ledger, rules });
      const cfg = writeDaemonConfig({ dir, acquirerPort: acquirer.port });
      const file = JSON.parse(fs.readFileSync(cfg.file, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(cfg.file, JSON.stringify({ ...file, reader: { path: pair.a, baud: 115200 }, timeouts: { connectMs: 2000, responseMs: 3000, cardMs: 60_000 } }));
      const daemon = await startDaemon(cfg.file);
      const sale = controlCall(cfg.socketPath, { op: 'sale', amount: 4400 });
      const busy = async () => ((await controlCall(cfg.socketPath, { op: 'status' })) as { result: { busy: { op: string; forMs: number } | null } }).result.busy;
      // Waiting for a card (no card presented) for half a second.
      for (let i = 0; i < 100 && ((await busy())?.forMs ?? 0) < 500; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await busy()).toMatchObject({ op: 'sale' });
      daemon.proc.kill('SIGTERM');
      const res = (await sale) as { ok: boolean; result?: { kind: string } };
      expect(res.ok).toBe(true);
      expect(res.result).toMatchObject({ kind: 'refused', reason: 'card-read-failed', detail: expect.stringContaining('shutting down') });
      expect(await daemon.exited).toEqual({ code: 0, signal: null });
      const shutdown = daemon.lines.find((l) => / shutdown .*inFlight=sale/.test(l))!;
      // The 60 s card wait was ended, not waited out.
      expect(Number(/waitedMs=(\d+)/.exec(shutdown)![1])).toBeLessThan(30_000);
      expect(ledgerEntries(ledger).filter((e) => e.kind === 'authorization')).toEqual([]);
      reader.proc.kill('SIGTERM');
      await reader.exited;
    } finally {
      await pair.close();
    }
  });
});
