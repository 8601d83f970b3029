// Boot counting and rollback (what `posj boot` decides before each start of the daemon), and the daemon's
// confirmation of a slot under test once its health check passed. Every decision is written to
// state.json before it takes effect, so a power cut between two boots loses no count.
import * as path from 'node:path';
import type { Storage } from '../io/storage.js';
import { readSlotState, writeSlotState, type RolledBack, type SlotName, type SlotState } from './slot-state.js';

export interface BootDecision {
  slot: SlotName;
  state: SlotState;
  /** Set when this boot rolled back from a slot that failed `maxBoots` times (or holds no firmware). */
  rolledBack?: RolledBack;
}

export class NoBootableSlotError extends Error {
  readonly code = 'NO_BOOTABLE_SLOT';
}

const bootable = (storage: Storage, slotsDir: string, slot: SlotName) => storage.exists(path.join(slotsDir, slot, 'manifest.json')) && storage.exists(path.join(slotsDir, slot, 'posj.mjs'));

export function decideBoot(storage: Storage, slotsDir: string, maxBoots: number): BootDecision {
  let state = readSlotState(storage, slotsDir);
  const t = state.trying;
  if (t && t.slot === state.active && (t.boots >= maxBoots || !bootable(storage, slotsDir, t.slot))) {
    const rolledBack: RolledBack = { from: t.slot, boots: t.boots, reason: t.boots >= maxBoots ? 'max-boots' : 'no-firmware' };
    state = { active: state.confirmed, confirmed: state.confirmed, trying: null, rolledBack };
    writeSlotState(storage, slotsDir, state);
    if (!bootable(storage, slotsDir, state.active)) throw new NoBootableSlotError(`rolled back from ${t.slot}, but slot ${state.active} holds no firmware`);
    return { slot: state.active, state, rolledBack };
  }
  if (!bootable(storage, slotsDir, state.active)) throw new NoBootableSlotError(`slot ${state.active} (in ${slotsDir}) holds no firmware`);
  if (t && t.slot === state.active) {
    state = { ...state, trying: { slot: t.slot, boots: t.boots + 1 } };
    writeSlotState(storage, slotsDir, state);
  }
  return { slot: state.active, state };
}

/** The daemon on `slot` passed its health check: the slot becomes the confirmed one. */
export function confirmSlot(storage: Storage, slotsDir: string, slot: SlotName): boolean {
  const state = readSlotState(storage, slotsDir);
  if (state.trying?.slot !== slot || state.active !== slot) return false;
  writeSlotState(storage, slotsDir, { active: slot, confirmed: slot, trying: null, ...(state.rolledBack ? { rolledBack: state.rolledBack } : {}) });
  return true;
}

/**
 * The slot under test was started but never confirmed itself within the launcher's deadline (a build that
 * hangs at startup never exits, so boot counting alone would leave the terminal dead until power cycles):
 * give it up now and go back to the confirmed slot. Written before the launcher starts that slot. Returns
 * null, changing nothing, when `slot` is no longer under test (it confirmed after all, or was rolled back).
 */
export function failTrial(storage: Storage, slotsDir: string, slot: SlotName): RolledBack | null {
  const state = readSlotState(storage, slotsDir);
  const t = state.trying;
  if (t?.slot !== slot || state.active !== slot) return null;
  const rolledBack: RolledBack = { from: slot, boots: t.boots, reason: 'confirm-deadline' };
  writeSlotState(storage, slotsDir, { active: state.confirmed, confirmed: state.confirmed, trying: null, rolledBack });
  return rolledBack;
}
