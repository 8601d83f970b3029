// A repair moves the damaged part aside before it writes back what the salvaged state still owes. A power
// cut (or a crash) between the two would leave a journal that opens without those obligations and with its
// counters where the damage left them. So the repair first commits all it will do to DIR/repair.pending
// (written beside it, synced, renamed: whole or absent), a journal holding one refuses to open, and
// `posj journal repair` finishes it from the file. Its state becomes the repaired journal's, so it carries
// an HMAC under a key derived from the device key: an edited file is refused, never applied.
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { Storage } from '../io/storage.js';
import { JournalError } from './errors.js';
import type { RepairPayload } from './internal-types.js';
import { readWhole } from './segment-io.js';
import type { JournalRecord } from './state-machine.js';

export const REPAIR_INTENT_NAME = 'repair.pending';
const TEMP_NAME = 'repair.pending.tmp';

export interface RepairIntent<P = unknown> {
  version: 1;
  /** `moving`: the damaged part is being moved aside; `writing`: it is, and the salvaged state is being written. */
  phase: 'moving' | 'writing';
  /** Directory (a name inside the journal directory) the damaged part goes to. */
  movedTo: string;
  cut: { segment: string | null; offset: number; seq: number; extendTo: number | null };
  /** The cut segment goes aside whole (nothing before the cut is kept). */
  wholeSegment: boolean;
  /** The cut segment's bytes from the cut on, copied into movedTo before the intent is committed. */
  part: { name: string; bytes: number } | null;
  segmentsMoved: string[];
  /** The segments left once the damaged part is aside (set with phase `writing`). */
  kept: string[];
  segmentBytes: number | null;
  /** Records the salvaged state needs held again, as they were (seqs of the damaged part). */
  reappend: JournalRecord[];
  /** The repair record to write, its state in the fold's checkpoint form before the re-appended seqs are mapped. */
  record: RepairPayload & { at: string };
  /** The plan as the dry run printed it. */
  plan: P;
}

function intentKey(deviceKey: Buffer): Buffer {
  return crypto.createHmac('sha256', deviceKey).update('pos-journal repair intent v1').digest();
}

function mac(deviceKey: Buffer, body: string): string {
  return crypto.createHmac('sha256', intentKey(deviceKey)).update(body).digest('hex');
}

/** Commits `intent` durably: a crash leaves the previous one (or none) or this one, never a part. */
export function writeRepairIntent(storage: Storage, dir: string, deviceKey: Buffer, intent: RepairIntent): void {
  const body = JSON.stringify(intent);
  const temp = path.join(dir, TEMP_NAME);
  if (storage.exists(temp)) storage.remove(temp);
  const f = storage.open(temp, 'create');
  try {
    f.write(Buffer.from(JSON.stringify({ intent: body, mac: mac(deviceKey, body) }) + '\n'), 0);
    f.sync();
  } finally {
    f.close();
  }
  storage.rename(temp, path.join(dir, REPAIR_INTENT_NAME));
  storage.syncDir(dir);
}

export function hasRepairIntent(storage: Storage, dir: string): boolean {
  return storage.exists(path.join(dir, REPAIR_INTENT_NAME));
}

/** The committed intent, or null; without the key it cannot be checked, so it is not read. */
export function readRepairIntent<P>(storage: Storage, dir: string, deviceKey: Buffer | null): RepairIntent<P> | null {
  const file = path.join(dir, REPAIR_INTENT_NAME);
  if (!storage.exists(file)) return null;
  if (!deviceKey) throw new JournalError('NO_KEY', `${file}: an interrupted repair needs the journal's device key to be finished`);
  let outer: { intent?: unknown; mac?: unknown };
  try {
    outer = JSON.parse(readWhole(storage, file).toString('utf8')) as typeof outer;
  } catch (e) {
    throw new JournalError('REPAIR_INTENT_BAD', `${file}: not a repair intent (${(e as Error).message}); move it aside only after checking the journal by hand`);
  }
  if (typeof outer.intent !== 'string' || typeof outer.mac !== 'string') throw new JournalError('REPAIR_INTENT_BAD', `${file}: not a repair intent (fields intent and mac missing)`);
  const expected = Buffer.from(mac(deviceKey, outer.intent), 'hex');
  const got = Buffer.from(outer.mac, 'hex');
  if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected)) {
    throw new JournalError('REPAIR_INTENT_TAMPERED', `${file}: its MAC does not match under this device key (altered, or another journal's); nothing was changed`);
  }
  const intent = JSON.parse(outer.intent) as RepairIntent<P>;
  if (intent.version !== 1) throw new JournalError('REPAIR_INTENT_BAD', `${file}: version ${String(intent.version)} is not one this build knows`);
  return intent;
}

export function removeRepairIntent(storage: Storage, dir: string): void {
  storage.remove(path.join(dir, REPAIR_INTENT_NAME));
  storage.syncDir(dir);
}

/** What opening a journal with an unfinished repair raises: the cut journal alone would drop what is owed. */
export function unfinishedRepairError(dir: string): JournalError {
  return new JournalError(
    'REPAIR_UNFINISHED',
    `a repair of ${dir} was interrupted before it wrote back what the journal owes; run \`posj journal repair ${dir} --yes-move-damaged\` to finish it (the journal does not open until then)`,
  );
}
