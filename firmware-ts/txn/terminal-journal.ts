import { Journal, type JournalSpaceOptions } from '../journal/journal.js';
import type { Storage } from '../io/storage.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { RecordTypes } from '../journal/record-types.js';
import { TerminalRecord, terminalRecordTypes } from './records.js';
import { terminalFold, type TerminalJournalState } from './terminal-fold.js';

export type TerminalJournal = Journal<TerminalJournalState>;

/** Opens (and recovers) the terminal's one journal with the terminal's record types and state fold. */
export function openTerminalJournal(opts: { dir: string; deviceKey: Buffer; storage?: Storage; segmentBytes?: number; space?: JournalSpaceOptions; onFailure?: (e: unknown) => void }): Promise<TerminalJournal> {
  return Journal.open({ ...opts, fold: terminalFold, types: terminalRecordTypes() });
}

/** Every record type the terminal's journal can hold, the journal's own included (for verify and tools). */
export const journalRecordTypes = (): RecordTypes => new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);
