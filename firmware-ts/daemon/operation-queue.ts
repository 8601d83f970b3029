// Money operations run one at a time: the journal has one writer and the acquirer link one request in
// flight. Read-only operations never enter this queue, so `posj status` answers while a sale waits for a
// card or the host. The queue is bounded: past `maxWaiting` a request is refused at once, never parked.
import type { Clock } from '../../protocol/io/clock.js';

export class QueueRefusedError extends Error {
  constructor(
    readonly code: 'BUSY' | 'SHUTTING_DOWN',
    message: string,
  ) {
    super(message);
    this.name = 'QueueRefusedError';
  }
}

export interface RunningOperation {
  op: string;
  /** Epoch ms when it started. */
  since: number;
}

interface Waiting {
  op: string;
  start: () => void;
  refuse: (e: QueueRefusedError) => void;
}

export class OperationQueue {
  private running: { op: RunningOperation; done: Promise<void> } | null = null;
  private readonly waiting: Waiting[] = [];
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly maxWaiting = 4,
  ) {}

  get current(): RunningOperation | null {
    return this.running?.op ?? null;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Runs `fn` when every earlier money operation has finished. */
  run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new QueueRefusedError('SHUTTING_DOWN', `the terminal is shutting down: ${op} not started`));
    if (this.running && this.waiting.length >= this.maxWaiting) {
      return Promise.reject(new QueueRefusedError('BUSY', `${this.running.op.op} is in progress and ${this.waiting.length} more are waiting: ${op} refused, try again`));
    }
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        const result = (async () => fn())();
        const done = result.then(
          () => undefined,
          () => undefined,
        );
        this.running = { op: { op, since: this.clock.now() }, done };
        result.then(resolve, reject);
        void done.then(() => {
          this.running = null;
          this.waiting.shift()?.start();
        });
      };
      if (this.running) this.waiting.push({ op, start, refuse: reject });
      else start();
    });
  }

  /**
   * Takes no more work and refuses what was waiting; resolves when the running operation has finished
   * (true) or after `boundMs` (false).
   */
  close(boundMs: number): Promise<boolean> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.refuse(new QueueRefusedError('SHUTTING_DOWN', `the terminal is shutting down: ${w.op} not started`));
    const running = this.running;
    if (!running) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(boundMs, () => resolve(false));
      void running.done.then(() => {
        timer.cancel();
        resolve(true);
      });
    });
  }
}
