// Repeated warnings from a serial line, said once per window instead of once per event: a device that
// sends garbage produces a bad line every few bytes, and one log line each turned 100 MB of garbage into
// 165 MB of log. The first warning of a kind is logged at once; the rest within the window are counted and
// summed up in one line when the window ends, so nothing is hidden and the log stays bounded.
import type { Clock, TimerHandle } from './clock.js';
import type { DeviceLog } from './device-log.js';

export const DEFAULT_LOG_WINDOW_MS = 10_000;

interface KindState {
  suppressed: number;
  lastMessage: string;
  timer: TimerHandle | undefined;
}

export class LogLimiter {
  /** One entry per kind of warning; kinds are a fixed set of names chosen by the caller. */
  private readonly kinds = new Map<string, KindState>();
  private closed = false;

  constructor(
    private readonly log: DeviceLog,
    private readonly clock: Clock,
    readonly windowMs = DEFAULT_LOG_WINDOW_MS,
  ) {}

  /** Logs `message` unless a warning of the same `kind` was logged within the window. */
  warn(kind: string, message: string): void {
    if (this.closed) return;
    const k = this.kinds.get(kind);
    if (k) {
      k.suppressed++;
      k.lastMessage = message;
      return;
    }
    this.log.warn(message);
    const state: KindState = { suppressed: 0, lastMessage: message, timer: undefined };
    this.kinds.set(kind, state);
    state.timer = this.clock.setTimer(this.windowMs, () => this.endWindow(kind, state));
  }

  /** Warnings of `kind` held back so far in the current window. */
  suppressed(kind: string): number {
    return this.kinds.get(kind)?.suppressed ?? 0;
  }

  /** Logs what is still counted and stops every timer. */
  close(): void {
    if (this.closed) return;
    for (const [kind, state] of this.kinds) {
      state.timer?.cancel();
      this.summarize(kind, state);
    }
    this.kinds.clear();
    this.closed = true;
  }

  private endWindow(kind: string, state: KindState): void {
    if (state.suppressed === 0) {
      this.kinds.delete(kind);
      return;
    }
    this.summarize(kind, state);
    // Still going: keep counting for another window rather than logging the next one at once.
    state.suppressed = 0;
    state.timer = this.clock.setTimer(this.windowMs, () => this.endWindow(kind, state));
  }

  private summarize(kind: string, state: KindState): void {
    if (state.suppressed === 0) return;
    const s = this.windowMs / 1000;
    this.log.warn(`${state.suppressed} more "${kind}" warning(s) in the last ${s} s; the last: ${state.lastMessage}`);
  }
}
