// Writes each receipt the simulated printer tears off as DIR/receipt-NNNN.txt and .svg. Numbering goes on
// from the files already there, so restarting the simulator never overwrites a receipt someone is looking at.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PrintedLine } from '../../protocol/escpos/page.js';
import type { SimReceipt } from './printer-device.js';
import { receiptSvg } from './printer-svg.js';
import { receiptText } from '../../protocol/escpos/page-text.js';

const NAME = /^receipt-(\d{4,})\.txt$/;

const TORN_MARK: PrintedLine = {
  align: 'center',
  runs: [{ text: '~~ INCOMPLETE: printing stopped here ~~', bold: true, width: 1, height: 1 }],
};

export interface WrittenReceipt {
  number: number;
  txt: string;
  svg: string;
}

export class ReceiptWriter {
  private next: number;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    const taken = fs.readdirSync(dir).map((f) => NAME.exec(f)?.[1]).filter((n): n is string => n !== undefined).map(Number);
    this.next = taken.length ? Math.max(...taken) + 1 : 1;
  }

  write(receipt: SimReceipt): WrittenReceipt {
    const printed = receipt.incomplete ? { ...receipt, lines: [...receipt.lines, TORN_MARK] } : receipt;
    const base = path.join(this.dir, `receipt-${String(this.next).padStart(4, '0')}`);
    const written = { number: this.next, txt: `${base}.txt`, svg: `${base}.svg` };
    this.next++;
    fs.writeFileSync(written.txt, receiptText(printed));
    fs.writeFileSync(written.svg, receiptSvg(printed));
    return written;
  }
}
