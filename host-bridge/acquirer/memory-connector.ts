// An in-memory network between an acquirer link and the simulated host, for the deterministic simulator
// and tests: no sockets, time only from the given Clock, and the host's reply plan (delays, drop, reset,
// duplicate) carried out on that Clock. The simulator can wrap it to add its own faults.
import type { Clock, TimerHandle } from '../../protocol/io/clock.js';
import type { Connector, Transport } from '../../firmware-ts/acquirer/transport.js';
import { DEFAULT_MAX_FRAME_LENGTH, frame, FrameError, FrameReader } from '../../protocol/iso8583/index.js';
import type { AcquirerHost } from './host.js';

export interface MemoryConnectorOptions {
  host: AcquirerHost;
  clock: Clock;
  /** When it returns false the connect attempt never completes (the link's connect timeout decides). */
  reachable?: () => boolean;
  maxFrameLength?: number;
}

class MemoryTransport implements Transport {
  private dataListener: ((chunk: Buffer) => void) | undefined;
  private closeListener: ((detail: string) => void) | undefined;
  private closed = false;
  private readonly timers = new Set<TimerHandle>();
  private readonly reader: FrameReader;

  constructor(private readonly opts: MemoryConnectorOptions) {
    this.reader = new FrameReader(opts.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH);
  }

  write(bytes: Buffer): void {
    if (this.closed) return;
    let bodies: Buffer[];
    try {
      bodies = this.reader.push(Buffer.from(bytes));
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      return this.end(e.message);
    }
    for (const body of bodies) {
      const reply = this.opts.host.handle(body);
      if (reply.kind === 'send') {
        for (const f of reply.frames) this.later(f.delayMs, () => this.dataListener?.(frame(f.body, this.opts.maxFrameLength)));
      } else if (reply.kind === 'reset') {
        this.later(reply.delayMs, () => this.end('ECONNRESET'));
      }
    }
  }
  onData(listener: (chunk: Buffer) => void): void {
    this.dataListener = listener;
  }
  onClose(listener: (detail: string) => void): void {
    this.closeListener = listener;
  }
  close(): void {
    this.end('closed locally');
  }

  private later(ms: number, fn: () => void): void {
    const t = this.opts.clock.setTimer(ms, () => {
      this.timers.delete(t);
      if (!this.closed) fn();
    });
    this.timers.add(t);
  }

  private end(detail: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.closeListener?.(detail);
  }
}

export function memoryConnector(opts: MemoryConnectorOptions): Connector {
  return {
    connect(signal) {
      if (opts.reachable && !opts.reachable()) {
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('unreachable')), { once: true }));
      }
      return Promise.resolve(new MemoryTransport(opts));
    },
  };
}
