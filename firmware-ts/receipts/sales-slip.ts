// 签购单 / sales slip: merchant copy (with the signature line) and customer copy of one transaction.
import { labelsFor } from './labels.js';
import { formatMinor } from './money.js';
import { blank, pair, rule, text, type ReceiptDocument } from './receipt-document.js';
import type { ReceiptLanguage, SalesSlip, TransactionType } from './receipt-model.js';

const six = (n: number) => String(n).padStart(6, '0');

/** Types that give money back to the card: printed with a minus sign so nobody reads them as a charge. */
const CREDITS_CARD: ReadonlySet<TransactionType> = new Set(['void', 'refund', 'preauth-void', 'preauth-completion-void']);

export function salesSlipDocument(slip: SalesSlip, language: ReceiptLanguage): ReceiptDocument {
  const L = labelsFor(language);
  const m = slip.merchant;
  const signed = CREDITS_CARD.has(slip.transactionType) ? -slip.amountMinor : slip.amountMinor;
  // Undone by a void before this copy printed: said at both ends, like the duplicate mark, so a torn half says it too.
  const voidedMark = slip.voidedBy !== undefined ? [text(L.voided, { align: 'center', bold: true })] : [];
  const doc: ReceiptDocument = [
    text(L.salesSlipTitle, { align: 'center', large: true, bold: true }),
    ...(slip.reprint ? [text(L.reprint, { align: 'center', bold: true })] : []),
    ...voidedMark,
    text(L.copy[slip.copy], { align: 'center' }),
    rule,
    pair(L.merchantName, m.name),
    pair(L.merchantId, m.merchantId),
    pair(L.terminalId, m.terminalId),
    ...(m.operatorId ? [pair(L.operator, m.operatorId)] : []),
    rule,
    pair(L.cardNumber, slip.maskedPan, { tall: true, bold: true }),
    pair(L.cardType, slip.cardType),
    pair(L.entry, L.entryMode[slip.entryMode]),
    pair(L.transactionType, L.type[slip.transactionType], { tall: true, bold: true }),
    pair(L.batch, six(slip.batch)),
    pair(L.voucher, six(slip.voucher)),
    pair(L.stan, six(slip.stan)),
    ...(slip.originalVoucher !== undefined ? [pair(L.originalVoucher, six(slip.originalVoucher))] : []),
    ...(slip.voidedBy !== undefined ? [pair(L.voidStan, six(slip.voidedBy), { bold: true })] : []),
    pair(L.rrn, slip.rrn),
    ...(slip.authCode ? [pair(L.authCode, slip.authCode)] : []),
    pair(L.dateTime, slip.localTime),
    rule,
    pair(L.amount, L.currency(formatMinor(signed)), { tall: true, bold: true }),
    rule,
  ];
  if (slip.copy === 'merchant') {
    doc.push(text(L.signature), blank(2), text('_'.repeat(30), { align: 'center' }), text(L.agreement));
  } else {
    doc.push(text(L.customerNote, { align: 'center' }));
  }
  doc.push(...voidedMark);
  if (slip.reprint) doc.push(text(L.reprint, { align: 'center', bold: true }));
  return doc;
}

/** The two copies a sale prints: the merchant's, which the cardholder signs, then the cardholder's. */
export function bothCopies(slip: Omit<SalesSlip, 'copy'>): [SalesSlip, SalesSlip] {
  return [
    { ...slip, copy: 'merchant' },
    { ...slip, copy: 'customer' },
  ];
}
