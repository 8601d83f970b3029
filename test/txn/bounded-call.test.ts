// A device call with a deadline on the Clock, on its own (issue 14, mutation run): each of the three plain
// results, a throw before the promise exists, a late answer dropped after `onLate` saw it, the timer gone
// once decided, the words a cashier reads, and sleep on the Clock.
import { describe, expect, it } from 'vitest';
import { bounded, boundedFailure, sleep } from '../../firmware-ts/txn/bounded-call.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A call the test answers by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settled = async <T>(p: Promise<T>): Promise<T | 'pending'> => Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);

describe('bounded', () => {
  it('an answer in time is ok, and its timer is cancelled', async () => {
    const clock = new ManualClock();
    const d = deferred<number>();
    const p = bounded(clock, 1_000, () => d.promise);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(999);
    expect(await settled(p)).toBe('pending');
    d.resolve(7);
    expect(await p).toEqual({ kind: 'ok', value: 7 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('a rejection is threw with its error; a throw before any promise is too', async () => {
    const clock = new ManualClock();
    const err = new Error('port closed');
    const d = deferred<number>();
    const p = bounded(clock, 1_000, () => d.promise);
    d.reject(err);
    expect(await p).toEqual({ kind: 'threw', error: err });
    expect(clock.pendingTimers).toBe(0);
    const sync = await bounded(clock, 1_000, () => {
      throw err;
    });
    expect(sync).toEqual({ kind: 'threw', error: err });
    expect(clock.pendingTimers).toBe(0);
  });

  it('no answer by the deadline is a timeout; the late answer goes to onLate only, and a late rejection to nobody', async () => {
    const clock = new ManualClock();
    const late: number[] = [];
    const d = deferred<number>();
    const p = bounded(clock, 1_000, () => d.promise, (v) => late.push(v));
    clock.advance(1_000);
    expect(await p).toEqual({ kind: 'timeout' });
    expect(late).toEqual([]);
    d.resolve(9);
    await d.promise;
    await settled(p);
    expect(late).toEqual([9]);
    const r = deferred<number>();
    const q = bounded(clock, 10, () => r.promise, (v) => late.push(v));
    clock.advance(10);
    expect(await q).toEqual({ kind: 'timeout' });
    r.reject(new Error('late'));
    await r.promise.catch(() => undefined);
    expect(late).toEqual([9]);
  });

  it('an answer in time never reaches onLate', async () => {
    const clock = new ManualClock();
    const late: number[] = [];
    expect(await bounded(clock, 1_000, async () => 3, (v) => late.push(v))).toEqual({ kind: 'ok', value: 3 });
    expect(late).toEqual([]);
  });
});

describe('boundedFailure', () => {
  it('says the deadline, the error message, or the thrown value', () => {
    expect(boundedFailure({ kind: 'timeout' }, 15_000)).toBe('no answer within 15000 ms');
    expect(boundedFailure({ kind: 'threw', error: new Error('EIO on write') }, 1)).toBe('EIO on write');
    expect(boundedFailure({ kind: 'threw', error: 'reader busy' }, 1)).toBe('reader busy');
  });
});

describe('sleep', () => {
  it('resolves when the Clock reaches the time, not before', async () => {
    const clock = new ManualClock();
    let done = false;
    const p = sleep(clock, 500).then(() => (done = true));
    clock.advance(499);
    await settled(p);
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
  });
});
