// The settlement slip (结算单) on paper: printed when a batch settles, again on `posj reprint --settlement`,
// and — because what is owed lives in the journal (txn/settlement-slip-records.ts), not here — when the
// printer recovers and at boot after a restart. Each job is journaled before it goes to the printer and
// after it ends, so a slip printed is never printed again unmarked, and one that may be partly on paper (the
// line dropped while sending, or the power went before its result was written) is printed again marked
// 重打印 / DUPLICATE, never taken for a second settlement.
import type { Clock } from '../../protocol/io/clock.js';
import { renderReceipt } from '../receipts/render-receipt.js';
import type { MerchantInfo, ReceiptLanguage } from '../receipts/receipt-model.js';
import { bounded, boundedFailure } from '../txn/bounded-call.js';
import { DEVICE_TIMEOUTS, type ReceiptPrinter } from '../txn/engine-devices.js';
import { TerminalRecord, type SettlementSlip } from '../txn/records.js';
import { reconciliation, settlementReceipt } from '../txn/settlement-reconciliation.js';
import type { SettlementSummary } from '../txn/settlement-records.js';
import { printAsDuplicate } from '../txn/settlement-slip-records.js';
import type { TerminalJournal } from '../txn/terminal-journal.js';
import { localTime } from '../txn/txn-receipts.js';
import type { DaemonLog } from './daemon-log.js';

export type SlipOutcome =
  | { printed: true; duplicate: boolean; batch: number }
  | { printed: false; duplicate: boolean; batch: number; reason: string; detail: string; mayBeOnPaper: boolean; willRetry: boolean };

export interface SettlementSlipDeps {
  journal: TerminalJournal;
  printer: ReceiptPrinter;
  clock: Clock;
  log: DaemonLog;
  merchant: MerchantInfo;
  language?: ReceiptLanguage;
}

export class SettlementSlips {
  /** One job at a time: a "printer ready" during a print must not start the same slip twice. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly unsubscribe: () => void;

  constructor(private readonly d: SettlementSlipDeps) {
    this.unsubscribe = d.printer.onReady(() => void this.printOwed().catch(() => undefined));
  }

  /**
   * After a settlement completed: its slip, owed since `settlement.done`. Nothing owed for the batch means
   * its slip was printed already (by a "printer ready" in between).
   */
  printNew(batch: number): Promise<SlipOutcome> {
    return this.serialize(async () => {
      const owed = this.d.journal.state.slipsOwed.find((o) => o.batch === batch);
      return owed ? this.print(owed.summary, printAsDuplicate(owed)) : { printed: true, duplicate: false, batch };
    });
  }

  /** `posj reprint --settlement`: the last settlement's slip, always marked duplicate; null if none yet. */
  reprint(): Promise<SlipOutcome | null> {
    return this.serialize(async () => {
      const last = this.d.journal.state.lastSettlement;
      return last ? this.print(last, true) : null;
    });
  }

  /** Every slip still owed, oldest first (boot, printer ready); stops at the first that does not print. */
  printOwed(): Promise<SlipOutcome[]> {
    return this.serialize(async () => {
      const done: SlipOutcome[] = [];
      for (const owed of [...this.d.journal.state.slipsOwed]) {
        const r = await this.print(owed.summary, printAsDuplicate(owed));
        done.push(r);
        if (!r.printed) break;
      }
      return done;
    });
  }

  close(): void {
    this.unsubscribe();
  }

  private async print(summary: SettlementSummary, duplicate: boolean): Promise<SlipOutcome> {
    const { journal, printer, clock, log } = this.d;
    const batch = summary.batch;
    const record = (event: SettlementSlip['event'], extra: Partial<SettlementSlip> = {}) =>
      journal.append([{ type: TerminalRecord.settlementSlip.name, payload: { batch, event, duplicate, ...extra, at: new Date(clock.now()).toISOString() } satisfies SettlementSlip }], { durable: true });
    try {
      // Durable before the first byte reaches the printer: a power cut during the job is then known at boot.
      const { lastSeq } = await record('printing');
      const report = reconciliation(batch, summary.balanced, summary.terminal, summary.acquirer, summary.uploaded);
      const job = renderReceipt({ ...settlementReceipt(report, this.d.merchant, localTime(Date.parse(summary.at))), reprint: duplicate }, this.d.language ?? 'zh');
      const ms = DEVICE_TIMEOUTS.printMs;
      const r = await bounded(clock, ms, () => printer.print(job, `settlement-${batch}-${lastSeq}`));
      if (r.kind === 'ok' && r.value.printed) {
        await record('printed');
        log.event('settlement-slip-printed', { batch, duplicate });
        return { printed: true, duplicate, batch };
      }
      // A driver that threw or never answered may have sent part of the job.
      const failure = r.kind === 'ok' && !r.value.printed ? r.value : null;
      const reason = failure?.reason ?? (r.kind === 'timeout' ? 'timeout' : 'printer-error');
      const detail = failure?.detail ?? (r.kind === 'ok' ? '' : boundedFailure(r, ms));
      const mayBeOnPaper = failure ? failure.stage !== 'before' : true;
      await record('not-printed', { mayBeOnPaper, reason });
      log.event('settlement-slip-not-printed', { batch, reason, detail, mayBeOnPaper, duplicate });
      return { printed: false, duplicate, batch, reason, detail, mayBeOnPaper, willRetry: true };
    } catch (e) {
      // The journal refused the record (it failed): the slip stays owed as the journal last recorded it.
      const detail = (e as Error).message ?? String(e);
      log.event('settlement-slip-not-printed', { batch, reason: 'journal-failed', detail, duplicate });
      return { printed: false, duplicate, batch, reason: 'journal-failed', detail, mayBeOnPaper: false, willRetry: false };
    }
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
