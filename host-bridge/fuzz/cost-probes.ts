// Worst-case cost probes for the decoders (issue 14): each feeds a decoder the input shape that made a
// quadratic buffer expensive (many minimal frames in one chunk, a line trickled a byte at a time, ...) at
// two sizes, and prints one JSON line per probe: the time at the full size, the ratio to a quarter of it
// (linear code gives about 4, quadratic about 16) and, where there is one, the ratio to the floor any
// decoder of that shape pays. Printed, never asserted (speed targets are benchmarks, not timed tests).
// `npm run fuzz:cost`.
import { performance } from 'node:perf_hooks';
import { frame, FrameReader } from '../../protocol/iso8583/framing.js';

export interface CostProbe {
  name: string;
  /** What a linear decoder must meet at `bytes`, in ms (from the bar), if there is one. */
  barMs?: number;
  bytes: number;
  /** Builds the input of about `bytes` bytes (not timed). */
  input(bytes: number): Buffer;
  /** Runs the decoder once over the input (timed). */
  run(input: Buffer): void;
  /**
   * The least any decoder of this shape must do with the same input (e.g. one view per frame handed out),
   * timed in the same run: the machine is shared, so the ratio to it is the figure that travels.
   */
  floor?: (input: Buffer) => void;
}

const repeated = (unit: Buffer, bytes: number) => Buffer.alloc(Math.floor(bytes / unit.length) * unit.length, unit);

export const PROBES: CostProbe[] = [
  {
    name: 'iso8583 FrameReader: minimal frames in one chunk',
    barMs: 100,
    bytes: 1 << 20,
    input: (bytes) => repeated(frame(Buffer.from([0x5a])), bytes),
    run(input) {
      if (new FrameReader().push(input).length !== input.length / 3) throw new Error('frames lost');
    },
    floor(input) {
      const copy = Buffer.from(input);
      const out: Buffer[] = [];
      for (let at = 0; at + 3 <= copy.length; at += 3) out.push(copy.subarray(at + 2, at + 3 + (copy.readUInt16BE(at) - 1)));
      if (out.length !== input.length / 3) throw new Error('frames lost');
    },
  },
  {
    name: 'iso8583 FrameReader: 4 KiB frames a byte at a time',
    bytes: 1 << 18,
    input: (bytes) => repeated(frame(Buffer.alloc(4096, 1)), bytes),
    run(input) {
      const reader = new FrameReader();
      const chunk = Buffer.alloc(1);
      let frames = 0;
      for (const byte of input) {
        chunk[0] = byte;
        frames += reader.push(chunk).length;
      }
      if (frames !== input.length / 4098) throw new Error('frames lost');
    },
  },
];

function timeMs(fn: () => void): number {
  const best: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    best.push(performance.now() - t0);
  }
  return Math.min(...best);
}

export function runProbes(probes: readonly CostProbe[], write: (line: string) => void): void {
  for (const p of probes) {
    const big = p.input(p.bytes);
    const small = p.input(p.bytes / 4);
    const full = timeMs(() => p.run(big));
    const quarter = timeMs(() => p.run(small));
    const floor = p.floor ? timeMs(() => p.floor!(big)) : undefined;
    write(
      JSON.stringify({
        probe: p.name,
        bytes: p.bytes,
        ms: Number(full.toFixed(2)),
        quarterMs: Number(quarter.toFixed(2)),
        ratio: Number((full / Math.max(quarter, 0.01)).toFixed(2)),
        ...(floor !== undefined ? { floorMs: Number(floor.toFixed(2)), vsFloor: Number((full / Math.max(floor, 0.01)).toFixed(2)) } : {}),
        ...(p.barMs !== undefined ? { barMs: p.barMs, withinBar: full < p.barMs } : {}),
      }),
    );
  }
}
