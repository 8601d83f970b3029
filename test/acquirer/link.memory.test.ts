// The link on simulated time: the same host over an in-memory connector and a manual clock, so timeouts
// and delays are exact and the run is deterministic (what the deterministic simulator relies on).
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcquirerLink, signOn, type LinkEvent } from '../../firmware-ts/acquirer/index.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { AcquirerHost, defaultRules, memoryConnector, type RuleAction } from '../../host-bridge/acquirer/index.js';
import { signOnRequest, textField } from '../../protocol/iso8583/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { tmpDir } from '../helpers/tmp.js';
import { BATCH, ID, request, TMK } from './harness.js';

const flush = () => new Promise((r) => setImmediate(r));

async function setup(script: (RuleAction | null)[], reachable = () => true) {
  const clock = new ManualClock();
  const host = AcquirerHost.open({
    storage: nodeStorage,
    ledgerPath: path.join(tmpDir('mem'), 'acq.jsonl'),
    tmk: TMK,
    clock,
    rules: { ...defaultRules(), script },
    random: (n) => Buffer.alloc(n, 0x5a),
  });
  const events: LinkEvent[] = [];
  const link = new AcquirerLink({
    connector: memoryConnector({ host, clock, reachable }),
    clock,
    connectTimeoutMs: 5_000,
    responseTimeoutMs: 30_000,
    onEvent: (e) => events.push(e),
  });
  /** Runs an exchange to completion, moving simulated time in `step` ms increments. */
  const run = async <T>(p: Promise<T>, step = 1_000): Promise<{ result: T; elapsed: number }> => {
    const start = clock.now();
    let done: { result: T } | undefined;
    let failed: { error: unknown } | undefined;
    p.then((result) => (done = { result }), (error: unknown) => (failed = { error }));
    for (;;) {
      await flush();
      if (failed) throw failed.error;
      if (done) return { result: done.result, elapsed: clock.now() - start };
      clock.advance(step);
    }
  };
  return { clock, host, link, events, run };
}

describe('acquirer link on simulated time', () => {
  it('connect timeout: connect-failed after exactly the configured time', async () => {
    const s = await setup([], () => false);
    const { result, elapsed } = await s.run(s.link.exchange(signOnRequest(ID, '000001', BATCH)));
    expect(result).toEqual({ kind: 'connect-failed', detail: 'connect timeout after 5000 ms' });
    expect(elapsed).toBe(5_000);
  });

  it('response timeout at 30 s; a reply at 31 s is late and reported', async () => {
    const s = await setup([null, { action: 'approve', delayMs: 31_000 }]);
    expect((await s.run(signOn(s.link, TMK, ID, '000001', BATCH))).result.kind).toBe('signed-on');
    const { result, elapsed } = await s.run(s.link.exchange(request('sale', '000002', '000000000100')));
    expect(result.kind).toBe('timeout');
    expect(elapsed).toBe(30_000);
    s.clock.advance(1_000);
    expect(s.events).toContainEqual(expect.objectContaining({ type: 'stray-response', reason: 'late', stan: '000002' }));
  });

  it('one request in flight: the second is written only after the first is answered', async () => {
    const s = await setup([null, { action: 'approve', delayMs: 2_000 }, { action: 'approve' }]);
    await s.run(signOn(s.link, TMK, ID, '000001', BATCH));
    const first = s.link.exchange(request('sale', '000002', '000000000100'));
    const second = s.link.exchange(request('sale', '000003', '000000000200'));
    const order: string[] = [];
    void first.then(() => order.push('first'));
    void second.then(() => order.push('second'));
    const { result } = await s.run(second, 500);
    expect(order).toEqual(['first', 'second']);
    expect(result.kind === 'response' && textField(result.message, 11)).toBe('000003');
    expect(s.host.state.entries.filter((e) => e.kind === 'authorization').map((e) => (e.kind === 'authorization' ? e.stan : ''))).toEqual(['000002', '000003']);
  });

  it('a reset after the debit ends the exchange as reset at the scripted time', async () => {
    const s = await setup([null, { action: 'reset', delayMs: 3_000 }]);
    await s.run(signOn(s.link, TMK, ID, '000001', BATCH));
    const { result, elapsed } = await s.run(s.link.exchange(request('sale', '000002', '000000000100')));
    expect(result).toEqual({ kind: 'reset', detail: 'ECONNRESET' });
    expect(elapsed).toBe(3_000);
  });
});
