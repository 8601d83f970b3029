// In-memory ByteLinks for link-layer tests: a pair wired back to back (with a tap that can drop, garble or
// inject bytes), or a single end whose writes the test reads.
import type { ByteLink, LinkHealth, LinkState } from '../../protocol/io/byte-link.js';

export class FakeByteLink implements ByteLink {
  readonly written: Buffer[] = [];
  /** Called for every write; the default keeps it in `written`. */
  onWrite: (bytes: Buffer) => void = (b) => this.written.push(b);
  private readonly data = new Set<(b: Buffer) => void>();
  private readonly states = new Set<(h: LinkHealth) => void>();
  private s: LinkState = 'open';
  private reconnects = 0;

  constructor(readonly path = 'fake') {}

  write(bytes: Buffer): Promise<void> {
    if (this.s !== 'open') return Promise.reject(Object.assign(new Error(`${this.path} is ${this.s}`), { code: 'LINK_NOT_OPEN' }));
    this.onWrite(Buffer.from(bytes));
    return Promise.resolve();
  }
  onData(l: (b: Buffer) => void): () => void {
    this.data.add(l);
    return () => this.data.delete(l);
  }
  onState(l: (h: LinkHealth) => void): () => void {
    this.states.add(l);
    return () => this.states.delete(l);
  }
  health(): LinkHealth {
    return { state: this.s, path: this.path, reconnects: this.reconnects };
  }
  async close(): Promise<void> {
    this.setState('closed');
  }
  /** Bytes arriving from the far end. */
  receive(bytes: Buffer | string): void {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    for (const l of this.data) l(b);
  }
  setState(s: LinkState): void {
    if (s === 'open' && this.s !== 'open') this.reconnects++;
    this.s = s;
    for (const l of this.states) l(this.health());
  }
  /** Everything written so far as one latin1 string, then forgets it. */
  takeWritten(): string {
    const s = Buffer.concat(this.written).toString('latin1');
    this.written.length = 0;
    return s;
  }
}

/** Two fake ends connected; `tap` sees each write and decides what the other end gets. */
export function fakeLinkPair(): {
  a: FakeByteLink;
  b: FakeByteLink;
  tap: { aToB: (bytes: Buffer) => Buffer | null; bToA: (bytes: Buffer) => Buffer | null };
} {
  const a = new FakeByteLink('fake-a');
  const b = new FakeByteLink('fake-b');
  const tap = { aToB: (x: Buffer): Buffer | null => x, bToA: (x: Buffer): Buffer | null => x };
  // Delivered on a microtask so a reply never re-enters the sender's call stack.
  a.onWrite = (bytes) => queueMicrotask(() => {
    const out = tap.aToB(bytes);
    if (out) b.receive(out);
  });
  b.onWrite = (bytes) => queueMicrotask(() => {
    const out = tap.bToA(bytes);
    if (out) a.receive(out);
  });
  return { a, b, tap };
}
