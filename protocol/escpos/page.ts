// Lays decoded ESC/POS ops out as the printer would put them on paper: lines of styled runs, wrapped at the
// paper width, one receipt per cut. The simulator renders these as text and SVG; tests read them back.
import iconv from 'iconv-lite';
import type { Alignment } from './commands.js';
import type { EscPosOp } from './ops.js';
import { charColumns, COLUMNS_58MM } from './text-width.js';

export interface PrintedRun {
  text: string;
  bold: boolean;
  /** Magnification across (1..8). */
  width: number;
  /** Magnification down (1..8). */
  height: number;
}

export interface PrintedLine {
  align: Alignment;
  runs: PrintedRun[];
}

export interface PrintedReceipt {
  lines: PrintedLine[];
  partialCut: boolean;
}

/** Columns a run takes on paper, magnification included. */
export function runColumns(run: PrintedRun): number {
  let n = 0;
  for (const ch of run.text) n += charColumns(ch) * run.width;
  return n;
}

export function lineText(line: PrintedLine): string {
  return line.runs.map((r) => r.text).join('');
}

export class PageAssembler {
  private lines: PrintedLine[] = [];
  private current: PrintedRun[] = [];
  private used = 0;
  private align: Alignment = 'left';
  private lineAlign: Alignment = 'left';
  private bold = false;
  private width = 1;
  private height = 1;
  private chinese = false;

  constructor(readonly columns = COLUMNS_58MM) {}

  /** Applies one op; returns the finished receipt when the op is a cut. */
  apply(op: EscPosOp): PrintedReceipt | null {
    switch (op.op) {
      case 'init':
        // ESC @ clears the print buffer: an unterminated line is dropped, as on the device.
        this.current = [];
        this.used = 0;
        this.align = 'left';
        this.bold = false;
        this.width = 1;
        this.height = 1;
        this.chinese = false;
        return null;
      case 'align':
        this.align = op.align;
        if (this.current.length === 0) this.lineAlign = op.align;
        return null;
      case 'bold':
        this.bold = op.on;
        return null;
      case 'size':
        this.width = op.width;
        this.height = op.height;
        return null;
      case 'chinese-mode':
        this.chinese = op.on;
        return null;
      case 'text':
        this.addText(this.chinese ? iconv.decode(op.bytes, 'gb18030') : op.bytes.toString('latin1'));
        return null;
      case 'line-feed':
        this.endLine();
        return null;
      case 'feed': {
        const flushed = this.current.length > 0;
        if (flushed) this.endLine();
        for (let k = flushed ? 1 : 0; k < op.lines; k++) this.endLine();
        return null;
      }
      case 'cut': {
        if (this.current.length > 0) this.endLine();
        const receipt = { lines: this.lines, partialCut: op.partial };
        this.lines = [];
        return receipt;
      }
      case 'status-request':
        return null;
    }
  }

  /** Lines printed since the last cut (for a receipt that never got its cut). */
  takeUncut(): PrintedLine[] {
    if (this.current.length > 0) this.endLine();
    const lines = this.lines;
    this.lines = [];
    return lines;
  }

  private addText(text: string): void {
    for (const ch of text) {
      const cols = charColumns(ch) * this.width;
      // The printer wraps a character that does not fit onto the next line.
      if (this.used + cols > this.columns && this.used > 0) this.endLine();
      const last = this.current[this.current.length - 1];
      if (last && last.bold === this.bold && last.width === this.width && last.height === this.height) last.text += ch;
      else this.current.push({ text: ch, bold: this.bold, width: this.width, height: this.height });
      this.used += cols;
    }
  }

  private endLine(): void {
    this.lines.push({ align: this.current.length ? this.lineAlign : this.align, runs: this.current });
    this.current = [];
    this.used = 0;
    this.lineAlign = this.align;
  }
}
