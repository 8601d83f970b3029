// The settlement slip (结算单) on paper: printed when a batch settles and again on `posj reprint
// --settlement`. A job that may have reached the paper (the line dropped while sending, or no status after
// it) is printed again marked 重打印 / DUPLICATE, so a torn first copy and its reprint are never taken for two
// settlements. What is owed is kept in memory only: the totals themselves are in the journal (the last
// settlement), and `posj reprint --settlement` rebuilds the slip from there after a restart.
import { renderReceipt } from '../receipts/render-receipt.js';
import type { ReceiptLanguage, SettlementReport } from '../receipts/receipt-model.js';
import type { ReceiptPrinter } from '../txn/engine-devices.js';
import type { DaemonLog } from './daemon-log.js';

export type SlipOutcome =
  | { printed: true; duplicate: boolean }
  | { printed: false; duplicate: boolean; reason: string; detail: string; mayBeOnPaper: boolean; willRetry: boolean };

export class SettlementSlips {
  private owed: SettlementReport | null = null;
  private jobs = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly printer: ReceiptPrinter,
    private readonly log: DaemonLog,
    private readonly language: ReceiptLanguage = 'zh',
  ) {
    this.unsubscribe = printer.onReady(() => {
      const owed = this.owed;
      if (owed) void this.print(owed);
    });
  }

  /** The slip of a settlement that just completed. */
  printNew(report: SettlementReport): Promise<SlipOutcome> {
    return this.print({ ...report, reprint: false });
  }

  /** `posj reprint --settlement`: always marked as a duplicate. */
  reprint(report: SettlementReport): Promise<SlipOutcome> {
    return this.print({ ...report, reprint: true });
  }

  private async print(report: SettlementReport): Promise<SlipOutcome> {
    const duplicate = report.reprint === true;
    const r = await this.printer.print(renderReceipt(report, this.language), `settlement-${report.batch}-${++this.jobs}`);
    if (r.printed) {
      if (this.owed?.batch === report.batch) this.owed = null;
      this.log.event('settlement-slip-printed', { batch: report.batch, duplicate });
      return { printed: true, duplicate };
    }
    const mayBeOnPaper = r.stage !== 'before';
    // Owed again when the printer is ready; marked duplicate if this attempt may be on paper already.
    this.owed = { ...report, reprint: duplicate || mayBeOnPaper };
    this.log.event('settlement-slip-not-printed', { batch: report.batch, reason: r.reason, stage: r.stage, detail: r.detail, duplicate });
    return { printed: false, duplicate, reason: r.reason, detail: r.detail, mayBeOnPaper, willRetry: true };
  }

  close(): void {
    this.unsubscribe();
  }
}
