// Polls until the printer is ready again, backing off so a printer with no paper for an hour is asked a few
// hundred times, not a few million. Time comes from the Clock, so tests drive it without waiting.
import type { Clock, TimerHandle } from '../../../protocol/io/clock.js';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export class RecoveryPoller {
  private timer: TimerHandle | null = null;
  private delay: number;
  private polling = false;
  private on = false;

  constructor(
    private readonly clock: Clock,
    private readonly backoff: Backoff,
    /** One poll; resolves true when the printer is ready (polling stops). */
    private readonly poll: () => Promise<boolean>,
  ) {
    this.delay = backoff.initialMs;
  }

  get active(): boolean {
    return this.on;
  }

  start(): void {
    if (this.on) return;
    this.on = true;
    this.delay = this.backoff.initialMs;
    this.schedule();
  }

  /** Poll now (the line just reopened, say) and restart the backoff from the shortest delay. */
  kick(): void {
    if (!this.on) return;
    this.timer?.cancel();
    this.timer = null;
    this.delay = this.backoff.initialMs;
    void this.run();
  }

  stop(): void {
    this.on = false;
    this.timer?.cancel();
    this.timer = null;
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(this.delay, () => {
      this.timer = null;
      void this.run();
    });
    this.delay = Math.min(this.delay * 2, this.backoff.maxMs);
  }

  private async run(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let ready = false;
    try {
      ready = await this.poll();
    } finally {
      this.polling = false;
    }
    if (ready) this.on = false;
    else if (this.on && this.timer === null) this.schedule();
  }
}
