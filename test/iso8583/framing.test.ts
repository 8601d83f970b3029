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

  it('takes many frames from one chunk, and a frame trickled one byte at a time', () => {
    const bodies = Array.from({ length: 5000 }, (_, i) => Buffer.from([i & 0xff]));
    expect(new FrameReader().push(Buffer.concat(bodies.map((b) => frame(b))))).toEqual(bodies);
    const big = frame(Buffer.alloc(4000, 7));
    const reader = new FrameReader();
    const got: Buffer[] = [];
    for (const byte of big) got.push(...reader.push(Buffer.from([byte])));
    expect(got).toEqual([Buffer.alloc(4000, 7)]);
  });

  it('a frame body handed out is a copy, not a view of the caller\'s chunk', () => {
    const chunk = frame(Buffer.from('abc'));
    const [body] = new FrameReader().push(chunk);
    chunk.fill(0);
    expect(body!.toString()).toBe('abc');
  });

  it('refuses an oversized or empty frame as soon as its length arrives', () => {
    const reader = new FrameReader(100);
    expect(() => reader.push(Buffer.from([0x00]))).not.toThrow();
    expect(() => reader.push(Buffer.from([0x65]))).toThrow(FrameError);
    expect(() => new FrameReader(100).push(Buffer.from([0, 0]))).toThrow(/empty-frame/);
    expect(() => frame(Buffer.alloc(101), 100)).toThrow(/frame-too-long/);
  });
});
