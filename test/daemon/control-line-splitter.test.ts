// The control socket's line splitter (daemon/control-protocol.ts): lines whole however the bytes are
// chunked, a CR before the LF dropped, multi-byte UTF-8 split across chunks kept, an over-long line reported
// once and skipped to its end with the next line intact.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineSplitter } from '../../firmware-ts/daemon/control-protocol.js';

function split(chunks: Buffer[], max?: number): { lines: string[]; tooLong: number } {
  const lines: string[] = [];
  let tooLong = 0;
  const s = new LineSplitter((l) => lines.push(l), () => tooLong++, max);
  for (const c of chunks) s.push(c);
  return { lines, tooLong };
}

describe('control line splitter', () => {
  it('gives each line of one chunk, and of lines cut anywhere across chunks (UTF-8 included), without its CR', () => {
    const text = '{"op":"sale","amount":100}\r\n{"op":"status"}\n\n{"note":"消费 ¥"}\n';
    expect(split([Buffer.from(text)]).lines).toEqual(['{"op":"sale","amount":100}', '{"op":"status"}', '', '{"note":"消费 ¥"}']);
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }).filter((l) => !l.includes('\n')), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (lines, cuts) => {
        const bytes = Buffer.from(lines.map((l) => l + '\n').join(''));
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, i) => bytes.subarray(from, [...at, bytes.length][i]));
        expect(split(chunks).lines).toEqual(lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)));
      }),
    );
  });

  it('reports an over-long line once, skips it to its end, and keeps the next', () => {
    const r = split([Buffer.from('x'.repeat(10)), Buffer.from('y'.repeat(10)), Buffer.from('z\nok\n')], 16);
    expect(r).toEqual({ lines: ['ok'], tooLong: 1 });
    expect(split([Buffer.from('0123456789abcdef\n')], 16).lines).toEqual(['0123456789abcdef']);
  });
});
