// A Clock whose time only moves when the test says so, for timer-driven logic (retransmission, backoff).
import type { Clock, TimerHandle } from '../../protocol/io/clock.js';

interface Pending {
  at: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private t: number;
  private order = 0;
  private timers: Pending[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, ms), order: this.order++, fn, cancelled: false };
    this.timers.push(p);
    return { cancel: () => void (p.cancelled = true) };
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((p) => !p.cancelled).length;
  }

  /** Moves time forward by `ms`, firing due timers in order (timers set while firing included). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((p) => !p.cancelled);
      const due = this.timers.filter((p) => p.at <= end).sort((x, y) => x.at - y.at || x.order - y.order)[0];
      if (!due) break;
      this.t = due.at;
      due.cancelled = true;
      due.fn();
    }
    this.t = end;
  }
}
