// 冲正未完成 / REVERSAL PENDING: printed when a reversal is stuck (DESIGN rule 3: kept, visible, printed).
// It tells the merchant the cardholder may have been debited and what to do, with enough detail (batch,
// STAN, amount, time) for the acquirer to find the authorization.
import { labelsFor } from './labels.js';
import { formatMinor } from './money.js';
import { pair, rule, text, type ReceiptDocument } from './receipt-document.js';
import type { ReceiptLanguage, ReversalPendingSlip } from './receipt-model.js';

const six = (n: number) => String(n).padStart(6, '0');

export function reversalPendingDocument(slip: ReversalPendingSlip, language: ReceiptLanguage): ReceiptDocument {
  const L = labelsFor(language);
  const m = slip.merchant;
  return [
    text(L.reversalTitle, { align: 'center', large: true, bold: true }),
    rule,
    ...L.reversalWarning.map((w) => text(w, { bold: true, tall: true })),
    rule,
    pair(L.merchantName, m.name),
    pair(L.merchantId, m.merchantId),
    pair(L.terminalId, m.terminalId),
    pair(L.cardNumber, slip.maskedPan, { bold: true }),
    pair(L.transactionType, L.type[slip.transactionType]),
    pair(L.batch, six(slip.batch)),
    pair(L.stan, six(slip.stan)),
    pair(L.dateTime, slip.localTime),
    pair(L.amount, L.currency(formatMinor(slip.amountMinor)), { tall: true, bold: true }),
    pair(L.reversalReason, L.reason[slip.reason]),
    pair(L.reversalAttempts, String(slip.attempts)),
    ...(slip.lastAttemptTime ? [pair(L.lastAttempt, slip.lastAttemptTime)] : []),
    rule,
    ...L.reversalAction.map((a) => text(a)),
    ...(m.acquirerContact ? [pair(L.reversalContact, m.acquirerContact, { bold: true })] : []),
  ];
}
