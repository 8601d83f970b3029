// A ByteLink over a serial line that survives the cable being pulled and a device that stops reading.
// node-serialport cannot reopen a port object after a disconnect, so every (re)open makes a NEW port on the
// same path; opening is retried with doubling backoff on the injected Clock until it works or close() is
// called. Writes are bounded: at most maxQueuedBytes wait for the device at once (more is refused), and a
// watchdog declares the line `stalled` when queued bytes make no progress for stallMs plus their transmit
// time at the line's baud rate — the port is then closed and reopened, so a device that stops reading
// costs a bounded amount of memory and shows up as a device fault instead of an "open" line that is dead.
import { systemClock, type Clock, type TimerHandle } from '../../protocol/io/clock.js';
import type { ByteLink, LinkHealth, LinkState } from '../../protocol/io/byte-link.js';
import { stderrLog, type DeviceLog } from '../../protocol/io/device-log.js';
import { LogLimiter } from '../../protocol/io/log-limiter.js';
import { openSerialPort, type OpenRawPort, type RawPort } from './raw-port.js';

export interface ReconnectingPortOptions {
  path: string;
  baudRate: number;
  clock?: Clock;
  log?: DeviceLog;
  /** First reopen delay; doubles per failed try up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Bytes that may wait for the device at once; a write beyond it is refused (one write alone always fits). */
  maxQueuedBytes?: number;
  /** How long queued bytes may make no progress (beyond their transmit time) before the line is stalled. */
  stallMs?: number;
  /** Opens the port under the link; default node-serialport. The simulator passes its own. */
  openPort?: OpenRawPort;
}

export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024;
export const DEFAULT_STALL_MS = 2000;

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

/** The write queue is full: the device is not taking bytes as fast as they are written. */
export class LinkQueueFullError extends Error {
  readonly code = 'LINK_QUEUE_FULL';
  constructor(readonly path: string, readonly queuedBytes: number, readonly limit: number) {
    super(`serial ${path}: ${queuedBytes} bytes already wait for the device (limit ${limit}); write refused`);
    this.name = 'LinkQueueFullError';
  }
}

/** The device stopped reading: the write never completed and the line is being reopened. */
export class LinkStalledError extends Error {
  readonly code = 'LINK_STALLED';
  constructor(readonly path: string, readonly queuedBytes: number, readonly waitedMs: number) {
    super(`serial ${path}: device stopped reading (${queuedBytes} bytes not taken in ${waitedMs} ms); reopening the line`);
    this.name = 'LinkStalledError';
  }
}

interface PendingWrite {
  bytes: number;
  resolve(): void;
  reject(err: Error): void;
}

/** Bit times per byte on the wire (start, 8 data, stop), and a factor 2 of slack for a busy UART or hub. */
const BITS_PER_BYTE = 10;
const TRANSMIT_SLACK = 2;

export class ReconnectingPort implements ByteLink {
  readonly path: string;
  private readonly baudRate: number;
  private readonly clock: Clock;
  private readonly log: DeviceLog;
  private readonly limited: LogLimiter;
  private readonly firstBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxQueuedBytes: number;
  private readonly stallMs: number;
  private readonly openPort: OpenRawPort;
  private port: RawPort | undefined;
  private state: LinkState = 'closed';
  private since: number;
  private started = false;
  private closedForGood = false;
  private reconnects = 0;
  private stalls = 0;
  private everOpened = false;
  private lastError: { message: string; at: number; kind: 'line' | 'stall' } | undefined;
  private backoffMs: number;
  private retryTimer: TimerHandle | undefined;
  private readonly pending = new Set<PendingWrite>();
  private queued = 0;
  private lastProgressAt = 0;
  private watchdog: TimerHandle | undefined;
  private readonly dataListeners = new Set<(bytes: Buffer) => void>();
  private readonly stateListeners = new Set<(health: LinkHealth) => void>();

  constructor(opts: ReconnectingPortOptions) {
    this.path = opts.path;
    this.baudRate = opts.baudRate;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? stderrLog(this.clock);
    this.limited = new LogLimiter(this.log, this.clock);
    this.firstBackoffMs = opts.backoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
    this.openPort = opts.openPort ?? openSerialPort;
    this.backoffMs = this.firstBackoffMs;
    this.since = this.clock.now();
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
    const h: LinkHealth = { state: this.state, path: this.path, reconnects: this.reconnects, since: this.since, stalls: this.stalls, queuedBytes: this.queued };
    if (this.lastError !== undefined) {
      h.lastError = this.lastError.message;
      h.lastErrorAt = this.lastError.at;
    }
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
    if (this.queued > 0 && this.queued + bytes.length > this.maxQueuedBytes) {
      const err = new LinkQueueFullError(this.path, this.queued, this.maxQueuedBytes);
      this.limited.warn('write queue full', err.message);
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const w: PendingWrite = { bytes: bytes.length, resolve, reject };
      if (this.queued === 0) this.lastProgressAt = this.clock.now();
      this.pending.add(w);
      this.queued += w.bytes;
      this.armWatchdog();
      port.write(bytes, (err) => {
        // Gone already: failed by a stall or by the line going away.
        if (!this.pending.delete(w)) return;
        this.queued -= w.bytes;
        if (err) return reject(new LinkWriteError(this.path, err));
        this.progress();
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.closedForGood) return;
    this.closedForGood = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.failPending(new LinkNotOpenError(this.path, 'closed'));
    this.limited.close();
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    this.setState('closed');
    this.log.info(`serial ${this.path}: closed`);
  }

  private open(): void {
    if (this.closedForGood) return;
    this.setState('connecting');
    const port = this.openPort(this.path, this.baudRate);
    this.port = port;
    port.onData((chunk) => {
      if (this.port !== port) return;
      for (const l of this.dataListeners) l(chunk);
    });
    port.onError((err) => {
      if (this.port !== port) return;
      this.setError(err.message, 'line');
      this.limited.warn('port error', `serial ${this.path}: ${err.message}`);
    });
    port.onClose((err) => {
      // A close we asked for (close(), a stall) clears this.port first; anything else is a lost line.
      if (this.port !== port) return;
      this.port = undefined;
      const why = err?.disconnected ? 'cable unplugged or device gone' : 'closed unexpectedly';
      this.setError(err?.message ?? why, 'line');
      this.log.warn(`serial ${this.path}: line lost (${why}${err ? `: ${err.message}` : ''}); will reopen`);
      this.failPending(new LinkNotOpenError(this.path, 'disconnected'));
      this.setState('disconnected');
      this.scheduleReopen();
    });
    port.open((err) => {
      if (this.port !== port) {
        // close() ran while this open was in flight; let go of the line it may have just opened.
        if (!err && port.isOpen) port.close(() => undefined);
        return;
      }
      if (err) {
        this.port = undefined;
        this.setError(err.message, 'line');
        // Not rate-limited: the doubling backoff already spaces these out, and each names its retry delay.
        this.log.warn(`serial ${this.path}: cannot open (${err.message}); retry in ${this.backoffMs} ms`);
        this.setState('disconnected');
        this.scheduleReopen();
        return;
      }
      if (this.everOpened) this.reconnects++;
      this.everOpened = true;
      // Opening cures a lost line; a stall is cured only when the device takes bytes again (progress()).
      if (this.lastError?.kind === 'line') this.lastError = undefined;
      if (this.lastError?.kind !== 'stall') this.backoffMs = this.firstBackoffMs;
      this.log.info(`serial ${this.path}: open at ${this.baudRate} baud${this.reconnects ? ` (reconnect #${this.reconnects})` : ''}`);
      this.setState('open');
    });
  }

  /** A write completed: the device is taking bytes. */
  private progress(): void {
    this.lastProgressAt = this.clock.now();
    if (this.lastError?.kind === 'stall') {
      this.log.info(`serial ${this.path}: the device is reading again`);
      this.lastError = undefined;
      this.backoffMs = this.firstBackoffMs;
    }
    this.watchdog?.cancel();
    this.watchdog = undefined;
    this.armWatchdog();
  }

  /** How long the bytes now queued may take before "no progress" means the device stopped reading. */
  private allowanceMs(): number {
    return this.stallMs + Math.ceil((this.queued * BITS_PER_BYTE * 1000 * TRANSMIT_SLACK) / this.baudRate);
  }

  private armWatchdog(): void {
    if (this.watchdog || this.queued === 0) return;
    const due = this.lastProgressAt + this.allowanceMs() - this.clock.now();
    this.watchdog = this.clock.setTimer(Math.max(1, due), () => {
      this.watchdog = undefined;
      if (this.queued === 0 || this.state !== 'open') return;
      const waited = this.clock.now() - this.lastProgressAt;
      // More bytes were queued since the timer was set: they get their transmit time too.
      if (waited < this.allowanceMs()) return this.armWatchdog();
      this.stall(waited);
    });
  }

  private stall(waitedMs: number): void {
    const err = new LinkStalledError(this.path, this.queued, waitedMs);
    this.stalls++;
    this.setError(err.message, 'stall');
    this.limited.warn('stalled', err.message);
    const port = this.port;
    this.port = undefined;
    this.failPending(err);
    this.setState('stalled');
    port?.close(() => undefined);
    this.scheduleReopen();
  }

  private failPending(err: Error): void {
    this.watchdog?.cancel();
    this.watchdog = undefined;
    const waiting = [...this.pending];
    this.pending.clear();
    this.queued = 0;
    for (const w of waiting) w.reject(err);
  }

  private setError(message: string, kind: 'line' | 'stall'): void {
    this.lastError = { message, at: this.clock.now(), kind };
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
    this.since = this.clock.now();
    const h = this.health();
    for (const l of this.stateListeners) l(h);
  }
}
