// Turns a receipt document into ESC/POS bytes for a 58 mm printer: pads label/value pairs to the paper width,
// wraps long text (words for English, characters for Chinese), and counts a CJK character as two columns —
// the same rule the printer and the simulator use (protocol/escpos/text-width.ts).
import { EscPosBuilder } from '../../protocol/escpos/encoder.js';
import { charColumns, COLUMNS_58MM, textColumns } from '../../protocol/escpos/text-width.js';
import type { DocumentLine, ReceiptDocument, TextStyle } from './receipt-document.js';

/** Lines fed after the last line so the tear bar / cutter does not cut through text. */
const FEED_BEFORE_CUT = 4;

/** Punctuation a Chinese line may not start with. */
const NO_LINE_START = new Set([...'，。、；：！？）》」』,.;:!?)']);

/** Splits text into pieces of at most `cols` columns, breaking at a space when one is near. */
export function wrapColumns(text: string, cols: number): string[] {
  const out: string[] = [];
  let line = '';
  let used = 0;
  for (const ch of text) {
    const w = charColumns(ch);
    if (used + w > cols && line.length > 0) {
      const space = line.lastIndexOf(' ');
      if (space > 0 && ch !== ' ') {
        out.push(line.slice(0, space));
        line = line.slice(space + 1);
      } else if (NO_LINE_START.has(ch) && line.length > 1) {
        // Chinese line breaking: punctuation never starts a line; the character before it moves down too.
        const chars = [...line];
        const moved = chars.pop()!;
        out.push(chars.join('').trimEnd());
        line = moved;
      } else {
        out.push(line.trimEnd());
        line = '';
      }
      used = textColumns(line);
      if (ch === ' ' && line.length === 0) continue;
    }
    line += ch;
    used += w;
  }
  if (line.length > 0 || out.length === 0) out.push(line);
  return out;
}

const padEnd = (s: string, cols: number) => s + ' '.repeat(Math.max(0, cols - textColumns(s)));

function isAsciiDocument(doc: ReceiptDocument): boolean {
  return doc.every((l) => {
    const parts = l.kind === 'text' ? [l.text] : l.kind === 'pair' ? [l.label, l.value] : l.kind === 'columns' ? l.cells : [];
    return parts.every((p) => /^[\x20-\x7e]*$/.test(p));
  });
}

/** Text columns a styled line may use: double width halves them. */
const widthFor = (style: TextStyle, columns: number) => (style.large ? Math.floor(columns / 2) : columns);

function styledLines(b: EscPosBuilder, style: TextStyle, lines: string[], align: 'left' | 'center' | 'right' = 'left'): void {
  b.align(align).bold(Boolean(style.bold)).size(style.large ? 2 : 1, style.large || style.tall ? 2 : 1);
  for (const l of lines) b.line(l);
  b.size(1, 1).bold(false).align('left');
}

function pairLines(label: string, value: string, cols: number): string[] {
  const head = `${label}:`;
  const gap = cols - textColumns(head) - textColumns(value);
  if (gap >= 1) return [head + ' '.repeat(gap) + value];
  // Too long for one line: label alone, value right-aligned below (wrapped if even that is too long).
  return [head, ...wrapColumns(value, cols).map((v) => ' '.repeat(Math.max(0, cols - textColumns(v))) + v)];
}

function columnsLine(cells: string[], stops: number[], cols: number): string {
  let out = '';
  cells.forEach((cell, i) => {
    const start = stops[i] ?? textColumns(out);
    out = padEnd(out, start);
    const next = stops[i + 1];
    // The last cell is right-aligned to the paper edge; earlier ones are left-aligned at their stop.
    out += next === undefined ? ' '.repeat(Math.max(0, cols - start - textColumns(cell))) + cell : cell;
  });
  return out;
}

function emitLine(b: EscPosBuilder, line: DocumentLine, columns: number): void {
  switch (line.kind) {
    case 'text':
      return styledLines(b, line, wrapColumns(line.text, widthFor(line, columns)), line.align);
    case 'pair':
      return styledLines(b, line, pairLines(line.label, line.value, widthFor(line, columns)));
    case 'columns':
      return styledLines(b, line, [columnsLine(line.cells, line.stops, widthFor(line, columns))]);
    case 'rule':
      b.line('-'.repeat(columns));
      return;
    case 'blank':
      for (let i = 0; i < (line.lines ?? 1); i++) b.line();
      return;
  }
}

/** One receipt, from ESC @ to the cut. Chinese mode (GB18030) is selected only when some text needs it. */
export function layoutDocument(doc: ReceiptDocument, columns = COLUMNS_58MM): Buffer {
  const b = new EscPosBuilder().init();
  if (!isAsciiDocument(doc)) b.chineseMode(true);
  for (const line of doc) emitLine(b, line, columns);
  return b.feed(FEED_BEFORE_CUT).cut(true).build();
}
