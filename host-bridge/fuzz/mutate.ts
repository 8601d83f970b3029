// Byte-level mutations (libFuzzer's usual set: bit flips, interesting values, insert, erase, duplicate,
// splice with another corpus entry, dictionary words) driven by a seeded generator, so a run replays.
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** xorshift32: fast and good enough to pick mutations. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x30, 0x39, 0x3d, 0x0a, 0x0d, 0x23, 0x22, 0x5c, 0x60, 0x9f, 0xdf, 0x81, 0x82, 0x83, 0x84];

/** One to `stack` byte-level mutations of `input`; `other` is a second corpus entry to splice from. */
export function mutateBytes(input: Buffer, rng: Rng, other: Buffer | undefined, dictionary: readonly Buffer[], maxLen: number, stack = 4): Buffer {
  let b = Buffer.from(input);
  const n = 1 + rng.int(stack);
  for (let k = 0; k < n; k++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(b.length === 0 ? 3 : 9)) {
      case 0:
        b = Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(4)), b.subarray(at)]);
        break;
      case 1:
        if (dictionary.length) b = Buffer.concat([b.subarray(0, at), rng.pick(dictionary), b.subarray(at)]);
        break;
      case 2:
        if (other && other.length) {
          const from = rng.int(other.length);
          b = Buffer.concat([b.subarray(0, at), other.subarray(from, from + 1 + rng.int(other.length - from)), b.subarray(at)]);
        }
        break;
      case 3:
        b[rng.int(b.length)]! ^= 1 << rng.int(8);
        break;
      case 4:
        b[rng.int(b.length)] = rng.pick(INTERESTING);
        break;
      case 5:
        b[rng.int(b.length)] = rng.int(256);
        break;
      case 6: {
        const len = 1 + rng.int(Math.min(16, b.length));
        const from = rng.int(b.length - len + 1);
        b = Buffer.concat([b.subarray(0, from), b.subarray(from + len)]);
        break;
      }
      case 7: {
        const len = 1 + rng.int(Math.min(32, b.length));
        const from = rng.int(b.length - len + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
        break;
      }
      default:
        if (dictionary.length) {
          const word = rng.pick(dictionary);
          const to = rng.int(Math.max(1, b.length - word.length + 1));
          b = Buffer.concat([b.subarray(0, to), word, b.subarray(to + word.length)]);
        }
    }
  }
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}
