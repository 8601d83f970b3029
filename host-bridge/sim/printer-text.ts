// A printed receipt as plain text: one line per paper line, alignment applied over the 32 paper columns
// (a CJK character or a double-width run takes the columns it takes on paper). Bold and height cannot show
// in text; the SVG keeps them.
import { lineText, runColumns, type PrintedLine, type PrintedReceipt } from '../../protocol/escpos/page.js';
import { COLUMNS_58MM } from '../../protocol/escpos/text-width.js';

export function lineIndent(line: PrintedLine, columns: number): number {
  const used = line.runs.reduce((n, r) => n + runColumns(r), 0);
  const free = Math.max(0, columns - used);
  return line.align === 'center' ? Math.floor(free / 2) : line.align === 'right' ? free : 0;
}

export function receiptText(receipt: PrintedReceipt, columns = COLUMNS_58MM): string {
  return receipt.lines.map((l) => (' '.repeat(lineIndent(l, columns)) + lineText(l)).trimEnd()).join('\n') + '\n';
}
