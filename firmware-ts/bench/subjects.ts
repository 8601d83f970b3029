// The subjects `posj bench journal` measures. The journal subject lives in journal-subject.ts, written
// with the journal itself; until that file exists the bench runs the floor and SQLite alone.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchSubject, BootResult } from './subject.js';
import { floorSubject } from './floor-subject.js';
import type { SaleRecordSizes } from './record-sizes.js';
import { sqliteSubject } from './sqlite-subject.js';

export interface JournalBenchModule {
  journalSubject(options?: { fileIo?: boolean }): BenchSubject;
  /** The journal's real record sizes per sale, so the floor writes exactly as many bytes. */
  saleRecordSizes?: SaleRecordSizes;
  /** Fills journals of several history sizes under `dir` and measures boot for each (see boot.ts). */
  measureJournalBoot?(dir: string): Promise<BootResult[]>;
}

const JOURNAL_MODULE = './journal-subject.js';

export async function loadJournalBench(): Promise<JournalBenchModule | null> {
  // Compiled, the module is .js beside this file; under vitest this file is the .ts source.
  const here = fileURLToPath(new URL(JOURNAL_MODULE, import.meta.url));
  if (!fs.existsSync(here) && !fs.existsSync(here.replace(/\.js$/, '.ts'))) return null;
  return (await import(JOURNAL_MODULE)) as JournalBenchModule;
}

/**
 * floor, sqlite, and journal when it is there; plus the journal's boot suite if it has one. `withoutIo`
 * is the journal subject with its file writes and syncs skipped (for --profile), run only when asked for.
 */
export async function benchSubjects(): Promise<{ subjects: BenchSubject[]; withoutIo: BenchSubject | null; boot: JournalBenchModule['measureJournalBoot'] | null }> {
  const journal = await loadJournalBench();
  const subjects = [floorSubject(journal?.saleRecordSizes), sqliteSubject()];
  if (journal) subjects.push(journal.journalSubject());
  return { subjects, withoutIo: journal?.journalSubject({ fileIo: false }) ?? null, boot: journal?.measureJournalBoot?.bind(journal) ?? null };
}
