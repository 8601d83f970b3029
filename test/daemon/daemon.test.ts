// The daemon over a real Unix socket with the acquirer simulator on a real loopback TCP port: a sale, status
// JSON, bad and over-long request lines (typed error replies, daemon keeps serving), settlement; and the
// built `posj` CLI end to end: clients and their exit codes, a bad config key → exit 2. Each test runs its own
// daemon on its own state directory, so none depends on what another left behind (or on their order).
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { MAX_LINE_BYTES } from '../../firmware-ts/daemon/control-protocol.js';
import type { RunningDaemon } from '../../firmware-ts/daemon/daemon.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import type { AcquirerHost } from '../../host-bridge/acquirer/index.js';
import { embeddedConfig, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
let logLines: string[] = [];
let d: RunningDaemon | undefined;
let simulator: AcquirerHost;
let varDir: string;

/** Sends raw bytes and collects `lines` reply lines. */
function raw(socketPath: string, bytes: Buffer | string, lines: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let buf = '';
    s.on('error', reject);
    s.on('data', (c) => {
      buf += c.toString('utf8');
      const got = buf.split('\n').filter(Boolean);
      if (got.length >= lines) {
        s.destroy();
        resolve(got.map((l) => JSON.parse(l)));
      }
    });
    s.write(bytes);
  });
}

/** Runs the built CLI without blocking this process's event loop (the daemon under test lives in it). */
function posj(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [POSJ, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A fresh daemon (embedded simulated acquirer, reader, printer) on a fresh state directory. */
async function fresh(): Promise<RunningDaemon> {
  varDir = tmpDir('daemon');
  logLines = [];
  const config = { ...embeddedConfig(varDir), timeouts: { connectMs: 1000, responseMs: 800, cardMs: 5000 } };
  const sim = await startSimulatedDaemon({ config, log: lineLog((l) => logLines.push(l), systemClock) });
  expect(sim.port).toBeGreaterThan(0);
  d = sim.daemon;
  simulator = sim.host!;
  return d;
}

afterEach(async () => {
  await d?.stop();
  d = undefined;
});

describe('posj run: control API', () => {
  it('a sale over the socket is approved, and status --json reports the terminal', async () => {
    const d = await fresh();
    const res = await controlCall(d.socketPath, { id: 7, op: 'sale', amount: 1500 });
    expect(res).toMatchObject({ id: 7, ok: true, result: { kind: 'approved', txn: 'sale', amount: 1500 } });
    const st = await controlCall(d.socketPath, { op: 'status' });
    expect(st.ok).toBe(true);
    const s = (st as { result: Record<string, unknown> }).result;
    for (const k of ['stan', 'batch', 'pendingReversals', 'stuckReversals', 'pendingReceipts', 'totals', 'devices', 'supervisor']) expect(s, k).toHaveProperty(k);
    expect(s.totals).toMatchObject({ saleCount: 1, saleAmount: 1500 });
    // Logs carry masked PANs only.
    expect(logLines.join('')).toMatch(/621214\*+0006/);
    expect(logLines.join('')).not.toMatch(/6212140000000000006/);
  });

  it('malformed, over-long and unknown requests get typed error replies and the daemon keeps serving', async () => {
    const d = await fresh();
    const replies = await raw(d.socketPath, '{not json\n[1,2]\n{"op":"launch"}\n{"op":"sale","amount":-5}\n', 4);
    expect(replies.map((r) => (r.error as { code: string }).code)).toEqual(['BAD_JSON', 'BAD_REQUEST', 'UNKNOWN_OP', 'BAD_REQUEST']);
    const long = await raw(d.socketPath, Buffer.concat([Buffer.alloc(MAX_LINE_BYTES + 10, 0x61), Buffer.from('\n{"op":"ping"}\n')]), 2);
    expect(long[0]).toMatchObject({ ok: false, error: { code: 'LINE_TOO_LONG' } });
    expect(long[1]).toMatchObject({ ok: true, result: { pong: true } });
    expect((await controlCall(d.socketPath, { op: 'ping' })).ok).toBe(true);
  });

  it('void needs the supervisor password: refused for that reason without one and with a wrong one, approved with the right one', async () => {
    const d = await fresh();
    const sale = (await controlCall(d.socketPath, { op: 'sale', amount: 2500 })) as { ok: true; result: { kind: string; stan: number } };
    expect(sale.result.kind).toBe('approved');
    const stan = sale.result.stan;
    const voidWith = (password: string) => controlCall(d.socketPath, { op: 'void', stan, password });
    // No password set yet: refused because of the supervisor, not for any other reason.
    expect(await voidWith('739164')).toMatchObject({ ok: true, result: { kind: 'refused', reason: 'supervisor-refused', detail: expect.stringContaining('no supervisor password is set') } });
    expect(await controlCall(d.socketPath, { op: 'supervisor-set', password: '123456' })).toMatchObject({ ok: false, error: { code: 'SUPERVISOR_WEAK_PASSWORD' } });
    expect((await controlCall(d.socketPath, { op: 'supervisor-set', password: '739164' })).ok).toBe(true);
    expect(await voidWith('739165')).toMatchObject({ ok: true, result: { kind: 'refused', reason: 'supervisor-refused', detail: expect.stringContaining('wrong supervisor password') } });
    expect(await controlCall(d.socketPath, { op: 'status', stan })).toMatchObject({ ok: true, result: { state: 'approved' } });
    // The right password voids it — so the refusals above were the password's doing.
    expect(await voidWith('739164')).toMatchObject({ ok: true, result: { kind: 'approved', txn: 'void', amount: 2500 } });
    expect(await controlCall(d.socketPath, { op: 'status', stan })).toMatchObject({ ok: true, result: { state: 'voided' } });
  });

  it('a lost reply is reversed at the acquirer; settlement balances with only the sale that stands', async () => {
    const d = await fresh();
    expect(await controlCall(d.socketPath, { op: 'sale', amount: 1500 })).toMatchObject({ ok: true, result: { kind: 'approved' } });
    simulator.rules = { ...simulator.rules, rules: [{ when: { amount: 4321, mti: '0200' }, then: { action: 'drop-reply' } }] };
    expect(await controlCall(d.socketPath, { op: 'sale', amount: 4321 })).toMatchObject({ ok: true, result: { kind: 'reversed', reason: '98', reversal: 'cleared' } });
    simulator.rules = { ...simulator.rules, rules: [] };
    const settled = await controlCall(d.socketPath, { op: 'settle' });
    expect(settled).toMatchObject({ ok: true, result: { batch: 1, balanced: true, nextBatch: 2 } });
    const host = simulator.state.batchTotals('12345678', '000001');
    expect(Number(host.debitAmount)).toBe(1500);
  });

  it('a request id repeated returns the first outcome; a malformed one is a bad request', async () => {
    const d = await fresh();
    const first = await controlCall(d.socketPath, { op: 'sale', amount: 990, requestId: 'till-3:17' });
    expect(first).toMatchObject({ ok: true, result: { kind: 'approved', requestId: 'till-3:17' } });
    const again = await controlCall(d.socketPath, { op: 'sale', amount: 990, requestId: 'till-3:17' });
    expect(again).toMatchObject({ ok: true, result: { kind: 'approved', replayed: true, stan: (first as { result: { stan: number } }).result.stan } });
    expect(simulator.state.entries.filter((e) => e.kind === 'authorization')).toHaveLength(1);
    expect(await controlCall(d.socketPath, { op: 'sale', amount: 990, requestId: 'no spaces' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await controlCall(d.socketPath, { op: 'status', requestId: 'till-3:17' })).toMatchObject({ ok: true, result: { found: true, requestId: 'till-3:17', state: 'approved' } });
  });
});

describe('posj CLI against the daemon', () => {
  it('sale, status --json, reversals, a declined sale (exit 1) and no daemon (exit 2)', async () => {
    const d = await fresh();
    const sock = ['--socket', d.socketPath];
    const sale = (await posj(['sale', '20.00', ...sock]));
    expect(sale.status, sale.stderr).toBe(0);
    expect(sale.stdout).toMatch(/^APPROVED sale stan=\d{6}/);
    const st = (await posj(['status', '--json', ...sock]));
    expect(st.status).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ batch: 1, pendingReversals: [], stuckReversals: [], totals: { saleCount: 1, saleAmount: 2000 } });
    expect((await posj(['reversals', ...sock])).stdout).toContain('no reversals owed');
    simulator.rules = { ...simulator.rules, rules: [{ when: { amount: 777 }, then: { action: 'decline', code: '51' } }] };
    const declined = (await posj(['sale', '7.77', ...sock]));
    expect(declined.status).toBe(1);
    expect(declined.stdout).toContain('DECLINED');
    simulator.rules = { ...simulator.rules, rules: [] };
    const none = (await posj(['status', '--socket', path.join(varDir, 'nobody.sock')]));
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no posj daemon');
  });

  it('posj run --config with a bad key exits 2 naming the key', async () => {
    const cfgDir = tmpDir('config');
    const good = { journalDir: 'j', terminalId: '12345678', merchantId: '898310048990001', merchantName: 'M', acquirer: 'simulated', reader: 'simulated', printer: 'simulated' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...good, terminalId: '123' }, 'terminalId'],
      [{ ...good, merchantId: undefined }, 'merchantId'],
      [{ ...good, acquirer: { host: 'h', port: 70000, tmk: '00' } }, 'acquirer.port'],
      [{ ...good, printer: { path: '/dev/ttyS0' } }, 'printer.baud'],
    ];
    for (const [cfg, key] of cases) {
      const file = path.join(cfgDir, `${key}.json`);
      fs.writeFileSync(file, JSON.stringify(cfg));
      const r = (await posj(['run', '--config', file]));
      expect(r.status, key).toBe(2);
      expect(r.stderr, key).toContain(`config key "${key}"`);
    }
  });

  it('the terminal build refuses a "simulated" part: the acquirer simulator is bench code', async () => {
    const file = path.join(tmpDir('config'), 'simulated.json');
    fs.writeFileSync(file, JSON.stringify({ journalDir: 'j', terminalId: '12345678', merchantId: '898310048990001', merchantName: 'M', acquirer: 'simulated', reader: 'simulated', printer: 'simulated' }));
    const r = await posj(['run', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('config key "acquirer": is "simulated"');
    expect(fs.existsSync(path.join(path.dirname(file), 'j'))).toBe(false);
  });
});
