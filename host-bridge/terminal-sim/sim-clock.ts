// Simulated time for the deterministic simulator (DESIGN rule 5): the engine, the link and the network
// all take their time and timers from here. Timers fire in (time, sequence) order, one at a time, so a
// run depends only on its seed; time moves only when the simulator asks for the next timer.
import type { Clock, TimerHandle } from '../../protocol/io/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class SimClock implements Clock {
  private t: number;
  private seq = 0;
  /** Kept sorted by (at, seq); small in practice (a handful of network and retry timers). */
  private timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: Timer = { at: this.t + Math.max(0, Math.floor(ms)), seq: this.seq++, fn, cancelled: false };
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** When the next live timer is due, or null when none is set. */
  nextAt(): number | null {
    this.prune();
    return this.timers[0]?.at ?? null;
  }

  /** Moves time to the next live timer and fires it; false when no timer is set. */
  runNext(): boolean {
    this.prune();
    const next = this.timers.shift();
    if (!next) return false;
    this.t = Math.max(this.t, next.at);
    next.cancelled = true;
    next.fn();
    return true;
  }

  /** Moves time forward without firing anything (the caller fired whatever was due first). */
  skipTo(t: number): void {
    this.t = Math.max(this.t, t);
  }

  get pending(): number {
    this.prune();
    return this.timers.length;
  }

  private prune(): void {
    while (this.timers[0]?.cancelled) this.timers.shift();
    if (this.timers.length > 64) this.timers = this.timers.filter((x) => !x.cancelled);
  }
}
