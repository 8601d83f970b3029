// An in-process serial line with a real line's timing, for the flash figures: each direction carries
// bytes at `baud` with 8N1 framing (10 bits a byte) and adds `latencyMs` (a USB round of a CDC-ACM
// adapter, a long cable). A write is delivered whole when its last byte would have arrived.
import type { ByteLink, LinkHealth } from '../../protocol/io/byte-link.js';
import type { Clock } from '../../protocol/io/clock.js';

class PacedEnd implements ByteLink {
  private readonly listeners = new Set<(b: Buffer) => void>();
  peer!: PacedEnd;
  private lineFreeAt = 0;
  private open = true;
  bytesSent = 0;

  constructor(
    readonly path: string,
    private readonly clock: Clock,
    private readonly baud: number,
    private readonly latencyMs: number,
  ) {}

  write(bytes: Buffer): Promise<void> {
    if (!this.open) return Promise.reject(Object.assign(new Error(`${this.path} closed`), { code: 'LINK_NOT_OPEN' }));
    const now = this.clock.now();
    const start = Math.max(now, this.lineFreeAt);
    this.lineFreeAt = start + (bytes.length * 10 * 1000) / this.baud;
    this.bytesSent += bytes.length;
    const copy = Buffer.from(bytes);
    this.clock.setTimer(this.lineFreeAt - now + this.latencyMs, () => this.peer.deliver(copy));
    return Promise.resolve();
  }
  private deliver(b: Buffer): void {
    if (this.open) for (const l of this.listeners) l(b);
  }
  onData(l: (b: Buffer) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  onState(): () => void {
    return () => undefined;
  }
  health(): LinkHealth {
    return { state: this.open ? 'open' : 'closed', path: this.path, reconnects: 0 };
  }
  async close(): Promise<void> {
    this.open = false;
  }
}

export function pacedLinkPair(clock: Clock, baud: number, latencyMs: number): { bench: PacedEnd; terminal: PacedEnd } {
  const bench = new PacedEnd('paced-bench', clock, baud, latencyMs);
  const terminal = new PacedEnd('paced-terminal', clock, baud, latencyMs);
  bench.peer = terminal;
  terminal.peer = bench;
  return { bench, terminal };
}
