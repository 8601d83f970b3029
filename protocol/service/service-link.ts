// Reliable, windowed delivery of messages over a service-port line (SERVICE_PORT.md): selective repeat.
// Up to `window` DATA frames are in flight; the receiver acknowledges every frame with the next sequence it
// needs plus a bitmap of the 32 after it, and holds out-of-order frames. A serial line never reorders, so a
// frame sent before one that was acknowledged and not acknowledged itself was lost: it alone is resent at
// once; anything else is resent only when its retransmission timer fires. The bench (initiator) opens a
// session with a fresh random id; the terminal (responder) follows any new session it hears, dropping the
// old one's state, so a bridge restart or a cable pull starts clean.
import type { ByteLink } from '../io/byte-link.js';
import type { Clock, TimerHandle } from '../io/clock.js';
import { encodeFrame, FrameSplitter, MAX_PAYLOAD, type FrameDrop, type ServiceFrame } from './service-frame.js';

export const SACK_BITS = 32;

export class ServiceLinkError extends Error {
  constructor(
    readonly code: 'SERVICE_LINK_TIMEOUT' | 'SERVICE_LINK_CLOSED' | 'SERVICE_SESSION_RESET',
    message: string,
  ) {
    super(message);
    this.name = 'ServiceLinkError';
  }
}

export interface ServiceLinkOptions {
  link: ByteLink;
  clock: Clock;
  role: 'initiator' | 'responder';
  /** The initiator's session id (random per process); the responder learns it from the line. */
  session?: number;
  /** DATA frames in flight, 1..32. */
  window?: number;
  /** Retransmission timeout; must exceed a window's time on the line plus the round trip. */
  rtoMs: number;
  /** Retransmissions of one frame before every pending send fails (the line is gone). */
  maxRetries?: number;
  onMessage: (payload: Buffer) => void;
  onSessionChange?: (session: number) => void;
  onDrop?: (why: FrameDrop) => void;
}

interface Outgoing {
  seq: number;
  frame: Buffer;
  stamp: number;
  tries: number;
  timer: TimerHandle | null;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface ServiceLinkStats {
  framesSent: number;
  retransmits: number;
  framesDropped: number;
}

export class ServiceLink {
  private session: number;
  private nextSeq = 0;
  private stamp = 0;
  private readonly inFlight = new Map<number, Outgoing>();
  private readonly waiting: Array<{ payload: Buffer; resolve: () => void; reject: (e: Error) => void }> = [];
  private expected = 0;
  private readonly held = new Map<number, Buffer>();
  private closed = false;
  private readonly window: number;
  private readonly unsubscribe: () => void;
  readonly stats: ServiceLinkStats = { framesSent: 0, retransmits: 0, framesDropped: 0 };

  constructor(private readonly o: ServiceLinkOptions) {
    this.window = Math.min(SACK_BITS, Math.max(1, o.window ?? 16));
    this.session = o.role === 'initiator' ? (o.session ?? 1) >>> 0 : 0;
    const splitter = new FrameSplitter(
      (f) => this.onFrame(f),
      (why) => {
        this.stats.framesDropped++;
        o.onDrop?.(why);
      },
    );
    this.unsubscribe = o.link.onData((b) => splitter.push(b));
  }

  get sessionId(): number {
    return this.session;
  }

  /** Resolves when the far end has the message. */
  send(payload: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new ServiceLinkError('SERVICE_LINK_CLOSED', 'service link closed'));
    if (payload.length > MAX_PAYLOAD) return Promise.reject(new RangeError(`service message ${payload.length} bytes over ${MAX_PAYLOAD}`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ payload, resolve, reject });
      this.pump();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.failAll(new ServiceLinkError('SERVICE_LINK_CLOSED', 'service link closed'));
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < this.window && this.waiting.length) {
      const w = this.waiting.shift()!;
      const seq = this.nextSeq++;
      const out: Outgoing = { seq, frame: encodeFrame({ type: 'data', session: this.session, seq, payload: w.payload }), stamp: 0, tries: 0, timer: null, resolve: w.resolve, reject: w.reject };
      this.inFlight.set(seq, out);
      this.transmit(out);
    }
  }

  private transmit(out: Outgoing): void {
    out.stamp = ++this.stamp;
    out.timer?.cancel();
    out.timer = this.o.clock.setTimer(this.o.rtoMs, () => {
      out.timer = null;
      if (++out.tries > (this.o.maxRetries ?? 8)) {
        this.failAll(new ServiceLinkError('SERVICE_LINK_TIMEOUT', `no acknowledgement for frame ${out.seq} after ${out.tries} tries: the line is down`));
        return;
      }
      this.stats.retransmits++;
      this.transmit(out);
    });
    this.stats.framesSent++;
    // A write to a line that is down fails; the timer resends when it is back.
    this.o.link.write(out.frame).catch(() => undefined);
  }

  private failAll(e: Error): void {
    for (const out of this.inFlight.values()) {
      out.timer?.cancel();
      out.reject(e);
    }
    this.inFlight.clear();
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private onFrame(f: ServiceFrame): void {
    if (this.closed) return;
    if (f.session !== this.session) {
      // Only a new bench session (DATA) is followed; stray frames of another session are ignored.
      if (this.o.role === 'initiator' || f.type !== 'data') return;
      this.failAll(new ServiceLinkError('SERVICE_SESSION_RESET', 'the bench started a new session'));
      this.session = f.session;
      this.nextSeq = 0;
      this.expected = 0;
      this.held.clear();
      this.o.onSessionChange?.(f.session);
    }
    if (f.type === 'ack') this.onAck(f.next, f.sack);
    else this.onData(f.seq, f.payload);
  }

  private onAck(next: number, sack: number): void {
    let newest = 0;
    const done = (seq: number) => {
      const out = this.inFlight.get(seq);
      if (!out) return;
      newest = Math.max(newest, out.stamp);
      out.timer?.cancel();
      this.inFlight.delete(seq);
      out.resolve();
    };
    for (const seq of [...this.inFlight.keys()]) if (seq < next) done(seq);
    for (let i = 0; i < SACK_BITS; i++) if (sack & (1 << i)) done(next + 1 + i);
    // Sent before a frame that arrived, yet not acknowledged: lost on the line. Resend it now.
    for (const out of this.inFlight.values()) {
      if (out.stamp < newest) {
        this.stats.retransmits++;
        this.transmit(out);
      }
    }
    this.pump();
  }

  private onData(seq: number, payload: Buffer): void {
    if (seq >= this.expected && seq < this.expected + 2 * SACK_BITS) {
      this.held.set(seq, payload);
      while (this.held.has(this.expected)) {
        const p = this.held.get(this.expected)!;
        this.held.delete(this.expected++);
        this.o.onMessage(p);
        if (this.closed) return;
      }
    }
    let sack = 0;
    for (let i = 0; i < SACK_BITS; i++) if (this.held.has(this.expected + 1 + i)) sack |= 1 << i;
    this.o.link.write(encodeFrame({ type: 'ack', session: this.session, next: this.expected, sack: sack >>> 0 })).catch(() => undefined);
  }
}
