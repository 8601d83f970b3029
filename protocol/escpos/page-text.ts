// A printed receipt as plain text: one line per paper line, alignment applied over the 32 paper columns
// (a CJK character or a double-width run takes the columns it takes on paper). Bold and height cannot show
// in text; the SVG keeps them.
import { decodeEscPos } from './decoder.js';
import { lineText, PageAssembler, runColumns, type PrintedLine, type PrintedReceipt } from './page.js';
import { COLUMNS_58MM } from './text-width.js';

export function lineIndent(line: PrintedLine, columns: number): number {
  const used = line.runs.reduce((n, r) => n + runColumns(r), 0);
  const free = Math.max(0, columns - used);
  return line.align === 'center' ? Math.floor(free / 2) : line.align === 'right' ? free : 0;
}

export function receiptText(receipt: PrintedReceipt, columns = COLUMNS_58MM): string {
  return receipt.lines.map((l) => (' '.repeat(lineIndent(l, columns)) + lineText(l)).trimEnd()).join('\n') + '\n';
}

/** The paper a whole ESC/POS job comes out as: one text per cut, decoded strictly. */
export function jobPaperText(job: Buffer, columns = COLUMNS_58MM): string[] {
  const page = new PageAssembler(columns);
  const out: string[] = [];
  for (const op of decodeEscPos(job)) {
    const r = page.apply(op);
    if (r) out.push(receiptText(r, columns));
  }
  return out;
}
