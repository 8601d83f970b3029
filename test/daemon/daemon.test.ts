// The daemon over a real Unix socket with the acquirer simulator on a real loopback TCP port: a sale, status
// JSON, bad and over-long request lines (typed error replies, daemon keeps serving), settlement; and the
// built `posj` CLI end to end: clients and their exit codes, a bad config key → exit 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const logLines: string[] = [];
let d: RunningDaemon;
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

beforeAll(async () => {
  varDir = tmpDir('daemon');
  const config = { ...embeddedConfig(varDir), timeouts: { connectMs: 1000, responseMs: 800, cardMs: 5000 } };
  const sim = await startSimulatedDaemon({ config, log: lineLog((l) => logLines.push(l), systemClock) });
  expect(sim.port).toBeGreaterThan(0);
  d = sim.daemon;
  simulator = sim.host!;
});

afterAll(async () => {
  await d?.stop();
});

describe('posj run: control API', () => {
  it('a sale over the socket is approved, and status --json reports the terminal', async () => {
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
    const replies = await raw(d.socketPath, '{not json\n[1,2]\n{"op":"launch"}\n{"op":"sale","amount":-5}\n', 4);
    expect(replies.map((r) => (r.error as { code: string }).code)).toEqual(['BAD_JSON', 'BAD_REQUEST', 'UNKNOWN_OP', 'BAD_REQUEST']);
    const long = await raw(d.socketPath, Buffer.concat([Buffer.alloc(MAX_LINE_BYTES + 10, 0x61), Buffer.from('\n{"op":"ping"}\n')]), 2);
    expect(long[0]).toMatchObject({ ok: false, error: { code: 'LINE_TOO_LONG' } });
    expect(long[1]).toMatchObject({ ok: true, result: { pong: true } });
    expect((await controlCall(d.socketPath, { op: 'ping' })).ok).toBe(true);
  });

  it('a lost reply is reversed; void needs the supervisor password; settlement balances', async () => {
    expect(await controlCall(d.socketPath, { op: 'void', stan: 2, password: '739164' })).toMatchObject({ ok: true, result: { kind: 'refused' } });
    expect(await controlCall(d.socketPath, { op: 'supervisor-set', password: '123456' })).toMatchObject({ ok: false, error: { code: 'SUPERVISOR_WEAK_PASSWORD' } });
    expect((await controlCall(d.socketPath, { op: 'supervisor-set', password: '739164' })).ok).toBe(true);
    simulator.rules = { ...simulator.rules, rules: [{ when: { amount: 4321 }, then: { action: 'drop-reply' } }] };
    expect(await controlCall(d.socketPath, { op: 'sale', amount: 4321 })).toMatchObject({ ok: true, result: { kind: 'reversed', reason: '98' } });
    simulator.rules = { ...simulator.rules, rules: [] };
    const settled = await controlCall(d.socketPath, { op: 'settle' });
    expect(settled).toMatchObject({ ok: true, result: { batch: 1, balanced: true, nextBatch: 2 } });
    const host = simulator.state.batchTotals('12345678', '000001');
    expect(Number(host.debitAmount)).toBe(1500);
  });
});

describe('posj CLI against the daemon', () => {
  it('sale, status --json, reversals, a declined sale (exit 1) and no daemon (exit 2)', async () => {
    const sock = ['--socket', d.socketPath];
    const sale = (await posj(['sale', '20.00', ...sock]));
    expect(sale.status, sale.stderr).toBe(0);
    expect(sale.stdout).toMatch(/^APPROVED sale stan=\d{6}/);
    const st = (await posj(['status', '--json', ...sock]));
    expect(st.status).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ batch: 2, pendingReversals: [], stuckReversals: [] });
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
