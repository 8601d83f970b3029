// The daemon's deferred log (daemon/deferred-log.ts): nothing is written in the turn an event happens, the
// next turn writes every event in order with the time it happened at, in one write per output, and flush()
// writes at once.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../protocol/io/clock.js';
import { deferredLog } from '../../firmware-ts/daemon/deferred-log.js';
import { lineLog, type DaemonLog } from '../../firmware-ts/daemon/daemon-log.js';
import { teeLog } from '../../firmware-ts/daemon/file-log.js';

function manualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, setTimer: () => ({ cancel: () => undefined }), advance: (ms) => void (now += ms) };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('deferred daemon log', () => {
  it('writes in the next turn, in order, each event at its own time, one write for the turn', async () => {
    const clock = manualClock(Date.UTC(2026, 11, 1, 10, 0, 0));
    const lines: string[] = [];
    const log = deferredLog(lineLog((l) => lines.push(l), clock), clock);
    log.event('sale', { stan: 1, kind: 'approved' });
    clock.advance(5);
    log.event('receipt-printed', { stan: 1 });
    expect(lines).toEqual([]);
    clock.advance(1000);
    await nextTurn();
    expect(lines).toEqual(['2026-12-01T10:00:00.000Z sale stan=1 kind=approved\n2026-12-01T10:00:00.005Z receipt-printed stan=1\n']);
    log.event('after', {});
    await nextTurn();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('2026-12-01T10:00:01.005Z after\n');
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

  it('hands a turn to every log of a tee together, and to a log without a batch write one event at a time', async () => {
    const clock = manualClock(0);
    const batched: string[] = [];
    const single: string[] = [];
    const one: DaemonLog = { event: (name, fields, at) => single.push(`${at} ${name} ${JSON.stringify(fields ?? {})}`) };
    const log = deferredLog(teeLog(lineLog((l) => batched.push(l), clock), one), clock);
    log.event('a', { stan: 1, skipped: undefined, gone: null });
    clock.advance(2);
    log.event('b');
    await nextTurn();
    expect(batched).toEqual(['1970-01-01T00:00:00.000Z a stan=1\n1970-01-01T00:00:00.002Z b\n']);
    expect(single).toEqual(['0 a {"stan":1,"gone":null}', '2 b {}']);
  });
});
