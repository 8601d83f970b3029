// A/B slots on the terminal: two slot directories `a` and `b` under the slots directory and state.json
// naming the active one, the last confirmed one, and the slot under test with its boot count. state.json
// is replaced atomically (temp file, fdatasync, rename, directory fsync), so after a power cut it names
// either the old or the new state, and a slot is named active only after its files are durable.
import * as path from 'node:path';
import type { Storage } from '../io/storage.js';

export type SlotName = 'a' | 'b';

export interface SlotState {
  active: SlotName;
  confirmed: SlotName;
  /** A slot booted but not yet confirmed healthy by the daemon. */
  trying: { slot: SlotName; boots: number } | null;
  /** The last automatic rollback, for the bench to read in hello. */
  rolledBack?: RolledBack;
}

/** Why a slot under test was given up: it failed `maxBoots` boots, or one boot never confirmed in time. */
export type RollbackReason = 'max-boots' | 'confirm-deadline' | 'no-firmware';

export interface RolledBack {
  from: SlotName;
  boots: number;
  /** Absent in a state.json written before reasons were kept. */
  reason?: RollbackReason;
}

export const FACTORY_STATE: SlotState = { active: 'a', confirmed: 'a', trying: null };
export const other = (s: SlotName): SlotName => (s === 'a' ? 'b' : 'a');

export class SlotStateError extends Error {
  readonly code = 'SLOT_STATE_INVALID';
}

export function readSlotState(storage: Storage, slotsDir: string): SlotState {
  const file = path.join(slotsDir, 'state.json');
  if (!storage.exists(file)) return FACTORY_STATE;
  const f = storage.open(file, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(Math.min(f.size(), 4096));
    text = buf.subarray(0, f.read(buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    f.close();
  }
  let s: SlotState;
  try {
    s = JSON.parse(text) as SlotState;
  } catch {
    throw new SlotStateError(`${file} is not JSON`);
  }
  const slot = (v: unknown) => v === 'a' || v === 'b';
  if (!slot(s.active) || !slot(s.confirmed) || (s.trying !== null && (!slot(s.trying?.slot) || !Number.isInteger(s.trying.boots)))) throw new SlotStateError(`${file}: bad slot state ${text.slice(0, 200)}`);
  return s;
}

/** Writes a whole file durably under its final name: temp file, fdatasync, rename, directory fsync. */
export function writeFileDurably(storage: Storage, file: string, bytes: Buffer): void {
  const tmp = `${file}.tmp`;
  if (storage.exists(tmp)) storage.remove(tmp);
  const f = storage.open(tmp, 'create');
  try {
    f.write(bytes, 0);
    f.datasync();
  } finally {
    f.close();
  }
  storage.rename(tmp, file);
  storage.syncDir(path.dirname(file));
}

export function writeSlotState(storage: Storage, slotsDir: string, s: SlotState): void {
  writeFileDurably(storage, path.join(slotsDir, 'state.json'), Buffer.from(JSON.stringify(s) + '\n'));
}
