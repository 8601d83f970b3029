// Length-prefixed framing: the input is cut into chunks (its first byte says how), pushed through one
// FrameReader; the frames it returns, re-framed, are exactly the bytes it consumed, and its only error is
// FrameError. Structure-aware: frames of valid bodies with the length prefix right, or off by a little.
import { frame, FrameError, FrameReader } from '../../../protocol/iso8583/index.js';
import { expectEqual, FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';
import { seedBodies } from './wire-seeds.js';

const MAX = 512;

export const iso8583Framing: FuzzTarget = {
  name: 'iso8583-framing',
  covers: ['/protocol/iso8583/framing'],
  maxLen: 4096,
  seeds: () => [Buffer.concat([Buffer.from([7]), ...seedBodies().slice(0, 3).map((b) => frame(b))])],
  structured(input, rng) {
    const bodies = [rng.bytes(1 + rng.int(40)), rng.bytes(rng.int(3))];
    const framed = bodies.map((b) => {
      const f = Buffer.concat([Buffer.alloc(2), b]);
      f.writeUInt16BE(rng.chance(0.8) ? b.length : (b.length + rng.int(5) - 2 + 0x10000) % 0x10000);
      return f;
    });
    return Buffer.concat([input.subarray(0, 1 + rng.int(Math.max(1, input.length))), ...framed]);
  },
  run(input) {
    if (input.length === 0) return;
    const step = 1 + (input[0]! % 64);
    const stream = input.subarray(1);
    const reader = new FrameReader(MAX);
    const got: Buffer[] = [];
    let consumed = 0;
    refusedWith([FrameError], () => {
      for (let at = 0; at < stream.length; at += step) {
        got.push(...reader.push(stream.subarray(at, at + step)));
        consumed = Math.min(stream.length, at + step);
      }
    });
    const again = Buffer.concat(got.map((b) => frame(b, MAX)));
    if (again.length > consumed) throw new FuzzFinding(`frames hold ${again.length} bytes but only ${consumed} were pushed`);
    expectEqual(again, stream.subarray(0, again.length), 'frames re-framed');
  },
};
