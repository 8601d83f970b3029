// The control API while money moves, over the daemon's real Unix socket with the acquirer simulator on a
// real loopback port: read-only requests answer while a sale waits for the host, money requests wait their
// turn, and connections are bounded in number and idle time with a typed refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import type { ControlResponse } from '../../firmware-ts/daemon/control-protocol.js';
import type { RunningDaemon } from '../../firmware-ts/daemon/daemon.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import type { AcquirerHost } from '../../host-bridge/acquirer/index.js';
import { embeddedConfig, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { tmpDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const SLOW = 2222;
let d: RunningDaemon;
let simulator: AcquirerHost;
const log: string[] = [];

beforeAll(async () => {
  const config = { ...embeddedConfig(tmpDir('control')), timeouts: { connectMs: 1000, responseMs: 5000, cardMs: 5000 } };
  const sim = await startSimulatedDaemon({ config, log: lineLog((l) => log.push(l), systemClock), controlLimits: { maxConnections: 4, idleMs: 400 } });
  d = sim.daemon;
  simulator = sim.host!;
});

afterAll(async () => {
  await d?.stop();
});

/** Tracks whether a promise has settled yet. */
function watch<T>(p: Promise<T>): { p: Promise<T>; settled: () => boolean } {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  return { p, settled: () => done };
}

/** A connection that only reads: collects reply lines. */
function quietConnection(path: string): Promise<{ socket: net.Socket; replies: ControlResponse[]; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const replies: ControlResponse[] = [];
    let closed = false;
    let buf = '';
    socket.on('data', (c) => {
      buf += c.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        replies.push(JSON.parse(buf.slice(0, nl)) as ControlResponse);
        buf = buf.slice(nl + 1);
      }
    });
    socket.on('close', () => (closed = true));
    socket.once('error', reject);
    socket.once('connect', () => resolve({ socket, replies, closed: () => closed }));
  });
}

describe('control API while a sale waits for the host', () => {
  it('ping, status, reversals and health answer while the sale is in flight; a second sale waits its turn', async () => {
    simulator.rules = { ...simulator.rules, rules: [{ when: { amount: SLOW, mti: '0200' }, then: { action: 'approve', delayMs: 1500 } }] };
    const sale = watch(controlCall(d.socketPath, { op: 'sale', amount: SLOW }));
    await until(() => Object.keys(d.journal.state.inFlight).length > 0, 'the sale to be in flight', 3000, 5);
    const second = watch(controlCall(d.socketPath, { op: 'sale', amount: 100 }));
    for (const op of ['ping', 'status', 'reversals', 'health']) {
      const res = await controlCall(d.socketPath, { op });
      expect(res.ok, op).toBe(true);
      expect(sale.settled(), `${op} must answer before the sale`).toBe(false);
    }
    const status = (await controlCall(d.socketPath, { op: 'status' })) as { result: { busy: { op: string; waiting: number }; inFlight: number[] } };
    expect(status.result.busy).toMatchObject({ op: 'sale', waiting: 1 });
    expect(status.result.inFlight).toHaveLength(1);
    expect(second.settled()).toBe(false);
    const [a, b] = [await sale.p, await second.p];
    expect(a).toMatchObject({ ok: true, result: { kind: 'approved', amount: SLOW } });
    expect(b).toMatchObject({ ok: true, result: { kind: 'approved', amount: 100 } });
    // Serialized: the second sale took the next STAN after the slow one was done.
    expect((b as { result: { stan: number } }).result.stan).toBe((a as { result: { stan: number } }).result.stan + 1);
    simulator.rules = { ...simulator.rules, rules: [] };
  });
});

describe('control connections are bounded', () => {
  it('one connection over the limit is refused with TOO_MANY_CONNECTIONS; the others keep working', async () => {
    const open = await Promise.all([1, 2, 3, 4].map(() => quietConnection(d.socketPath)));
    const extra = await quietConnection(d.socketPath);
    await until(() => extra.closed(), 'the refused connection to close', 2000, 5);
    expect(extra.replies).toEqual([{ ok: false, error: { code: 'TOO_MANY_CONNECTIONS', message: expect.stringContaining('limit') } }]);
    open[0]!.socket.write('{"op":"ping","id":1}\n');
    await until(() => open[0]!.replies.length === 1, 'the ping on an open connection', 2000, 5);
    expect(open[0]!.replies[0]).toEqual({ id: 1, ok: true, result: { pong: true } });
    for (const c of open) c.socket.destroy();
    // The slots free up once the daemon has seen the closes.
    for (let i = 0; i < 100 && !(await controlCall(d.socketPath, { op: 'ping' })).ok; i++) await new Promise((r) => setTimeout(r, 10));
  });

  it('an idle connection is told IDLE and closed; one with a request being answered is not', async () => {
    const c = await quietConnection(d.socketPath);
    await until(() => c.closed(), 'the idle connection to close', 3000, 10);
    expect(c.replies).toEqual([{ ok: false, error: { code: 'IDLE', message: expect.stringContaining('400 ms') } }]);

    simulator.rules = { ...simulator.rules, rules: [{ when: { amount: SLOW, mti: '0200' }, then: { action: 'approve', delayMs: 1200 } }] };
    const busy = await quietConnection(d.socketPath);
    busy.socket.write(JSON.stringify({ op: 'sale', amount: SLOW, id: 'slow' }) + '\n');
    await until(() => busy.replies.length === 1, 'the slow sale answer', 5000, 10);
    expect(busy.replies[0]).toMatchObject({ id: 'slow', ok: true, result: { kind: 'approved' } });
    simulator.rules = { ...simulator.rules, rules: [] };
    busy.socket.destroy();
  });
});
