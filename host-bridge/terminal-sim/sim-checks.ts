// The money invariants of DESIGN.md as the simulator checks them, after every reboot and at the end:
// checkMoneyInvariants (journal vs the acquirer's reference ledger) plus what only the simulator can see —
// every STAN that went on the wire was journaled first, settled batches' totals equal the acquirer's, and
// no file on the terminal's disk holds a PAN-like digit run or any PIN block the PIN pad formed, in any
// form (raw bytes, torn and garbled sectors included).
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { findPanLikeRun } from '../../firmware-ts/pci/card-data.js';
import { pinBlockForms } from '../../firmware-ts/pci/pin-blocks-in-flight.js';
import type { AcquirerHost } from '../acquirer/host.js';
import { checkMoneyInvariants, type InvariantName, type ToldCashier } from '../../firmware-ts/txn/money-invariants.js';
import { TerminalRecord, type AuthIntent, type SettlementDone, type StanAllocated } from '../../firmware-ts/txn/records.js';
import type { SettlementStepRecord, TotalsSide } from '../../firmware-ts/txn/settlement-records.js';
import { txnKey, txnViews } from '../../firmware-ts/txn/txn-history.js';
import type { SimDisk } from './sim-disk.js';
import type { SlipOnPaper } from './sim-devices.js';

export type SimInvariant = InvariantName | 'settled-totals' | 'journal-reopens' | 'one-original-slip' | 'liveness' | 'engine-error';

/** Every invariant the simulator counts, in the order `--json` reports them. */
export const SIM_INVARIANTS: readonly SimInvariant[] = [
  'no-phantom-debit',
  'no-lost-sale',
  'stan-unique',
  'batch-forward',
  'reversal-once',
  'settled-totals',
  'journal-reopens',
  'no-card-data',
  'no-failed-debit',
  'request-once',
  'no-over-credit',
  'one-original-slip',
  'liveness',
  'engine-error',
];

export interface SimViolation {
  invariant: SimInvariant;
  detail: string;
}

export interface WorldView {
  records: readonly JournalRecord[];
  host: AcquirerHost;
  disk: SimDisk;
  terminalId: string;
  /** Requests that left the terminal. */
  wire: readonly { mti: string; stan: number }[];
  /** batch|STAN of what the terminal told the cashier was approved. */
  reportedApproved: ReadonlySet<string>;
  /** Every answer the cashier heard (invariant 8). */
  told: readonly ToldCashier[];
  /** Every encrypted PIN block the PIN pad formed this run. */
  pinBlocks?: readonly Buffer[];
  /** The print jobs that reached the paper, whole or torn (the simulated printer's; none with real drivers). */
  onPaper?: readonly SlipOnPaper[];
  /** Mid-run: reversals still owed are obligations kept, not violations. */
  final: boolean;
  /** The seed's disk scan, kept between its checks (each file is then scanned where it changed); a whole scan without. */
  diskScan?: DiskScan;
}

const six = (n: number) => String(n).padStart(6, '0');

export function checkWorld(w: WorldView): SimViolation[] {
  const out: SimViolation[] = checkMoneyInvariants({ records: w.records, ledger: w.host.state.entries, terminalId: w.terminalId, allowOwedReversals: !w.final, told: w.told }).map((v) => ({
    invariant: v.invariant,
    detail: v.detail,
  }));
  checkWireStans(w, out);
  checkReversalRepeats(w, out);
  checkReportedApprovals(w, out);
  checkSettledTotals(w, out);
  checkOriginalSlips(w, out);
  const scan = w.diskScan ?? new DiskScan();
  for (const f of w.disk.fileInfo()) {
    const { panAt, pinAt } = scan.file(f.path, w.disk.readFile(f.path), w.pinBlocks ?? []);
    if (panAt >= 0) out.push({ invariant: 'no-card-data', detail: `${f.path} holds a PAN-like digit run at byte ${panAt}` });
    if (pinAt >= 0) out.push({ invariant: 'no-card-data', detail: `${f.path} holds a PIN block at byte ${pinAt}` });
  }
  return out;
}

/** Longest digit window findPanLikeRun looks at: a window it finds lies within this many bytes of any of its bytes. */
const PAN_WINDOW = 19;
/** Files are compared with their last scanned bytes in chunks of this size, then by sector within a chunk that differs. */
const CHUNK = 4096;
const SECTOR = 512;

/**
 * The card-data scan of the terminal's disk, the same answer for less work when the scans repeat (after
 * every reboot of a seed): a file's bytes are compared with the bytes of its last clean scan, and only the
 * sectors that differ are scanned again, widened by the longest pattern. That is exact because both searches
 * are local: a PAN-like window (13–19 digits, Luhn-valid, not starting with 0) or a PIN block form lies in
 * bytes that were all there, unchanged, at the last scan — which found none — unless it overlaps a changed
 * byte. A PIN block not seen at the last scan of a file is searched in the whole file. Whenever anything is
 * found, the whole file is scanned again as before, so the offset reported is the first in the file.
 * Without a DiskScan (one per seed), checkWorld scans every file whole.
 */
export class DiskScan {
  /** Per path: the bytes of its last scan that found nothing, and the PIN blocks (hex) that scan covered. */
  private readonly last = new Map<string, { bytes: Buffer; blocks: Set<string> }>();
  private readonly forms = new Map<string, Buffer[]>();

  private formsOf(block: Buffer): { hex: string; forms: Buffer[] } {
    const hex = block.toString('hex');
    let forms = this.forms.get(hex);
    if (!forms) this.forms.set(hex, (forms = pinBlockForms(block)));
    return { hex, forms };
  }

  /** The first PAN-like run and the first PIN block (first form of the first block found, as a whole scan reports it) in `bytes`, or -1. */
  file(path: string, bytes: Buffer, pinBlocks: readonly Buffer[]): { panAt: number; pinAt: number } {
    const blocks = pinBlocks.map((b) => this.formsOf(b));
    const prev = this.last.get(path);
    this.last.delete(path);
    const found = prev ? this.foundInChanges(prev, bytes, blocks) : true;
    if (found) {
      const panAt = findPanLikeRun(bytes);
      let pinAt = -1;
      for (const { forms } of blocks) for (const form of forms) if (pinAt < 0) pinAt = bytes.indexOf(form);
      if (panAt >= 0 || pinAt >= 0) return { panAt, pinAt };
    }
    this.last.set(path, { bytes, blocks: new Set(blocks.map((b) => b.hex)) });
    return { panAt: -1, pinAt: -1 };
  }

  /** Whether the changed bytes since `prev` (or a block `prev` did not cover) might hold anything: true sends the file to a whole scan. */
  private foundInChanges(prev: { bytes: Buffer; blocks: Set<string> }, bytes: Buffer, blocks: { hex: string; forms: Buffer[] }[]): boolean {
    const changed = changedRanges(prev.bytes, bytes);
    for (const [lo, hi] of changed) {
      if (findPanLikeRun(bytes.subarray(Math.max(0, lo - (PAN_WINDOW - 1)), Math.min(bytes.length, hi + PAN_WINDOW - 1))) >= 0) return true;
    }
    for (const { hex, forms } of blocks) {
      for (const form of forms) {
        if (!prev.blocks.has(hex)) {
          if (bytes.indexOf(form) >= 0) return true;
          continue;
        }
        for (const [lo, hi] of changed) {
          if (bytes.subarray(Math.max(0, lo - (form.length - 1)), Math.min(bytes.length, hi + form.length - 1)).indexOf(form) >= 0) return true;
        }
      }
    }
    return false;
  }
}

/** The byte ranges [lo, hi) of `now` that differ from `before` (by sector) or lie past its end, merged when adjacent. */
function changedRanges(before: Buffer, now: Buffer): [number, number][] {
  const out: [number, number][] = [];
  const add = (lo: number, hi: number) => {
    const last = out[out.length - 1];
    if (last && last[1] >= lo) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  };
  const common = Math.min(before.length, now.length);
  for (let c = 0; c < common; c += CHUNK) {
    const ce = Math.min(c + CHUNK, common);
    if (now.compare(before, c, ce, c, ce) === 0) continue;
    for (let s = c; s < ce; s += SECTOR) {
      const se = Math.min(s + SECTOR, ce);
      if (now.compare(before, s, se, s, se) !== 0) add(s, se);
    }
  }
  if (now.length > common) add(common, now.length);
  return out;
}

/**
 * A sale's slip reaches the customer unmarked once: every later job of it — after a power cut or a printer
 * that failed part-way may have put the first on paper — carries 重打印 / DUPLICATE. Two unmarked originals
 * would let a customer hold two receipts for one debit. A slip is known by its job id without the -dup suffix.
 */
function checkOriginalSlips(w: WorldView, out: SimViolation[]): void {
  const originals = new Map<string, number>();
  for (const p of w.onPaper ?? []) {
    const slip = /^(slip-\d+-\d+)(-dup)?$/.exec(p.jobId)?.[1];
    if (slip && !p.marked) originals.set(slip, (originals.get(slip) ?? 0) + 1);
  }
  for (const [slip, n] of originals) if (n > 1) out.push({ invariant: 'one-original-slip', detail: `${slip} reached the paper unmarked ${n} times` });
}

/** Write-ahead, seen from the wire: a STAN the journal never allocated would be handed out again. */
function checkWireStans(w: WorldView, out: SimViolation[]): void {
  const allocated = new Set<number>();
  for (const r of w.records) {
    if (r.type === TerminalRecord.authIntent.name) allocated.add((r.payload as AuthIntent).stan);
    else if (r.type === TerminalRecord.stanAllocated.name) allocated.add((r.payload as StanAllocated).stan);
    else if (r.type === TerminalRecord.settlementStep.name) {
      const p = r.payload as SettlementStepRecord;
      if ('stan' in p) allocated.add(p.stan);
    }
  }
  const reported = new Set<number>();
  for (const m of w.wire) {
    if (allocated.has(m.stan) || reported.has(m.stan)) continue;
    reported.add(m.stan);
    out.push({ invariant: 'stan-unique', detail: `STAN ${m.stan} went on the wire (${m.mti}) but the journal never allocated it: it can be handed out again` });
  }
}

/**
 * 4, seen from the wire: once a 0400 for a STAN has left the terminal, every later send of that reversal is
 * a 0401 repeat (so the acquirer knows it for one); a second 0400 means the "already sent" count was lost.
 */
function checkReversalRepeats(w: WorldView, out: SimViolation[]): void {
  const first = new Set<number>();
  const reported = new Set<number>();
  for (const m of w.wire) {
    if (m.mti !== '0400') continue;
    if (first.has(m.stan) && !reported.has(m.stan)) {
      reported.add(m.stan);
      out.push({ invariant: 'reversal-once', detail: `a second 0400 for STAN ${m.stan} went on the wire: a repeat must be a 0401 (the attempt count was lost)` });
    }
    first.add(m.stan);
  }
}

/** 2. No lost sale, as the cashier saw it: what the terminal said was approved is durable and live at the acquirer. */
function checkReportedApprovals(w: WorldView, out: SimViolation[]): void {
  if (w.reportedApproved.size === 0) return;
  const views = txnViews(w.records);
  const live = new Set<string>();
  const reversed = new Set<number>();
  for (const e of w.host.state.entries) if (e.kind === 'reversal' && e.target !== null) reversed.add(e.target);
  for (const e of w.host.state.entries) {
    if (e.kind === 'authorization' && e.terminalId === w.terminalId && !reversed.has(e.seq)) live.add(txnKey(Number(e.batch), Number(e.stan)));
  }
  for (const key of w.reportedApproved) {
    const v = views.get(key);
    if (v?.outcome?.result !== 'approved' || v.reversal) {
      out.push({ invariant: 'no-lost-sale', detail: `the cashier was told ${key} was approved; the journal says ${v ? (v.reversal ? `reversal ${v.reversal.state}` : (v.outcome?.result ?? 'no outcome')) : 'nothing'}` });
    } else if (!live.has(key)) {
      out.push({ invariant: 'no-lost-sale', detail: `the cashier was told ${key} was approved; the acquirer has no live authorization for it` });
    }
  }
}

/** 5. After settlement the terminal's batch totals (sent in the 0500) equal the acquirer's for that batch. */
function checkSettledTotals(w: WorldView, out: SimViolation[]): void {
  const sent = new Map<number, TotalsSide>();
  for (const r of w.records) {
    if (r.type === TerminalRecord.settlementStep.name) {
      const p = r.payload as SettlementStepRecord;
      if (p.step === 'started') sent.set(p.batch, p.terminal);
    } else if (r.type === TerminalRecord.settlementDone.name) {
      const { batch } = r.payload as SettlementDone;
      const t = sent.get(batch);
      const h = w.host.state.batchTotals(w.terminalId, six(batch));
      if (!t) {
        out.push({ invariant: 'settled-totals', detail: `batch ${batch} settled with no totals journaled` });
        continue;
      }
      const host = { debitCount: h.debitCount, debitAmount: Number(h.debitAmount), creditCount: h.creditCount, creditAmount: Number(h.creditAmount) };
      if (t.debitCount !== host.debitCount || t.debitAmount !== host.debitAmount || t.creditCount !== host.creditCount || t.creditAmount !== host.creditAmount) {
        out.push({ invariant: 'settled-totals', detail: `batch ${batch}: terminal ${JSON.stringify(t)} vs acquirer ${JSON.stringify(host)}` });
      }
    }
  }
}
