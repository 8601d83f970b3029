// One small multi-segment journal for the tests that damage copies of it: 500 synthetic sales settled
// every 40 (so retention has closed segments to retire) in 64 KiB segments, at least six of them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOrCreateDeviceKey } from '../../firmware-ts/journal/device-key.js';
import { syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';

export const TEMPLATE_SEGMENT_BYTES = 64 * 1024;

export const segmentsOf = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();

/** Writes the journal at `dir` with its device key at `dir.key`; returns the key. */
export async function writeTemplateJournal(dir: string): Promise<Buffer> {
  const key = loadOrCreateDeviceKey(`${dir}.key`, dir);
  const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: TEMPLATE_SEGMENT_BYTES });
  for (const step of syntheticSteps(1, 500, 40)) await j.append(step.records, { durable: step.durable });
  await j.close();
  if (segmentsOf(dir).length < 6) throw new Error(`template journal ${dir}: only ${segmentsOf(dir).length} segments`);
  return key;
}

/** A copy of the template (and its key) at `root/name`. */
export function copyTemplate(template: string, root: string, name: string): string {
  const dir = path.join(root, name);
  fs.cpSync(template, dir, { recursive: true });
  fs.copyFileSync(`${template}.key`, `${dir}.key`);
  return dir;
}
