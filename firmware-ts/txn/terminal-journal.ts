import { Journal } from '../journal/journal.js';
import type { Storage } from '../io/storage.js';
import { terminalRecordTypes } from './records.js';
import { terminalFold, type TerminalJournalState } from './terminal-fold.js';

export type TerminalJournal = Journal<TerminalJournalState>;

/** Opens (and recovers) the terminal's one journal with the terminal's record types and state fold. */
export function openTerminalJournal(opts: { dir: string; deviceKey: Buffer; storage?: Storage; segmentBytes?: number }): Promise<TerminalJournal> {
  return Journal.open({ ...opts, fold: terminalFold, types: terminalRecordTypes() });
}
