// The bounded line splitter: lines come out whatever the chunking, an oversize line is dropped and counted
// and the next line is found again, and the memory held never exceeds the cap.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BoundedLineSplitter } from '../../protocol/serial/line-splitter.js';
import { MAX_LINE_BYTES } from '../../protocol/serial/frame.js';

function run(max: number) {
  const lines: string[] = [];
  const oversize: number[] = [];
  const s = new BoundedLineSplitter({ line: (l) => lines.push(l.toString('latin1')), oversize: (n) => oversize.push(n) }, max);
  return { s, lines, oversize };
}

describe('BoundedLineSplitter', () => {
  it('splits on LF only and keeps every other byte, CR and NUL included', () => {
    const { s, lines } = run(64);
    s.push(Buffer.from('ab\r\0\xff\ncd', 'latin1'));
    s.push(Buffer.from('e\n\n', 'latin1'));
    expect(lines).toEqual(['ab\r\0\xff', 'cde', '']);
  });

  it('drops an oversize line, reports its size, and resyncs at the next delimiter', () => {
    const { s, lines, oversize } = run(8);
    s.push(Buffer.from('1234567', 'latin1')); // exactly the cap without the delimiter: kept
    s.push(Buffer.from('\n12345678', 'latin1'));
    s.push(Buffer.from('9xyz\nok\n', 'latin1'));
    expect(lines).toEqual(['1234567', 'ok']);
    expect(oversize).toEqual([13]);
  });

  it('holds at most the cap for a line that never ends', () => {
    const { s, oversize } = run(MAX_LINE_BYTES);
    const chunk = Buffer.alloc(4096, 0x41);
    for (let i = 0; i < 2000; i++) {
      s.push(chunk); // 8 MB of one endless line
      expect(s.pendingBytes).toBeLessThan(MAX_LINE_BYTES);
    }
    s.push(Buffer.from('\n#ok\n', 'latin1'));
    expect(oversize).toEqual([2000 * 4096 + 1]);
  });

  it('gives the same lines however the stream is chunked (property)', () => {
    const text = fc.array(fc.oneof(fc.constant(0x0a), fc.integer({ min: 0, max: 255 })), { maxLength: 300 });
    fc.assert(
      fc.property(text, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), (bytes, cuts) => {
        const whole = run(16);
        whole.s.push(Uint8Array.from(bytes));
        const chunked = run(16);
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const n = cuts[i % cuts.length]!;
          chunked.s.push(Uint8Array.from(bytes.slice(at, at + n)));
          at += n;
        }
        expect(chunked.lines).toEqual(whole.lines);
        expect(chunked.oversize).toEqual(whole.oversize);
        for (const l of whole.lines) expect(l.length).toBeLessThan(16);
      }),
      { numRuns: 500 },
    );
  });
});
