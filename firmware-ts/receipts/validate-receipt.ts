// Checks a receipt model before any byte is rendered: a printed slip is evidence, so a wrong field is a typed
// refusal, not a best-effort print. Above all, nothing that looks like a full PAN reaches paper (rule 6).
import { findPanLikeRun } from '../pci/card-data.js';
import { ReceiptError } from './receipt-errors.js';
import type { MerchantInfo, Receipt, ReversalPendingSlip, SalesSlip, SettledType, SettlementReport } from './receipt-model.js';

const MASKED_PAN = /^\d{6}\*+\d{4}$/;
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** Batch, voucher and STAN are six-digit counters on the slip. */
const MAX_COUNTER = 999_999;
const SETTLED_TYPES: ReadonlySet<string> = new Set<SettledType>(['sale', 'void', 'refund', 'preauth-completion', 'preauth-completion-void']);

function bad(field: string, message: string): never {
  throw new ReceiptError('RECEIPT_BAD_FIELD', field, message);
}

export function checkMaskedPan(field: string, pan: string): void {
  if (/^\d{12,19}$/.test(pan.replace(/[\s-]/g, ''))) {
    throw new ReceiptError('RECEIPT_FULL_PAN', field, 'refusing to print a full card number; pass maskPan(pan)');
  }
  if (!MASKED_PAN.test(pan) || pan.length < 12 || pan.length > 19) {
    bad(field, `expected first 6 and last 4 digits with '*' between (12..19 characters), got ${pan.length} characters`);
  }
}

/** Free text must not smuggle a card number onto paper (a PAN typed into a merchant name or card type). */
function checkFreeText(field: string, text: string, maxLength = 64): void {
  if (typeof text !== 'string' || text.length === 0 || text.length > maxLength) bad(field, `must be 1..${maxLength} characters`);
  if (/[\x00-\x1f\x7f]/.test(text)) bad(field, 'contains a control character');
  if (findPanLikeRun(text) >= 0) throw new ReceiptError('RECEIPT_FULL_PAN', field, 'contains what looks like a full card number');
}

function checkCounter(field: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_COUNTER) bad(field, `must be an integer 0..${MAX_COUNTER}, got ${n}`);
}

function checkAmount(field: string, n: number, allowNegative = false): void {
  if (!Number.isSafeInteger(n) || (!allowNegative && n < 0)) bad(field, `must be an integer number of fen${allowNegative ? '' : ' ≥ 0'}, got ${n}`);
}

function checkTime(field: string, t: string): void {
  if (!LOCAL_TIME.test(t)) bad(field, `must be "YYYY-MM-DD HH:MM:SS", got ${JSON.stringify(t)}`);
}

function checkMerchant(m: MerchantInfo): void {
  checkFreeText('merchant.name', m.name);
  if (!/^[0-9A-Za-z]{1,15}$/.test(m.merchantId)) bad('merchant.merchantId', 'must be 1..15 letters or digits');
  if (!/^[0-9A-Za-z]{1,8}$/.test(m.terminalId)) bad('merchant.terminalId', 'must be 1..8 letters or digits');
  if (m.operatorId !== undefined && !/^[0-9A-Za-z]{1,4}$/.test(m.operatorId)) bad('merchant.operatorId', 'must be 1..4 letters or digits');
  if (m.acquirerContact !== undefined) checkFreeText('merchant.acquirerContact', m.acquirerContact);
}

function checkSalesSlip(r: SalesSlip): void {
  checkMaskedPan('maskedPan', r.maskedPan);
  checkFreeText('cardType', r.cardType, 24);
  checkCounter('batch', r.batch);
  checkCounter('voucher', r.voucher);
  checkCounter('stan', r.stan);
  if (!/^[0-9A-Za-z]{12}$/.test(r.rrn)) bad('rrn', 'must be 12 letters or digits');
  if (r.authCode !== undefined && !/^[0-9A-Za-z ]{1,6}$/.test(r.authCode)) bad('authCode', 'must be 1..6 letters or digits');
  checkTime('localTime', r.localTime);
  checkAmount('amountMinor', r.amountMinor);
  if (r.originalVoucher !== undefined) checkCounter('originalVoucher', r.originalVoucher);
  if (r.voidedBy !== undefined) checkCounter('voidedBy', r.voidedBy);
}

function checkReversalPending(r: ReversalPendingSlip): void {
  checkMaskedPan('maskedPan', r.maskedPan);
  checkCounter('batch', r.batch);
  checkCounter('stan', r.stan);
  checkTime('localTime', r.localTime);
  checkAmount('amountMinor', r.amountMinor);
  if (!Number.isInteger(r.attempts) || r.attempts < 0) bad('attempts', `must be an integer ≥ 0, got ${r.attempts}`);
  if (r.lastAttemptTime !== undefined) checkTime('lastAttemptTime', r.lastAttemptTime);
}

function checkSettlement(r: SettlementReport): void {
  checkCounter('batch', r.batch);
  checkTime('localTime', r.localTime);
  r.rows.forEach((row, i) => {
    if (!SETTLED_TYPES.has(row.type)) bad(`rows[${i}].type`, `${String(row.type)} does not settle (authorizations are not in batch totals)`);
    if (!Number.isInteger(row.count) || row.count < 0) bad(`rows[${i}].count`, `must be an integer ≥ 0, got ${row.count}`);
    checkAmount(`rows[${i}].amountMinor`, row.amountMinor);
  });
  if (!Number.isInteger(r.acquirerTotals.count) || r.acquirerTotals.count < 0) bad('acquirerTotals.count', 'must be an integer ≥ 0');
  checkAmount('acquirerTotals.netAmountMinor', r.acquirerTotals.netAmountMinor, true);
}

export function validateReceipt(r: Receipt): void {
  checkMerchant(r.merchant);
  switch (r.kind) {
    case 'sales-slip':
      return checkSalesSlip(r);
    case 'reversal-pending':
      return checkReversalPending(r);
    case 'settlement':
      return checkSettlement(r);
  }
}
