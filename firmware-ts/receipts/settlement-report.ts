// 结算单 / settlement report: the batch's counts and totals by type, the terminal's net against the
// acquirer's, and whether they balanced (money invariant 5 made visible on paper).
import { labelsFor } from './labels.js';
import { formatMinor } from './money.js';
import { pair, rule, text, type DocumentLine, type ReceiptDocument } from './receipt-document.js';
import type { BatchTotals, ReceiptLanguage, SettledType, SettlementReport } from './receipt-model.js';

/** Direction of each settled type for the merchant: a sale credits them, a void or refund takes it back. */
const SIGN: Record<SettledType, 1 | -1> = {
  sale: 1,
  'preauth-completion': 1,
  void: -1,
  refund: -1,
  'preauth-completion-void': -1,
};

/** Column stops on 32 columns: type | count | amount (right-aligned). */
const STOPS = [0, 16, 22];

export function terminalTotals(report: SettlementReport): BatchTotals {
  let count = 0;
  let net = 0;
  for (const r of report.rows) {
    count += r.count;
    net += SIGN[r.type] * r.amountMinor;
  }
  return { count, netAmountMinor: net };
}

export function isBalanced(report: SettlementReport): boolean {
  const t = terminalTotals(report);
  return t.count === report.acquirerTotals.count && t.netAmountMinor === report.acquirerTotals.netAmountMinor;
}

export function settlementDocument(report: SettlementReport, language: ReceiptLanguage): ReceiptDocument {
  const L = labelsFor(language);
  const m = report.merchant;
  const ours = terminalTotals(report);
  const balanced = isBalanced(report);
  const row = (cells: string[], bold = false): DocumentLine => ({ kind: 'columns', cells, stops: STOPS, bold });
  return [
    text(L.settlementTitle, { align: 'center', large: true, bold: true }),
    ...(report.reprint ? [text(L.reprint, { align: 'center', bold: true })] : []),
    rule,
    pair(L.merchantName, m.name),
    pair(L.merchantId, m.merchantId),
    pair(L.terminalId, m.terminalId),
    pair(L.batch, String(report.batch).padStart(6, '0')),
    pair(L.dateTime, report.localTime),
    rule,
    row(L.settlementHeader, true),
    ...report.rows.map((r) => row([L.type[r.type], String(r.count), formatMinor(SIGN[r.type] * r.amountMinor)])),
    rule,
    row([L.terminalTotal, String(ours.count), formatMinor(ours.netAmountMinor)], true),
    row([L.acquirerTotal, String(report.acquirerTotals.count), formatMinor(report.acquirerTotals.netAmountMinor)]),
    rule,
    text(balanced ? L.balanced : L.unbalanced, { align: 'center', large: true, bold: true }),
    ...(balanced ? [] : [text(L.unbalancedAction, { bold: true })]),
    ...(report.reprint ? [text(L.reprint, { align: 'center', bold: true })] : []),
  ];
}
