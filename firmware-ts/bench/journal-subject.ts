// This project's journal as a bench subject: the real terminal journal (record types, PCI guard, MAC
// chain, state fold) doing what a sale does — intent durable, outcome durable, printed lazy — plus boot
// figures for journals with 10k, 100k and 1M records of history.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { BenchSubject, BootResult } from './subject.js';
import type { SaleRecordSizes } from './record-sizes.js';
import { measureBoot } from './boot.js';
import { recordSpan } from '../../protocol/journal/format.js';
import { openTerminalJournal, type TerminalJournal } from '../txn/terminal-journal.js';
import type { RecordInput } from '../journal/journal.js';
import { saleIntent, saleOutcome, syntheticSteps } from '../journal/synthetic-sales.js';
import { TerminalRecord } from '../txn/records.js';
import { loadOrCreateDeviceKey } from '../journal/device-key.js';
import { nodeStorage } from '../io/node-storage.js';
import { countSyncs, type CountingStorage } from './sync-count.js';
import { withoutFileIo } from './no-io-storage.js';

const BATCH_SIZE = 500;
const SETTLED_AT = '2026-11-21T23:59:00.000Z';
const batchOf = (i: number) => Math.floor(i / BATCH_SIZE) + 1;
const printed = (i: number) => ({ stan: saleIntent(i + 1, batchOf(i)).stan, copies: 'both' as const });
const jsonBytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));

/** The floor writes exactly the bytes this journal frames per record. */
export const saleRecordSizes: SaleRecordSizes = (i) => [
  recordSpan(jsonBytes(saleIntent(i + 1, batchOf(i)))),
  recordSpan(jsonBytes(saleOutcome(i + 1, true))),
  recordSpan(jsonBytes(printed(i))),
];

/** The journal subject's name without its file I/O (`--profile`; no-io-storage.ts). */
export const JOURNAL_WITHOUT_IO = 'journal-no-io';

export function journalSubject(options: { fileIo?: boolean } = {}): BenchSubject {
  const fileIo = options.fileIo ?? true;
  let j: TerminalJournal | null = null;
  let storage: CountingStorage | null = null;
  // The caller's records are built before the clock starts, as the floor's sizes are: only journal work is timed.
  let sales: RecordInput[][] = [];
  return {
    name: fileIo ? 'journal' : JOURNAL_WITHOUT_IO,
    detail: fileIo
      ? 'pos-journal: terminal record types, PCI guard, HMAC chain, state fold; intent + outcome durable appends, printed lazy; a lazy settlement-done record every 500 sales'
      : "the journal subject with its segment files' writes and syncs skipped: its CPU without file I/O, for --profile",
    async open(dir, plan) {
      storage = countSyncs(fileIo ? nodeStorage : withoutFileIo(nodeStorage));
      j = await openTerminalJournal({ dir: path.join(dir, 'journal'), deviceKey: randomBytes(32), storage });
      const base = j.state.stan;
      sales = Array.from({ length: plan.sales }, (_, i) => {
        const n = base + i + 1;
        const intent = saleIntent(n, batchOf(i));
        return [
          { type: TerminalRecord.authIntent.name, payload: intent },
          { type: TerminalRecord.authOutcome.name, payload: saleOutcome(n, true) },
          { type: TerminalRecord.receiptPrinted.name, payload: { stan: intent.stan, copies: 'both' } },
        ];
      });
    },
    async sale(i) {
      const [intent, outcome, printedRecord] = sales[i]!;
      await j!.append([intent!], { durable: true });
      await j!.append([outcome!], { durable: true });
      await j!.append([printedRecord!], { durable: false });
      // A terminal settles its batch (daily, or every few hundred sales); an open batch of tens of
      // thousands of sales would make every checkpoint carry all of them.
      if ((i + 1) % BATCH_SIZE === 0) {
        const batch = j!.state.batch;
        await j!.append([{ type: TerminalRecord.settlementDone.name, payload: { batch, balanced: true, nextBatch: batch + 1, at: SETTLED_AT } }], { durable: false });
      }
    },
    async close() {
      await j?.close();
      j = null;
    },
    // Without file I/O its syncs return at once: counting them would claim syncs that never happened.
    ...(fileIo ? { syncs: () => storage?.syncs ?? 0 } : {}),
  };
}

/** Fills a journal with `records` records of realistic history (lazy appends, one sync at the end). */
export async function fillHistory(dir: string, keyPath: string, records: number): Promise<void> {
  const j = await openTerminalJournal({ dir, deviceKey: loadOrCreateDeviceKey(keyPath, dir) });
  try {
    for (const step of syntheticSteps(j.state.stan + 1, Number.MAX_SAFE_INTEGER, BATCH_SIZE)) {
      if (j.nextSeq > records) break;
      await j.append(step.records, { durable: false });
    }
    await j.sync();
  } finally {
    await j.close();
  }
}

/** What the boot child calls: open (recover) the journal and hand it back alive, for the heap figure. */
export async function openForBoot(dir: string, keyPath: string): Promise<TerminalJournal> {
  return openTerminalJournal({ dir, deviceKey: loadOrCreateDeviceKey(keyPath, dir) });
}

export async function measureJournalBoot(dir: string, sizes = [10_000, 100_000, 1_000_000]): Promise<BootResult[]> {
  const results: BootResult[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const size of sizes) {
    const jdir = path.join(dir, `boot-${size}`);
    const keyPath = `${jdir}.key`;
    fs.rmSync(jdir, { recursive: true, force: true });
    await fillHistory(jdir, keyPath, size);
    const runs = [];
    for (let r = 0; r < 3; r++) runs.push(await measureBoot({ module: self, export: 'openForBoot', args: [jdir, keyPath] }));
    runs.sort((a, b) => a.boot_ms - b.boot_ms);
    const mid = runs[1]!;
    const probe = await openForBoot(jdir, keyPath);
    const s = probe.state;
    const open = Object.keys(s.inFlight).length + Object.keys(s.reversals).length + Object.keys(s.pendingReceipts).length + Object.keys(s.batchEntries).length;
    await probe.close();
    results.push({ subject: 'journal', history_records: size, open_records: open, boot_ms: mid.boot_ms, heap_mb: mid.heap_mb });
    fs.rmSync(jdir, { recursive: true, force: true });
    fs.rmSync(keyPath, { force: true });
  }
  return results;
}
