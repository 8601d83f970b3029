// Gives each test run its own scratch directory (runs by different developers may overlap on one
// machine), and after the run scans every file the suite wrote there for card data: no Luhn-valid 13–19
// digit run may appear in any journal, log or receipt a test produced (DESIGN money invariant 7).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findPanLikeRun } from '../firmware-ts/pci/card-data.js';

// Not output that could leak card data: the reader simulator's table of test cards, held on purpose, and
// device key files, whose random hex digits can look like anything.
const ALLOWED = [/cards?\.json$/, /\.key$/];

function* filesUnder(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield p;
  }
}

export default function setup(): () => void {
  const run = path.resolve('.test-tmp', `run-${process.pid}`);
  fs.rmSync(run, { recursive: true, force: true });
  fs.mkdirSync(run, { recursive: true });
  process.env.POSJ_TEST_TMP = run;
  return () => {
    const hits: string[] = [];
    let scanned = 0;
    for (const f of filesUnder(run)) {
      if (ALLOWED.some((re) => re.test(f))) continue;
      scanned++;
      const at = findPanLikeRun(fs.readFileSync(f));
      if (at >= 0) hits.push(`${path.relative(run, f)} at byte ${at}`);
    }
    if (hits.length) throw new Error(`card data found in files the suite wrote:\n  ${hits.join('\n  ')}`);
    process.stdout.write(`PCI scan: ${scanned} files the suite wrote hold no PAN-like digit run\n`);
  };
}
