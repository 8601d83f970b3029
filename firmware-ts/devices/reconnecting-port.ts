// A ByteLink over a real serial line that survives the cable being pulled. node-serialport cannot reopen a
// port object after a disconnect, so every (re)open makes a NEW SerialPort on the same path; opening is
// retried with doubling backoff on the injected Clock until it works or close() is called.
import { SerialPort } from 'serialport';
import { systemClock, type Clock, type TimerHandle } from '../../protocol/io/clock.js';
import type { ByteLink, LinkHealth, LinkState } from '../../protocol/io/byte-link.js';
import { stderrLog, type DeviceLog } from '../../protocol/io/device-log.js';

export interface ReconnectingPortOptions {
  path: string;
  baudRate: number;
  clock?: Clock;
  log?: DeviceLog;
  /** First reopen delay; doubles per failed try up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export class LinkNotOpenError extends Error {
  readonly code = 'LINK_NOT_OPEN';
  constructor(readonly path: string, readonly state: LinkState) {
    super(`serial ${path} is ${state}, cannot write`);
    this.name = 'LinkNotOpenError';
  }
}

export class LinkWriteError extends Error {
  readonly code = 'LINK_WRITE_FAILED';
  constructor(readonly path: string, cause: Error) {
    super(`serial ${path}: write failed: ${cause.message}`, { cause });
    this.name = 'LinkWriteError';
  }
}

export class ReconnectingPort implements ByteLink {
  readonly path: string;
  private readonly baudRate: number;
  private readonly clock: Clock;
  private readonly log: DeviceLog;
  private readonly firstBackoffMs: number;
  private readonly maxBackoffMs: number;
  private port: SerialPort | undefined;
  private state: LinkState = 'closed';
  private started = false;
  private closedForGood = false;
  private reconnects = 0;
  private everOpened = false;
  private lastError: string | undefined;
  private backoffMs: number;
  private retryTimer: TimerHandle | undefined;
  private readonly dataListeners = new Set<(bytes: Buffer) => void>();
  private readonly stateListeners = new Set<(health: LinkHealth) => void>();

  constructor(opts: ReconnectingPortOptions) {
    this.path = opts.path;
    this.baudRate = opts.baudRate;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? stderrLog(this.clock);
    this.firstBackoffMs = opts.backoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.backoffMs = this.firstBackoffMs;
  }

  /** Starts opening the line; keeps trying in the background until it opens. */
  start(): void {
    if (this.started || this.closedForGood) return;
    this.started = true;
    this.open();
  }

  /** Resolves when the line is open (now or at the next open). */
  waitOpen(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onState((h) => {
        if (h.state === 'open') {
          off();
          resolve();
        }
      });
    });
  }

  health(): LinkHealth {
    const h: LinkHealth = { state: this.state, path: this.path, reconnects: this.reconnects };
    if (this.lastError !== undefined) h.lastError = this.lastError;
    return h;
  }

  onData(listener: (bytes: Buffer) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onState(listener: (health: LinkHealth) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  write(bytes: Buffer): Promise<void> {
    const port = this.port;
    if (this.state !== 'open' || !port) return Promise.reject(new LinkNotOpenError(this.path, this.state));
    return new Promise((resolve, reject) => {
      port.write(bytes, (err) => {
        if (err) return reject(new LinkWriteError(this.path, err));
        port.drain((drainErr) => (drainErr ? reject(new LinkWriteError(this.path, drainErr)) : resolve()));
      });
    });
  }

  async close(): Promise<void> {
    if (this.closedForGood) return;
    this.closedForGood = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    this.setState('closed');
    this.log.info(`serial ${this.path}: closed`);
  }

  private open(): void {
    if (this.closedForGood) return;
    this.setState('connecting');
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      if (this.port !== port) return;
      for (const l of this.dataListeners) l(chunk);
    });
    port.on('error', (err: Error) => {
      if (this.port !== port) return;
      this.lastError = err.message;
      this.log.warn(`serial ${this.path}: ${err.message}`);
    });
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      // A close we asked for (close()) sets this.port to undefined first; anything else is a lost line.
      if (this.port !== port) return;
      this.port = undefined;
      const why = err?.disconnected ? 'cable unplugged or device gone' : 'closed unexpectedly';
      this.lastError = err?.message ?? why;
      this.log.warn(`serial ${this.path}: line lost (${why}${err ? `: ${err.message}` : ''}); will reopen`);
      this.setState('disconnected');
      this.scheduleReopen();
    });
    port.open((err) => {
      if (this.port !== port) {
        // close() ran while this open was in flight; let go of the line it may have just opened.
        if (!err && port.isOpen) port.close();
        return;
      }
      if (err) {
        this.port = undefined;
        this.lastError = err.message;
        this.log.warn(`serial ${this.path}: cannot open (${err.message}); retry in ${this.backoffMs} ms`);
        this.setState('disconnected');
        this.scheduleReopen();
        return;
      }
      if (this.everOpened) this.reconnects++;
      this.everOpened = true;
      this.backoffMs = this.firstBackoffMs;
      this.log.info(`serial ${this.path}: open at ${this.baudRate} baud${this.reconnects ? ` (reconnect #${this.reconnects})` : ''}`);
      this.setState('open');
    });
  }

  private scheduleReopen(): void {
    if (this.closedForGood || this.retryTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.retryTimer = this.clock.setTimer(delay, () => {
      this.retryTimer = undefined;
      this.open();
    });
  }

  private setState(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    const h = this.health();
    for (const l of this.stateListeners) l(h);
  }
}
