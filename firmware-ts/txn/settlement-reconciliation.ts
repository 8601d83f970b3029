// The reconciliation report (对账单): the terminal's batch totals against the acquirer's, per card type, as
// JSON and as the printable settlement report. "扣费未到账" (debited but not credited) is answered here: a
// difference on the debit side names the batch and the amounts to chase.
import type { MerchantInfo, SettlementReport, SettlementRow } from '../receipts/receipt-model.js';
import type { AuthKind } from './records.js';
import { zeroSide, type TotalsSide } from './settlement-records.js';

/** Field 48 splits totals into domestic (内卡) and foreign (外卡) cards; this terminal takes domestic cards only. */
export type CardType = 'domestic' | 'foreign';

export interface ReconciliationReport {
  batch: number;
  balanced: boolean;
  byCardType: Record<CardType, { terminal: TotalsSide; acquirer: TotalsSide; difference: TotalsSide }>;
  /** Transactions uploaded (0320) because the totals differed. */
  uploaded: number;
}

export interface BatchEntryLike {
  kind: AuthKind;
  amount: number;
  /** Set on a sale a later approved void used up. */
  voided?: boolean;
}

/**
 * The terminal's side of field 48, counted the way the acquirer counts: a sale that a void used up is not a
 * debit (and the void itself is not counted), a completion is a debit, a refund a credit; pre-authorizations
 * and balance inquiries move no money.
 */
export function terminalSide(entries: BatchEntryLike[]): TotalsSide {
  const t = zeroSide();
  for (const e of entries) {
    if ((e.kind === 'sale' && !e.voided) || e.kind === 'preauth-completion') {
      t.debitCount++;
      t.debitAmount += e.amount;
    } else if (e.kind === 'refund') {
      t.creditCount++;
      t.creditAmount += e.amount;
    }
  }
  return t;
}

const minus = (a: TotalsSide, b: TotalsSide): TotalsSide => ({
  debitCount: a.debitCount - b.debitCount,
  debitAmount: a.debitAmount - b.debitAmount,
  creditCount: a.creditCount - b.creditCount,
  creditAmount: a.creditAmount - b.creditAmount,
});

export function reconciliation(batch: number, balanced: boolean, terminal: TotalsSide, acquirer: TotalsSide, uploaded: number): ReconciliationReport {
  return {
    batch,
    balanced,
    byCardType: {
      domestic: { terminal, acquirer, difference: minus(terminal, acquirer) },
      foreign: { terminal: zeroSide(), acquirer: zeroSide(), difference: zeroSide() },
    },
    uploaded,
  };
}

/** The printable 结算单: the rows are the debits and credits the acquirer counts, so the two totals compare like for like. */
export function settlementReceipt(r: ReconciliationReport, merchant: MerchantInfo, localTime: string): SettlementReport {
  const t = r.byCardType.domestic.terminal;
  const a = r.byCardType.domestic.acquirer;
  const rows: SettlementRow[] = [
    { type: 'sale', count: t.debitCount, amountMinor: t.debitAmount },
    { type: 'refund', count: t.creditCount, amountMinor: t.creditAmount },
  ];
  return {
    kind: 'settlement',
    merchant,
    batch: r.batch,
    localTime,
    rows,
    acquirerTotals: { count: a.debitCount + a.creditCount, netAmountMinor: a.debitAmount - a.creditAmount },
  };
}
