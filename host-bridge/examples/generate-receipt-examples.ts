// Regenerates the committed example receipts (host-bridge/examples/receipt-{zh,en}.{svg,txt}) from the real
// receipt code and the printer simulator's renderers:
//   npm run build && node dist/host-bridge/examples/generate-receipt-examples.js
// test/receipts/receipt-examples.test.ts fails when the committed files drift from what this produces.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReceipt } from '../../firmware-ts/receipts/render-receipt.js';
import { receiptSvg } from '../sim/printer-svg.js';
import { receiptText } from '../../protocol/escpos/page-text.js';
import { printThroughSimulator } from './print-through-simulator.js';
import { sampleSale } from './sample-receipts.js';

export const EXAMPLE_LANGUAGES = ['zh', 'en'] as const;

export function exampleFiles(language: 'zh' | 'en'): { txt: string; svg: string } {
  const [receipt] = printThroughSimulator(renderReceipt(sampleSale(language, 'merchant'), language));
  if (!receipt) throw new Error(`the ${language} sample produced no receipt`);
  return { txt: receiptText(receipt), svg: receiptSvg(receipt) };
}

/** host-bridge/examples in the source tree, whether run from source or from dist/. */
export function examplesDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here.replace(/[\\/]dist([\\/])/, '$1'));
}

function main(): void {
  const dir = examplesDir();
  for (const lang of EXAMPLE_LANGUAGES) {
    const { txt, svg } = exampleFiles(lang);
    fs.writeFileSync(path.join(dir, `receipt-${lang}.txt`), txt);
    fs.writeFileSync(path.join(dir, `receipt-${lang}.svg`), svg);
    process.stdout.write(`${path.join(dir, `receipt-${lang}.svg`)}\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
