// A device or dependency call with a deadline on the Clock: whatever the device does — answers, throws, or
// never answers — the engine gets one of three plain results and decides what happens next itself. A late
// answer after the deadline is dropped (the engine has already moved on), after `onLate` has seen it: a
// PIN block that arrives late must still be wiped.
import type { Clock } from '../../protocol/io/clock.js';

export type Bounded<T> = { kind: 'ok'; value: T } | { kind: 'threw'; error: unknown } | { kind: 'timeout' };

export function bounded<T>(clock: Clock, ms: number, call: () => Promise<T>, onLate?: (value: T) => void): Promise<Bounded<T>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Bounded<T>) => {
      if (done) return;
      done = true;
      timer.cancel();
      resolve(r);
    };
    const timer = clock.setTimer(ms, () => finish({ kind: 'timeout' }));
    let started: Promise<T>;
    try {
      started = call();
    } catch (error) {
      finish({ kind: 'threw', error });
      return;
    }
    started.then(
      (value) => {
        if (done) onLate?.(value);
        else finish({ kind: 'ok', value });
      },
      (error: unknown) => finish({ kind: 'threw', error }),
    );
  });
}

/** What a failed bounded call says in a log line or a cashier's message. */
export function boundedFailure(r: Exclude<Bounded<unknown>, { kind: 'ok' }>, ms: number): string {
  if (r.kind === 'timeout') return `no answer within ${ms} ms`;
  return r.error instanceof Error ? r.error.message : String(r.error);
}

/** Resolves after `ms` on the Clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => void clock.setTimer(ms, resolve));
}
