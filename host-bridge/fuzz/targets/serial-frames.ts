// The serial line: bytes go through the bounded line splitter in chunks (the input's first byte sets the
// size), every line through decodeFrame. A line decodes to a frame that re-encodes to the same line, or
// fails with FrameError; no line held grows past the cap. Structure-aware: valid frames with a changed
// sequence number, type or payload, the CRC recomputed so the mutation reaches the field checks.
import { decodeFrame, encodeFrame, frameCrc, MAX_LINE_BYTES } from '../../../protocol/serial/frame.js';
import { FrameError } from '../../../protocol/serial/frame-error.js';
import { BoundedLineSplitter } from '../../../protocol/serial/line-splitter.js';
import { expectEqual, FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';
import type { Rng } from '../mutate.js';

const TYPES = ['ACK', 'NAK', 'READ', 'CARD_DATA', 'WAIT_CARD', 'STATUS_OK', 'PRINT', 'X'];
const SEEDS = [
  '#03 READ eyJpZCI6MywiYW1vdW50IjoxMjM0NSwiY3VycmVuY3kiOiIxNTYifQ== 4901\n',
  '#03 ACK - 0F31\n',
  '#05 ACK - 8FFA\n',
];

function frameLike(rng: Rng): Buffer {
  const payload = rng.chance(0.2) ? Buffer.alloc(0) : rng.bytes(rng.int(rng.chance(0.05) ? 1600 : 60));
  try {
    return encodeFrame({ seq: rng.int(256), type: rng.pick(TYPES), payload });
  } catch {
    return encodeFrame({ seq: rng.int(256), type: 'ACK', payload: Buffer.alloc(0) });
  }
}

export const serialFrames: FuzzTarget = {
  name: 'serial-frames',
  covers: ['/protocol/serial/frame', '/protocol/serial/line-splitter'],
  maxLen: 8192,
  dictionary: ['#', ' ', '\n', '-', '=', 'ACK', 'NAK', '00', 'FF'].map((s) => Buffer.from(s, 'latin1')),
  // The first byte sets the chunk size (1, 17, 121 and 2041 bytes here): byte-at-a-time delivery is one case
  // among several, not the one every mutation of a single seed inherits.
  // The last seed starts with a line past the cap, so the splitter's dropping path is in the corpus from the start.
  seeds: () => [
    ...[0, 2, 15, 255].map((step) => Buffer.concat([Buffer.from([step]), Buffer.from(SEEDS.join(''), 'latin1')])),
    Buffer.concat([Buffer.from([2]), Buffer.from(`${'#'.repeat(MAX_LINE_BYTES + 10)}\n${SEEDS[1]}`, 'latin1')]),
  ],
  structured(input, rng) {
    const lines = [frameLike(rng), frameLike(rng)];
    if (rng.chance(0.5)) {
      // Change a byte of the frame's text (seq, type, payload, separators), then give it the right CRC,
      // so the change is judged by the field checks and not stopped by the CRC.
      const f = lines[0]!;
      const body = Buffer.from(f.subarray(0, f.length - 5));
      body[1 + rng.int(body.length - 1)] = rng.chance(0.7) ? 0x20 + rng.int(95) : rng.int(256);
      lines[0] = Buffer.concat([body, Buffer.from(`${frameCrc(body).toString(16).toUpperCase().padStart(4, '0')}\n`, 'latin1')]);
    }
    return Buffer.concat([input.subarray(0, 1), ...lines, input.subarray(1, 1 + rng.int(input.length))]);
  },
  run(input) {
    if (input.length === 0) return;
    const step = 1 + input[0]! * 8;
    const stream = input.subarray(1);
    const lines: Buffer[] = [];
    const splitter = new BoundedLineSplitter({ line: (l) => lines.push(l), oversize: () => undefined });
    for (let at = 0; at < stream.length; at += step) {
      splitter.push(stream.subarray(at, at + step));
      if (splitter.pendingBytes > MAX_LINE_BYTES - 1) throw new FuzzFinding(`splitter holds ${splitter.pendingBytes} bytes`);
    }
    for (const line of lines) {
      if (line.length > MAX_LINE_BYTES - 1) throw new FuzzFinding(`line of ${line.length} bytes passed the cap`);
      refusedWith([FrameError], () => {
        const f = decodeFrame(line);
        expectEqual(encodeFrame(f), Buffer.concat([line, Buffer.from('\n')]), 'decodeFrame → encodeFrame');
      });
    }
  },
};
