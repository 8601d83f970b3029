// Gives each test run its own scratch directory (runs by different developers may overlap on one
// machine), and after the run scans every journal directory the suite wrote for card data: no Luhn-valid
// 13–19 digit run may appear anywhere in one, archived and damaged parts included (DESIGN invariant 7).
// Receipts are not scanned: they print merchant IDs, which are 15 digits and Luhn-valid one time in ten.
// Then every file the run wrote, receipts and logs included, is scanned for every PIN block a simulated
// PIN pad formed during the run — raw, as hex in either case, as base64 — through the
// keyed fingerprints the pads noted (host-bridge/sim/pin-block-registry.ts), never the blocks themselves.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { findPanLikeRun } from '../firmware-ts/pci/card-data.js';
import { KEY_ENV, REGISTRY_ENV, scanForPinBlocks } from '../host-bridge/sim/pin-block-registry.js';

function* filesUnder(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield p;
  }
}

/** Directories holding journal segments, each taken whole (with its archive/ and damaged-* parts). */
function* journalDirs(dir: string): Generator<string> {
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && /^seg-[0-9a-f]{16}\.wal$/.test(e.name))) {
    yield dir;
    return;
  }
  for (const e of entries) if (e.isDirectory()) yield* journalDirs(path.join(dir, e.name));
}

export default function setup(): () => void {
  const run = path.resolve('.test-tmp', `run-${process.pid}`);
  fs.rmSync(run, { recursive: true, force: true });
  fs.mkdirSync(run, { recursive: true });
  process.env.POSJ_TEST_TMP = run;
  // Beside the run, not in it: the fingerprints are not something the run's code wrote.
  const registry = path.resolve('.test-tmp', `pin-registry-${process.pid}`);
  fs.rmSync(registry, { recursive: true, force: true });
  const key = randomBytes(32).toString('hex');
  process.env[REGISTRY_ENV] = registry;
  process.env[KEY_ENV] = key;
  return () => {
    const hits: string[] = [];
    let scanned = 0;
    let journals = 0;
    for (const dir of journalDirs(run)) {
      journals++;
      for (const f of filesUnder(dir)) {
        scanned++;
        const at = findPanLikeRun(fs.readFileSync(f));
        if (at >= 0) hits.push(`${path.relative(run, f)} at byte ${at}`);
      }
    }
    if (hits.length) throw new Error(`card data found in journal files the suite wrote:\n  ${hits.join('\n  ')}`);
    process.stdout.write(`PCI scan: ${scanned} files in ${journals} journal directories hold no PAN-like digit run\n`);
    const pins = scanForPinBlocks(run, registry, key);
    fs.rmSync(registry, { recursive: true, force: true });
    if (pins.hits.length) throw new Error(`PIN blocks found in files the suite wrote:\n  ${pins.hits.join('\n  ')}`);
    process.stdout.write(`PIN block scan: ${pins.blocks} PIN blocks formed; ${pins.files} files (${(pins.bytes / 2 ** 20).toFixed(1)} MiB) hold none of them, raw, hex or base64\n`);
  };
}
