// What a receipt says, as data: the engine fills these from the journal, and the renderers turn them into
// ESC/POS bytes. Only a masked PAN ever enters this model (DESIGN rule 6); amounts are integer minor units
// (fen), never floats.

export type ReceiptLanguage = 'zh' | 'en';

export type TransactionType =
  | 'sale'
  | 'void'
  | 'refund'
  | 'preauth'
  | 'preauth-void'
  | 'preauth-completion'
  | 'preauth-completion-void';

/** How the card was read: chip (I), contactless (C), swipe (S), fallback to swipe (F), keyed (M). */
export type EntryMode = 'chip' | 'contactless' | 'magstripe' | 'fallback' | 'manual';

export type ReceiptCopy = 'merchant' | 'customer';

export interface MerchantInfo {
  name: string;
  /** 15-digit acquirer merchant number (商户编号). */
  merchantId: string;
  /** 8-character terminal ID (终端编号). */
  terminalId: string;
  operatorId?: string;
  /** How the merchant reaches the acquirer (e.g. a phone number); printed on the reversal-pending slip. */
  acquirerContact?: string;
}

/** Local date and time at the terminal, as printed: "YYYY-MM-DD HH:MM:SS". */
export type LocalTime = string;

/** 签购单: one copy of the slip for an approved (or voided/refunded) transaction. */
export interface SalesSlip {
  kind: 'sales-slip';
  merchant: MerchantInfo;
  copy: ReceiptCopy;
  /** A reprint is marked 重打印 / DUPLICATE so nobody takes it for a second sale. */
  reprint: boolean;
  /** First 6 / last 4, e.g. "622202******1234" (from maskPan). A full PAN is refused. */
  maskedPan: string;
  /** Card brand and kind as the issuer names it, e.g. "银联借记卡" / "UnionPay Debit". */
  cardType: string;
  entryMode: EntryMode;
  transactionType: TransactionType;
  batch: number;
  /** 凭证号 (invoice/voucher number). */
  voucher: number;
  /** Trace number (流水号). */
  stan: number;
  /** Retrieval reference number from the acquirer, 12 characters. */
  rrn: string;
  authCode?: string;
  localTime: LocalTime;
  amountMinor: number;
  /** For a void or refund: the voucher of the sale it undoes. */
  originalVoucher?: number;
  /**
   * The STAN of the approved void (or pre-authorization void) that undid this transaction, when it was
   * undone before this copy printed: marked 已撤销 / VOIDED at both ends, so nobody reads it as money taken.
   */
  voidedBy?: number;
}

export type ReversalPendingReason = 'no-reply' | 'card-declined-after-approval' | 'power-loss' | 'link-error';

/**
 * 冲正未完成: the terminal could not get the acquirer to confirm a reversal. The cardholder may have been
 * debited; the slip tells the merchant so, and what to do, while the terminal keeps retrying.
 */
export interface ReversalPendingSlip {
  kind: 'reversal-pending';
  merchant: MerchantInfo;
  maskedPan: string;
  transactionType: TransactionType;
  batch: number;
  stan: number;
  localTime: LocalTime;
  amountMinor: number;
  reason: ReversalPendingReason;
  /** Reversal sends so far (0400 plus 0401 repeats). */
  attempts: number;
  lastAttemptTime?: LocalTime;
}

/** Transaction types that move money in settlement. */
export type SettledType = 'sale' | 'void' | 'refund' | 'preauth-completion' | 'preauth-completion-void';

export interface SettlementRow {
  type: SettledType;
  count: number;
  /** Sum of amounts, always ≥ 0; the sign comes from the type. */
  amountMinor: number;
}

export interface BatchTotals {
  count: number;
  /** Net amount (credits to the merchant minus debits), may be negative. */
  netAmountMinor: number;
}

/** 结算单: the batch's totals by type and whether they matched the acquirer's. */
export interface SettlementReport {
  kind: 'settlement';
  merchant: MerchantInfo;
  batch: number;
  localTime: LocalTime;
  rows: SettlementRow[];
  /** The acquirer's totals as it answered the settlement request. */
  acquirerTotals: BatchTotals;
  /** Reprinted, or printed again after a job that may have reached the paper: marked 重打印 / DUPLICATE. */
  reprint?: boolean;
}

export type Receipt = SalesSlip | ReversalPendingSlip | SettlementReport;
