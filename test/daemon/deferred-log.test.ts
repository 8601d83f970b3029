// The daemon's deferred log (daemon/deferred-log.ts): nothing is written in the turn an event happens, the
// next turn writes every event in order with the time it happened at, and flush() writes at once.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../protocol/io/clock.js';
import { deferredLog } from '../../firmware-ts/daemon/deferred-log.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';

function manualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, setTimer: () => ({ cancel: () => undefined }), advance: (ms) => void (now += ms) };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('deferred daemon log', () => {
  it('writes in the next turn, in order, each event at its own time', async () => {
    const clock = manualClock(Date.UTC(2026, 11, 1, 10, 0, 0));
    const lines: string[] = [];
    const log = deferredLog(lineLog((l) => lines.push(l), clock), clock);
    log.event('sale', { stan: 1, kind: 'approved' });
    clock.advance(5);
    log.event('receipt-printed', { stan: 1 });
    expect(lines).toEqual([]);
    clock.advance(1000);
    await nextTurn();
    expect(lines).toEqual(['2026-12-01T10:00:00.000Z sale stan=1 kind=approved\n', '2026-12-01T10:00:00.005Z receipt-printed stan=1\n']);
    log.event('after', {});
    await nextTurn();
    expect(lines).toHaveLength(3);
  });

  it('flush writes what is queued at once, and the next turn writes nothing twice', async () => {
    const clock = manualClock(0);
    const lines: string[] = [];
    const log = deferredLog(lineLog((l) => lines.push(l), clock), clock);
    log.event('shutdown', { signal: 'SIGTERM' });
    log.flush();
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z shutdown signal=SIGTERM\n']);
    await nextTurn();
    expect(lines).toHaveLength(1);
  });
});
