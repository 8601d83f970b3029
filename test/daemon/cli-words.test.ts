// The words a cashier and a field engineer read (issue 10 item 4): amounts as people write them, response
// codes with their CUP meaning in Chinese and English, status counts with the STANs after them and one line
// per device, "signed on" next to the link's health, the supervisor password from stdin or a descriptor
// (never needed on the command line), and the daemon's size-bounded log file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseYuan } from '../../firmware-ts/cli/amount-arg.js';
import { countWithStans, describeDevice, describeStatus } from '../../firmware-ts/cli/status-words.js';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import type { RunningDaemon } from '../../firmware-ts/daemon/daemon.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { openFileLog } from '../../firmware-ts/daemon/file-log.js';
import { describeResponseCode, RESPONSE_CODES } from '../../firmware-ts/receipts/response-codes.js';
import { systemClock } from '../../protocol/io/clock.js';
import type { AcquirerHost } from '../../host-bridge/acquirer/index.js';
import { embeddedConfig, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
let d: RunningDaemon;
let simulator: AcquirerHost;

function posj(args: string[], opts: { stdin?: string; fd3?: string } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [POSJ, ...args], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    const fd3 = child.stdio[3] as NodeJS.WritableStream;
    if (opts.fd3 !== undefined) fd3.end(opts.fd3);
    else fd3.end();
    child.stdin!.end(opts.stdin ?? '');
  });
}

beforeAll(async () => {
  const config = { ...embeddedConfig(tmpDir('words')), timeouts: { connectMs: 1000, responseMs: 600, cardMs: 5000 }, reversal: { attemptsPerRound: 1, refuseSalesWhileStuck: false } };
  const sim = await startSimulatedDaemon({ config, log: lineLog(() => undefined, systemClock) });
  d = sim.daemon;
  simulator = sim.host!;
});

afterAll(async () => {
  await d?.stop();
});

describe('amounts as people write them', () => {
  it('12, 12.5 and 12.50 yuan are taken; anything else is refused with the reason', () => {
    expect([parseYuan('12'), parseYuan('12.5'), parseYuan('12.50'), parseYuan('0.01'), parseYuan('9999999.99')]).toEqual([1200, 1250, 1250, 1, 999_999_999]);
    const refused: Array<[string, RegExp]> = [
      ['12.345', /at most two decimals/],
      ['12,50', /no commas/],
      ['-5', /no sign/],
      ['1e3', /not an amount in yuan/],
      ['', /no amount given/],
      ['0', /more than zero/],
      ['0.00', /more than zero/],
      ['10000000', /over the limit/],
      ['12.', /not an amount in yuan/],
    ];
    for (const [v, why] of refused) expect(() => parseYuan(v), v).toThrow(why);
  });

  it('posj sale 12 is a sale of 12.00; posj sale 12.345 exits 2 saying why', async () => {
    const ok = await posj(['sale', '12', '--socket', d.socketPath]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^APPROVED sale .* amount=12\.00 /);
    const bad = await posj(['sale', '12.345', '--socket', d.socketPath]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('at most two decimals');
  });
});

describe('options that would be ignored or taken wrong', () => {
  it('refund --date takes only a day of the year, and status takes one key, before anything reaches the daemon', async () => {
    for (const date of ['0230', '1301', '0001', '123', 'ab12']) {
      const r = await posj(['refund', '1.00', '--rrn', '000000000001', '--date', date, '--socket', d.socketPath]);
      expect(r.status, date).toBe(2);
      expect(r.stderr, date).toContain('MMDD, a day of the year');
    }
    const both = await posj(['status', '--stan', '1', '--rrn', '000000000001', '--socket', d.socketPath]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('give one of --stan, --rrn, --request-id and --last, not 2');
  });
});

describe('response codes', () => {
  it('each code of the one table has its Chinese and English meaning; a decline shows it', async () => {
    expect(describeResponseCode('51')).toBe('51 余额不足 / insufficient funds');
    expect(describeResponseCode('25')).toBe('25 找不到原始交易 / original transaction not found');
    expect(describeResponseCode('Q7')).toMatch(/not in the CUP list/);
    expect(describeResponseCode('toString')).toMatch(/not in the CUP list/);
    for (const [code, m] of Object.entries(RESPONSE_CODES)) {
      expect(code).toMatch(/^[0-9A-Z]{2}$/);
      expect(m.zh).toMatch(/[\u4e00-\u9fff]/);
      expect(m.en).toMatch(/^[A-Za-z]/);
    }
    simulator.rules = { ...simulator.rules, rules: [{ when: { amount: 1300 }, then: { action: 'decline', code: '51' } }] };
    const r = await posj(['sale', '13', '--socket', d.socketPath]);
    simulator.rules = { ...simulator.rules, rules: [] };
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('response=51 余额不足 / insufficient funds');
  });
});

describe('status words', () => {
  it('counts come with their STANs; each device is one readable line', async () => {
    // A sale whose reply and reversals are lost: its reversal is owed (and stuck after one attempt).
    simulator.rules = { ...simulator.rules, rules: [{ when: { amount: 4321, mti: '0200' }, then: { action: 'drop-reply' } }, { when: { mti: '0400' }, then: { action: 'drop-reply' } }] };
    const lost = (await controlCall(d.socketPath, { op: 'sale', amount: 4321 })) as { result: { stan: number } };
    const stan = lost.result.stan;
    const r = await posj(['status', '--socket', d.socketPath]);
    simulator.rules = { ...simulator.rules, rules: [] };
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`reversals pending: 1 (STAN ${stan})`);
    expect(r.stdout).toContain(`reversals stuck: 1 (STAN ${stan}) — the cardholder may still be debited until the acquirer answers`);
    expect(r.stdout).toContain('receipts pending: 0');
    expect(r.stdout).toMatch(/^acquirer: signed on, link up since \d\d:\d\d:\d\d$/m);
    expect(r.stdout).toMatch(/^reader simulated: ready; cardsRead \d+$/m);
    expect(r.stdout).toMatch(/^printer simulated: ready; jobsPrinted \d+$/m);
    expect(r.stdout).not.toContain('{');
  });

  it('a real driver\'s health reads as state, problem, since and counters; a down link is not "signed on" alone', () => {
    const line = describeDevice('printer', {
      state: 'not-ready',
      problem: 'paper-end',
      lastStatusAt: Date.parse('2026-12-01T10:00:05'),
      paperNearEnd: true,
      jobsPrinted: 7,
      jobsFailed: 1,
      strayBytes: 0,
      waitingForRecovery: true,
      link: { state: 'open', path: '/dev/ttyUSB1', reconnects: 2 },
    });
    expect(line).toBe('printer /dev/ttyUSB1: not-ready; line open; since 10:00:05; problem: paper-end; paper low; jobsPrinted 7, jobsFailed 1, strayBytes 0, link.reconnects 2');
    expect(countWithStans([687, 690])).toBe('2 (STAN 687, 690)');
    const base = { terminalId: 'T', stan: 1, batch: 1, pendingReversals: [], stuckReversals: [], pendingReceipts: [], totals: { saleCount: 0, saleAmount: 0, voidCount: 0, voidAmount: 0, refundCount: 0, refundAmount: 0 }, supervisor: { set: true, lockedForMs: 0 }, settlement: null, devices: {} };
    const down = describeStatus({ ...base, signedOn: true, acquirerLink: { state: 'down', since: Date.parse('2026-12-01T10:03:04'), detail: 'closed by peer' } });
    expect(down).toContain('acquirer: signed on, but link DOWN since 10:03:04 (closed by peer): the next transaction redials');
  });
});

describe('the supervisor password never has to be on the command line', () => {
  it('set from stdin, a void with the password on a file descriptor, a missing one refused', async () => {
    const set = await posj(['supervisor', 'set', '--socket', d.socketPath], { stdin: '739164\n' });
    expect(set.status, set.stderr).toBe(0);
    const sale = (await controlCall(d.socketPath, { op: 'sale', amount: 2500 })) as { result: { stan: number; kind: string } };
    expect(sale.result.kind).toBe('approved');
    const wrong = await posj(['void', '--stan', String(sale.result.stan), '--password-fd', '3', '--socket', d.socketPath], { fd3: '000000\n' });
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toMatch(/^REFUSED void: supervisor-refused/);
    const voided = await posj(['void', '--stan', String(sale.result.stan), '--password-fd', '3', '--socket', d.socketPath], { fd3: '739164\n' });
    expect(voided.status, voided.stdout + voided.stderr).toBe(0);
    expect(voided.stdout).toMatch(/^APPROVED void /);
    const none = await posj(['void', '--stan', String(sale.result.stan), '--socket', d.socketPath], { stdin: '' });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no password read for "supervisor password"');
  });
});

describe('the daemon log file', () => {
  it('writes a batch of events in order, each at its own time, and event() alone; close() writes out what is left', async () => {
    const dir = tmpDir('file-log-batch');
    const log = await openFileLog({ file: path.join(dir, 'posj'), maxBytes: 64 * 1024, keep: 2 });
    const read = () => fs.readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const t = Date.UTC(2026, 11, 1, 10, 0, 0);
    log.events!([
      { name: 'receipt-printed', fields: { stan: 7, duplicate: false }, at: t },
      { name: 'sale', fields: { stan: 7, kind: 'approved', rrn: undefined, authCode: null }, at: t + 3 },
    ]);
    for (let waited = 0; waited < 10_000 && read().length < 2; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect(read()).toEqual([
      { level: 30, time: '2026-12-01T10:00:00.000Z', stan: 7, duplicate: false, event: 'receipt-printed' },
      { level: 30, time: '2026-12-01T10:00:00.003Z', stan: 7, kind: 'approved', event: 'sale' },
    ]);
    log.event('stopped', { signal: 'SIGTERM' }, t + 10);
    log.close();
    expect(read().at(-1)).toEqual({ level: 30, time: '2026-12-01T10:00:00.010Z', signal: 'SIGTERM', event: 'stopped' });
  });

  it('rolls over by size and keeps a bounded number of files', async () => {
    const dir = tmpDir('file-log');
    const log = await openFileLog({ file: path.join(dir, 'posj'), maxBytes: 64 * 1024, keep: 2 });
    // As a daemon logs: a few events at a time, the file written between them.
    for (let i = 0; i < 6000; i++) {
      log.event('sale', { stan: i, amount: '12.50 CNY', detail: 'x'.repeat(40) });
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
    }
    log.close();
    // pino-roll numbers its files posj.1.log, posj.2.log, ...: the newest is the highest number (not the
    // last in text order once past 9). Its worker flushes a moment after close; under load that can take a while.
    const logFiles = () => fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort((a, b) => Number(a.split('.').at(-2)) - Number(b.split('.').at(-2)));
    // A roll can leave the newest file still empty: the last line is in the newest file that has one.
    const lastLine = () => logFiles().map((f) => fs.readFileSync(path.join(dir, f), 'utf8').trim()).filter(Boolean).at(-1)?.split('\n').at(-1) ?? '';
    for (let waited = 0; waited < 10_000 && !lastLine().includes('"stan":5999'); waited += 50) await new Promise((r) => setTimeout(r, 50));
    const files = logFiles();
    const total = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(files.length).toBeGreaterThan(1);
    expect(files.length).toBeLessThanOrEqual(3);
    expect(total).toBeLessThan(3 * 64 * 1024 + 8 * 1024);
    expect(JSON.parse(lastLine())).toMatchObject({ event: 'sale', stan: 5999, amount: '12.50 CNY' });
  });
});
