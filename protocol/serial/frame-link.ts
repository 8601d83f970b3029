// The link layer both ends of a serial line run over a ByteLink: one data frame in flight at a time
// (stop-and-wait), ACK per frame, retransmission on ACK timeout or NAK with a bounded number of tries,
// NAK for lines that do not decode, and duplicate suppression by sequence number. It never throws on bad
// input: every bad line becomes a counter and an event. What it writes back is bounded whatever arrives:
// at most one NAK per nakIntervalMs (one NAK already makes the peer resend its frame), at most
// MAX_CONTROL_WRITES ACK/NAK writes waiting on the line (a peer that does not read gets no more), and
// repeated warnings are logged once per window with a count (LogLimiter).
import type { ByteLink } from '../io/byte-link.js';
import type { Clock, TimerHandle } from '../io/clock.js';
import { silentLog, type DeviceLog } from '../io/device-log.js';
import { LogLimiter } from '../io/log-limiter.js';
import { ACK, NAK, MAX_SEQ, decodeFrame, encodeFrame, type Frame } from './frame.js';
import { FrameError } from './frame-error.js';
import { BoundedLineSplitter } from './line-splitter.js';

export interface FrameLinkOptions {
  clock: Clock;
  /** Device name for logs, e.g. "reader". */
  name?: string;
  log?: DeviceLog;
  /** How long to wait for the ACK of a data frame before sending it again. */
  ackTimeoutMs?: number;
  /** Sends per data frame, the first included, before giving up. */
  maxTries?: number;
  /** Shortest time between two NAKs. */
  nakIntervalMs?: number;
}

export interface FrameLinkCounters {
  framesSent: number;
  framesReceived: number;
  retransmits: number;
  oversizeLines: number;
  badCrc: number;
  malformedFrames: number;
  duplicates: number;
  naksSent: number;
  /** Bad lines not answered with a NAK: one was sent within nakIntervalMs, or the line was not taking writes. */
  naksSkipped: number;
  /** ACKs not written because MAX_CONTROL_WRITES were already waiting on a line that does not drain. */
  acksSkipped: number;
  naksReceived: number;
  sendFailures: number;
}

export type FrameLinkEvent =
  | { kind: 'oversize'; bytes: number }
  | { kind: 'bad-frame'; error: FrameError }
  | { kind: 'retransmit'; seq: number; type: string; attempt: number; why: 'ack timeout' | 'nak' }
  | { kind: 'duplicate'; seq: number; type: string }
  | { kind: 'gave-up'; seq: number; type: string; tries: number };

export interface FrameMessage {
  seq: number;
  type: string;
  payload: Buffer;
}

/** A data frame was sent maxTries times and never acknowledged. */
export class FrameNotAckedError extends Error {
  readonly code = 'FRAME_NOT_ACKED';
  constructor(readonly link: string, readonly seq: number, readonly type: string, readonly tries: number) {
    super(`${link}: ${type} (seq ${seq}) not acknowledged after ${tries} tries`);
    this.name = 'FrameNotAckedError';
  }
}

export class FrameLinkClosedError extends Error {
  readonly code = 'FRAME_LINK_CLOSED';
  constructor(readonly link: string) {
    super(`${link}: frame link is closed`);
    this.name = 'FrameLinkClosedError';
  }
}

interface Outgoing {
  type: string;
  payload: Buffer;
  resolve(): void;
  reject(err: Error): void;
}

interface InFlight extends Outgoing {
  seq: number;
  bytes: Buffer;
  tries: number;
  timer: TimerHandle | undefined;
}

export const DEFAULT_ACK_TIMEOUT_MS = 250;
export const DEFAULT_MAX_TRIES = 4;
export const DEFAULT_NAK_INTERVAL_MS = 100;
/** ACK/NAK writes that may wait on the line at once. */
export const MAX_CONTROL_WRITES = 4;

export class FrameLink {
  private readonly clock: Clock;
  private readonly name: string;
  private readonly log: DeviceLog;
  private readonly ackTimeoutMs: number;
  private readonly maxTries: number;
  private readonly nakIntervalMs: number;
  private readonly limited: LogLimiter;
  private lastNakAt: number | undefined;
  private controlWrites = 0;
  private readonly splitter: BoundedLineSplitter;
  private readonly queue: Outgoing[] = [];
  private inFlight: InFlight | undefined;
  private nextSeq = 1;
  /** Seq of the last data frame delivered from the peer; forgotten when the line is reopened. */
  private lastPeerSeq: number | undefined;
  private closed = false;
  private readonly counts: FrameLinkCounters = {
    framesSent: 0,
    framesReceived: 0,
    retransmits: 0,
    oversizeLines: 0,
    badCrc: 0,
    malformedFrames: 0,
    duplicates: 0,
    naksSent: 0,
    naksSkipped: 0,
    acksSkipped: 0,
    naksReceived: 0,
    sendFailures: 0,
  };
  private readonly messageListeners = new Set<(m: FrameMessage) => void>();
  private readonly eventListeners = new Set<(e: FrameLinkEvent) => void>();
  private readonly unsubscribe: Array<() => void>;

  constructor(readonly link: ByteLink, opts: FrameLinkOptions) {
    this.clock = opts.clock;
    this.name = opts.name ?? `serial ${link.path}`;
    this.log = opts.log ?? silentLog;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.maxTries = opts.maxTries ?? DEFAULT_MAX_TRIES;
    this.nakIntervalMs = opts.nakIntervalMs ?? DEFAULT_NAK_INTERVAL_MS;
    this.limited = new LogLimiter(this.log, this.clock);
    this.splitter = new BoundedLineSplitter({
      line: (line) => this.onLine(line),
      oversize: (bytes) => this.onOversize(bytes),
    });
    this.unsubscribe = [
      link.onData((bytes) => this.splitter.push(bytes)),
      link.onState((h) => {
        // A reopened line starts clean: a half line from before the break is garbage, and the peer may
        // have restarted its sequence numbers.
        if (h.state === 'open') {
          this.splitter.reset();
          this.lastPeerSeq = undefined;
        }
      }),
    ];
  }

  /** Sends a data frame; resolves when the peer acknowledges it. Frames go out one at a time, in order. */
  send(type: string, payload: Buffer = Buffer.alloc(0)): Promise<void> {
    if (this.closed) return Promise.reject(new FrameLinkClosedError(this.name));
    if (type === ACK || type === NAK) return Promise.reject(new RangeError(`${type} is reserved for the link layer`));
    // Encode now so a bad type or payload fails the caller at once instead of poisoning the queue.
    try {
      encodeFrame({ seq: 0, type, payload });
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ type, payload, resolve, reject });
      this.pump();
    });
  }

  onMessage(listener: (m: FrameMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onEvent(listener: (e: FrameLinkEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  counters(): FrameLinkCounters {
    return { ...this.counts };
  }

  /** Splitter bytes held for an unfinished line: bounded by MAX_LINE_BYTES whatever arrives. */
  get pendingLineBytes(): number {
    return this.splitter.pendingBytes;
  }

  /** Stops the link layer (not the ByteLink under it); queued and in-flight sends fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribe) u();
    this.limited.close();
    const err = new FrameLinkClosedError(this.name);
    if (this.inFlight) {
      this.inFlight.timer?.cancel();
      this.inFlight.reject(err);
      this.inFlight = undefined;
    }
    for (const q of this.queue.splice(0)) q.reject(err);
  }

  private pump(): void {
    if (this.inFlight || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) % (MAX_SEQ + 1);
    this.inFlight = { ...next, seq, bytes: encodeFrame({ seq, type: next.type, payload: next.payload }), tries: 0, timer: undefined };
    this.transmit();
  }

  private transmit(): void {
    const f = this.inFlight!;
    f.tries++;
    if (f.tries === 1) this.counts.framesSent++;
    f.timer = this.clock.setTimer(this.ackTimeoutMs, () => this.onAckTimeout(f));
    // A write to a line that is down is a lost frame like any other: the ACK timer retries it.
    this.link.write(f.bytes).catch((err: Error) => this.limited.warn('send failed', `${this.name}: sending ${f.type} (seq ${f.seq}) failed: ${err.message}`));
  }

  private retransmit(f: InFlight, why: 'ack timeout' | 'nak'): void {
    f.timer?.cancel();
    if (f.tries >= this.maxTries) {
      this.giveUp(f);
      return;
    }
    this.counts.retransmits++;
    this.emit({ kind: 'retransmit', seq: f.seq, type: f.type, attempt: f.tries + 1, why });
    this.transmit();
  }

  private onAckTimeout(f: InFlight): void {
    if (this.inFlight !== f) return;
    f.timer = undefined;
    this.retransmit(f, 'ack timeout');
  }

  private giveUp(f: InFlight): void {
    this.counts.sendFailures++;
    this.inFlight = undefined;
    this.log.warn(`${this.name}: gave up on ${f.type} (seq ${f.seq}) after ${f.tries} tries without an ACK`);
    this.emit({ kind: 'gave-up', seq: f.seq, type: f.type, tries: f.tries });
    f.reject(new FrameNotAckedError(this.name, f.seq, f.type, f.tries));
    this.pump();
  }

  private onLine(line: Buffer): void {
    if (this.closed) return;
    let frame: Frame;
    try {
      frame = decodeFrame(line);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      if (err.code === 'FRAME_BAD_CRC') this.counts.badCrc++;
      else this.counts.malformedFrames++;
      this.limited.warn('bad line', `${this.name}: dropped a bad line of ${line.length} bytes (${err.message}); asking for a resend`);
      this.emit({ kind: 'bad-frame', error: err });
      this.sendNak();
      return;
    }
    if (frame.type === ACK) return this.onAck(frame.seq);
    if (frame.type === NAK) return this.onNak();
    this.onData(frame);
  }

  private onOversize(bytes: number): void {
    if (this.closed) return;
    this.counts.oversizeLines++;
    this.limited.warn('oversize line', `${this.name}: dropped an oversize line of ${bytes} bytes; resynced at the next line end`);
    this.emit({ kind: 'oversize', bytes });
    this.sendNak();
  }

  private onAck(seq: number): void {
    const f = this.inFlight;
    // An ACK for anything but the frame in flight is a late ACK of a retransmitted frame: nothing to do.
    if (!f || f.seq !== seq) return;
    f.timer?.cancel();
    this.inFlight = undefined;
    f.resolve();
    this.pump();
  }

  private onNak(): void {
    this.counts.naksReceived++;
    const f = this.inFlight;
    if (f) this.retransmit(f, 'nak');
  }

  private onData(frame: Frame): void {
    // Always ACK, duplicates too: the duplicate means our earlier ACK was lost.
    this.writeControl(ACK, frame.seq);
    if (frame.seq === this.lastPeerSeq) {
      this.counts.duplicates++;
      this.emit({ kind: 'duplicate', seq: frame.seq, type: frame.type });
      return;
    }
    this.lastPeerSeq = frame.seq;
    this.counts.framesReceived++;
    const m: FrameMessage = { seq: frame.seq, type: frame.type, payload: frame.payload };
    for (const l of this.messageListeners) l(m);
  }

  private sendNak(): void {
    const now = this.clock.now();
    if (this.lastNakAt !== undefined && now - this.lastNakAt < this.nakIntervalMs) {
      this.counts.naksSkipped++;
      return;
    }
    if (!this.writeControl(NAK, 0)) {
      this.counts.naksSkipped++;
      return;
    }
    this.lastNakAt = now;
    this.counts.naksSent++;
  }

  /** Writes an ACK or NAK unless MAX_CONTROL_WRITES are still waiting on the line; false when skipped. */
  private writeControl(type: typeof ACK | typeof NAK, seq: number): boolean {
    if (this.controlWrites >= MAX_CONTROL_WRITES) {
      if (type === ACK) this.counts.acksSkipped++;
      return false;
    }
    this.controlWrites++;
    this.link
      .write(encodeFrame({ seq, type, payload: Buffer.alloc(0) }))
      .catch((err: Error) => this.limited.warn('control send failed', `${this.name}: sending ${type} failed: ${err.message}`))
      .finally(() => this.controlWrites--);
    return true;
  }

  private emit(e: FrameLinkEvent): void {
    for (const l of this.eventListeners) l(e);
  }
}
