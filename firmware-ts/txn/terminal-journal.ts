import { Journal, type JournalSpaceOptions } from '../journal/journal.js';
import type { Storage } from '../io/storage.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { RecordTypes } from '../journal/record-types.js';
import { TerminalRecord, terminalRecordTypes } from './records.js';
import { terminalFold, type TerminalJournalState } from './terminal-fold.js';
import { TERMINAL_STATE_VERSION } from './terminal-state.js';
import { rebuildTxns } from './txn-history.js';

export type TerminalJournal = Journal<TerminalJournalState>;

/**
 * Opens (and recovers) the terminal's one journal with the terminal's record types and state fold. A
 * checkpoint of an older build (state version 1, no `txns`) gets its transactions rebuilt from the open
 * batch's records once here; the next checkpoint is written in the current version.
 */
export async function openTerminalJournal(opts: { dir: string; deviceKey: Buffer; storage?: Storage; segmentBytes?: number; space?: JournalSpaceOptions; onFailure?: (e: unknown) => void }): Promise<TerminalJournal> {
  const j = await Journal.open({ ...opts, fold: terminalFold, types: terminalRecordTypes() });
  if (j.state.version !== TERMINAL_STATE_VERSION) {
    try {
      rebuildTxns(j.state, terminalFold.oldestOpenSeq(j.state), j, opts.storage);
    } catch (e) {
      await j.close();
      throw e;
    }
  }
  return j;
}

/** Every record type the terminal's journal can hold, the journal's own included (for verify and tools). */
export const journalRecordTypes = (): RecordTypes => new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);
