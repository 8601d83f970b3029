// The simulator's event trace: every event is hashed (so two runs of one seed can be compared bit for bit)
// and the last few are kept in a ring buffer, printed when an invariant fails. Lines carry simulated time
// only, never wall-clock time, so the same seed gives the same trace on any machine.
import { createHash, type Hash } from 'node:crypto';

export class SimTrace {
  private readonly ring: string[];
  private next = 0;
  private count = 0;
  private readonly hash: Hash = createHash('sha256');
  /** Lines not hashed yet: hashed a few KiB at a time (the same digest as line by line, fewer calls into the hash). */
  private unhashed = '';

  constructor(
    private readonly now: () => number,
    private readonly start: number,
    size = 60,
  ) {
    this.ring = new Array<string>(size);
  }

  add(line: string): void {
    const ms = this.now() - this.start;
    const text = `${(ms / 1000).toFixed(3).padStart(10)}s ${line}`;
    this.unhashed += `${text}\n`;
    if (this.unhashed.length >= 8192) this.flushHash();
    this.ring[this.next] = text;
    this.next = (this.next + 1) % this.ring.length;
    this.count++;
  }

  get events(): number {
    return this.count;
  }

  /** The last events, oldest first. */
  tail(n = this.ring.length): string[] {
    const all: string[] = [];
    const have = Math.min(this.count, this.ring.length);
    for (let i = have; i > 0; i--) all.push(this.ring[(this.next - i + this.ring.length * 2) % this.ring.length]!);
    return all.slice(-n);
  }

  /** SHA-256 of every event so far (hex). */
  digest(): string {
    this.flushHash();
    return this.hash.copy().digest('hex');
  }

  private flushHash(): void {
    if (this.unhashed.length === 0) return;
    this.hash.update(this.unhashed, 'utf8');
    this.unhashed = '';
  }
}
