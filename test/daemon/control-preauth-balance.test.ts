// The control operations the simulator's workload needs besides sale, void and refund — pre-authorization,
// its completion and its void, balance inquiry, sending owed reversals now — over the daemon's real Unix
// socket against the acquirer simulator on loopback TCP: each one approved, each one refused for its own
// reason (checked against the acquirer's ledger: nothing moved), and bad arguments answered BAD_REQUEST
// naming the field. Then the built `posj` CLI for each: words, --json and exit codes as for `posj sale`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import type { ControlRequest, ControlResponse } from '../../firmware-ts/daemon/control-protocol.js';
import type { RunningDaemon } from '../../firmware-ts/daemon/daemon.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import type { AcquirerHost } from '../../host-bridge/acquirer/index.js';
import { embeddedConfig, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const PASSWORD = '739164';
let d: RunningDaemon;
let host: AcquirerHost;
const logLines: string[] = [];

beforeAll(async () => {
  const config = { ...embeddedConfig(tmpDir('control-preauth')), timeouts: { connectMs: 1000, responseMs: 600, cardMs: 5000 }, reversal: { attemptsPerRound: 1, refuseSalesWhileStuck: false } };
  const sim = await startSimulatedDaemon({ config, log: lineLog((l) => logLines.push(l), systemClock) });
  d = sim.daemon;
  host = sim.host!;
  expect((await controlCall(d.socketPath, { op: 'supervisor-set', password: PASSWORD })).ok).toBe(true);
});

afterAll(async () => {
  await d?.stop();
});

type Result = Record<string, unknown>;
async function ok(req: ControlRequest): Promise<Result> {
  const res = await controlCall(d.socketPath, req);
  expect(res, JSON.stringify(req)).toMatchObject({ ok: true });
  return (res as { result: Result }).result;
}
const call = (req: ControlRequest): Promise<ControlResponse> => controlCall(d.socketPath, req);

/** The acquirer's ledger entries of one kind for this terminal (what moved money, or did not). */
const ledger = (kind: string) => host.state.entries.filter((e) => e.kind === kind);

function posj(args: string[], fd3?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [POSJ, ...args, '--socket', d.socketPath], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    (child.stdio[3] as NodeJS.WritableStream).end(fd3 ?? '');
    child.stdin!.end();
  });
}

describe('control API: pre-authorization, completion, pre-authorization void', () => {
  it('a preauth holds the amount; a completion of part of it is approved against that preauth, once', async () => {
    const pre = await ok({ op: 'preauth', amount: 30_000, requestId: 'hotel-1' });
    expect(pre).toMatchObject({ kind: 'approved', txn: 'preauth', amount: 30_000, requestId: 'hotel-1' });
    const stan = pre.stan as number;
    const done = await ok({ op: 'completion', stan, batch: pre.batch as number, amount: 27_550, requestId: 'hotel-1-done' });
    expect(done).toMatchObject({ kind: 'approved', txn: 'preauth-completion', amount: 27_550 });
    expect(await ok({ op: 'status', stan: done.stan as number })).toMatchObject({ found: true, txn: 'preauth-completion', state: 'approved', amount: 27_550 });
    // The same request id again is the first answer; a second completion of the same preauth is refused.
    expect(await ok({ op: 'completion', stan, amount: 27_550, requestId: 'hotel-1-done' })).toMatchObject({ kind: 'approved', replayed: true, stan: done.stan });
    expect(await ok({ op: 'completion', stan, amount: 100 })).toMatchObject({ kind: 'refused', txn: 'preauth-completion', reason: 'original-not-voidable' });
    expect(ledger('authorization').filter((e) => (e as { txn?: string }).txn === 'preauth-completion')).toHaveLength(1);
  });

  it('a completion over the hold, or of a STAN that is no preauth, is refused and nothing reaches the acquirer', async () => {
    const pre = await ok({ op: 'preauth', amount: 5_000 });
    const before = host.state.entries.length;
    expect(await ok({ op: 'completion', stan: pre.stan as number, amount: 5_001 })).toMatchObject({ kind: 'refused', reason: 'invalid-amount', detail: expect.stringContaining('0.01..50.00') });
    const sale = await ok({ op: 'sale', amount: 800 });
    const afterSale = host.state.entries.length;
    expect(afterSale).toBeGreaterThan(before);
    expect(await ok({ op: 'completion', stan: sale.stan as number, amount: 100 })).toMatchObject({ kind: 'refused', reason: 'original-not-found' });
    expect(host.state.entries.length).toBe(afterSale);
  });

  it('a preauth void needs the supervisor password; with it the hold is released and cannot be completed', async () => {
    const pre = await ok({ op: 'preauth', amount: 12_000 });
    const stan = pre.stan as number;
    expect(await ok({ op: 'preauth-void', stan, password: '739165' })).toMatchObject({ kind: 'refused', txn: 'preauth-void', reason: 'supervisor-refused', detail: expect.stringContaining('wrong supervisor password') });
    expect(await ok({ op: 'status', stan })).toMatchObject({ state: 'approved', txn: 'preauth' });
    expect(await ok({ op: 'preauth-void', stan, batch: pre.batch as number, password: PASSWORD })).toMatchObject({ kind: 'approved', txn: 'preauth-void', amount: 12_000 });
    expect(await ok({ op: 'completion', stan, amount: 12_000 })).toMatchObject({ kind: 'refused', reason: 'original-not-voidable' });
  });

  it('bad arguments are BAD_REQUEST naming the field, before anything is read or sent', async () => {
    const before = host.state.entries.length;
    const bad: Array<[ControlRequest, string]> = [
      [{ op: 'preauth' }, '"amount"'],
      [{ op: 'preauth', amount: 12.5 }, '"amount"'],
      [{ op: 'preauth', amount: 1_000_000_000 }, '"amount"'],
      [{ op: 'preauth', amount: 100, requestId: 'has space' }, '"requestId"'],
      [{ op: 'completion', amount: 100 }, '"stan"'],
      [{ op: 'completion', stan: 1, amount: 0 }, '"amount"'],
      [{ op: 'completion', stan: 1, batch: 0, amount: 100 }, '"batch"'],
      [{ op: 'completion', stan: 1_000_000, amount: 100 }, '"stan"'],
      [{ op: 'preauth-void', stan: 1 }, '"password"'],
      [{ op: 'preauth-void', stan: 1, password: PASSWORD, batch: 'open' }, '"batch"'],
      [{ op: 'balance', requestId: '' }, '"requestId"'],
    ];
    for (const [req, field] of bad) {
      const res = await call(req);
      expect(res, JSON.stringify(req)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining(field) } });
    }
    expect(host.state.entries.length).toBe(before);
  });
});

describe('control API: balance inquiry, sending reversals now', () => {
  it('a balance inquiry answers the balance and moves no money; a request id used for a sale is refused for it', async () => {
    const first = await ok({ op: 'balance' });
    expect(first).toMatchObject({ kind: 'approved', txn: 'balance', receipt: 'none' });
    expect(typeof first.balance).toBe('number');
    await ok({ op: 'sale', amount: 1_234, requestId: 'till-9' });
    const second = await ok({ op: 'balance' });
    expect(second.balance).toBe((first.balance as number) - 1_234);
    expect(await ok({ op: 'balance', requestId: 'till-9' })).toMatchObject({ kind: 'refused', txn: 'balance', reason: 'request-id-reused' });
    expect(logLines.join('')).toMatch(/ balance .*balance="[\d.]+ CNY"/);
  });

  it('send-reversals sends what is owed now: kept while the acquirer drops the answers, cleared once it answers', async () => {
    host.rules = { ...host.rules, rules: [{ when: { amount: 4_321 }, then: { action: 'drop-reply' } }] };
    const sale = await ok({ op: 'sale', amount: 4_321 });
    expect(sale).toMatchObject({ kind: 'reversed', reason: '98' });
    const stan = sale.stan as number;
    const kept = await ok({ op: 'send-reversals' });
    // Whatever round ran it, the acquirer answered none: the reversal is still owed (or stuck), never dropped.
    expect([...(kept.owed as number[]), ...(kept.stuck as number[])]).toContain(stan);
    expect(kept.cleared).not.toContain(stan);
    host.rules = { ...host.rules, rules: [] };
    const sent = await ok({ op: 'send-reversals' });
    expect(sent.owed).toEqual([]);
    expect(await ok({ op: 'status', stan })).toMatchObject({ state: 'reversed', reversal: { state: 'cleared' } });
    expect(await ok({ op: 'reversals' })).toEqual([]);
  });
});

describe('posj CLI: preauth, completion, preauth-void, balance, reversals --send', () => {
  it('words and exit codes as for posj sale: 0 approved, 1 refused or still owed, 2 bad usage', async () => {
    const pre = await posj(['preauth', '88.00', '--json']);
    expect(pre.status, pre.stderr).toBe(0);
    const held = JSON.parse(pre.stdout) as Result;
    expect(held).toMatchObject({ kind: 'approved', txn: 'preauth', amount: 8_800 });
    const human = await posj(['preauth', '10']);
    expect(human.stdout).toMatch(/^APPROVED preauth stan=\d{6} .*amount=10\.00 .*held, not yet debited: posj completion AMOUNT --stan \d+ --batch \d+/);

    const over = await posj(['completion', '88.01', '--stan', String(held.stan)]);
    expect(over.status).toBe(1);
    expect(over.stdout).toMatch(/^REFUSED preauth-completion: invalid-amount/);
    const done = await posj(['completion', '80.5', '--stan', String(held.stan), '--batch', String(held.batch)]);
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/^APPROVED preauth-completion .*amount=80\.50 /);

    const noPassword = await posj(['preauth-void', '--stan', String(held.stan), '--password-fd', '3'], 'wrong-pass-1\n');
    expect(noPassword.status).toBe(1);
    expect(noPassword.stdout).toContain('REFUSED preauth-void: supervisor-refused');
    const otherStan = Number(/stan=(\d{6})/.exec(human.stdout)![1]);
    const released = await posj(['preauth-void', '--stan', String(otherStan), '--password-fd', '3'], `${PASSWORD}\n`);
    expect(released.status, released.stdout + released.stderr).toBe(0);
    expect(released.stdout).toMatch(/^APPROVED preauth-void .*amount=10\.00 /);

    const bal = await posj(['balance', '--request-id', 'bal-1']);
    expect(bal.status, bal.stderr).toBe(0);
    expect(bal.stdout).toMatch(/^APPROVED balance stan=\d{6} card=621214\*+0006 balance=\d+\.\d\d$/m);
    // The balance is not journaled: the same request id again says so instead of showing a number.
    const again = await posj(['balance', '--request-id', 'bal-1']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('balance=not kept in the journal');

    const send = await posj(['reversals', '--send']);
    expect(send.status, send.stderr).toBe(0);
    expect(send.stdout).toMatch(/^reversals sent: cleared .*; still owed none$/m);

    for (const args of [['preauth', '12.345'], ['completion', '5'], ['balance', '--request-id', 'a b']]) {
      const r = await posj(args);
      expect(r.status, args.join(' ')).toBe(2);
    }
    for (const cmd of ['completion', 'reversals']) {
      const help = await posj([cmd, '--help']);
      expect(help.status, cmd).toBe(0);
      expect(help.stdout, cmd).toMatch(/--json/);
    }
  });
});
