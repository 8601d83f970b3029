// A tiny seeded PRNG (xoshiro128**, seeded through splitmix32) so a crash test or a simulator run can be
// replayed exactly from its seed. Not for keys or anything secret.

export interface Rng {
  readonly seed: number;
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** Fills `buf` with random bytes and returns it. */
  fill(buf: Uint8Array): Uint8Array;
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export function createRng(seed: number): Rng {
  const sm = splitmix32(seed);
  // xoshiro's state must not be all zero; splitmix32 never yields four zeros in a row.
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  const u32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d >>> 0, 11);
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    return result;
  };
  const float = () => u32() / 0x1_0000_0000;
  return {
    seed: seed >>> 0,
    u32,
    float,
    int(n) {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int: n must be a positive integer, got ${n}`);
      return Math.floor(float() * n);
    },
    chance: (p) => float() < p,
    fill(buf) {
      for (let i = 0; i < buf.length; i += 4) {
        let v = u32();
        for (let k = 0; k < 4 && i + k < buf.length; k++, v >>>= 8) buf[i + k] = v & 0xff;
      }
      return buf;
    },
  };
}
