// Length-prefixed framing on a stream: any chunking gives back the same frames; an announced length over
// the bound is refused before its body is buffered.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frame, FrameError, FrameReader } from '../../protocol/iso8583/index.js';

describe('FrameReader', () => {
  it('returns the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (bodies, cuts) => {
          const stream = Buffer.concat(bodies.map((b) => frame(Buffer.from(b), 512)));
          const reader = new FrameReader(512);
          const got: Buffer[] = [];
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length]!;
            got.push(...reader.push(stream.subarray(at, at + n)));
            at += n;
          }
          expect(got).toEqual(bodies.map((b) => Buffer.from(b)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses an oversized or empty frame as soon as its length arrives', () => {
    const reader = new FrameReader(100);
    expect(() => reader.push(Buffer.from([0x00]))).not.toThrow();
    expect(() => reader.push(Buffer.from([0x65]))).toThrow(FrameError);
    expect(() => new FrameReader(100).push(Buffer.from([0, 0]))).toThrow(/empty-frame/);
    expect(() => frame(Buffer.alloc(101), 100)).toThrow(/frame-too-long/);
  });
});
