// The three shapes evidence is exported in: NDJSON (one transaction per line, for tools), CSV (one row per
// transaction, for a spreadsheet) and HTML (a printable 交易凭证 in Chinese and English that a merchant
// hands to the bank).
import { formatMinor } from '../receipts/money.js';
import type { TxnEvidence } from './evidence.js';

export type EvidenceFormat = 'ndjson' | 'csv' | 'html';

// NDJSON and CSV have no header, and a line is often read alone: each carries the journal's check, so
// evidence from a corrupt or tampered journal can never pass as clean.
export function toNdjson(list: readonly TxnEvidence[], journalCheck: string): string {
  return list.map((e) => JSON.stringify({ journalCheck, ...e })).join('\n') + (list.length ? '\n' : '');
}

const CSV_COLUMNS = ['batch', 'stan', 'kind', 'amount', 'currency', 'maskedPan', 'entryMode', 'requestedAt', 'rrn', 'authCode', 'status', 'reversal', 'reversalAttempts', 'messages', 'journalCheck'] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(list: readonly TxnEvidence[], journalCheck: string): string {
  const rows = list.map((e) =>
    [
      e.batch,
      e.stan,
      e.kind,
      formatMinor(e.amount),
      e.currency,
      e.maskedPan,
      e.entryMode,
      e.requestedAt,
      e.rrn,
      e.authCode,
      e.status,
      e.reversal ? `${e.reversal.reason}: ${e.reversal.result}` : '',
      e.reversal?.attempts ?? 0,
      e.messages.map((m) => `${m.at} ${m.mti} ${m.what}${m.responseCode ? ` [${m.responseCode}]` : ''}`).join(' | '),
      journalCheck,
    ]
      .map(csvCell)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const KIND: Record<string, string> = { sale: '消费 Sale', void: '撤销 Void', refund: '退货 Refund', preauth: '预授权 Pre-auth', 'preauth-completion': '预授权完成 Completion', 'preauth-void': '预授权撤销 Pre-auth void', balance: '余额查询 Balance' };
const STATUS: Record<TxnEvidence['status'], string> = {
  approved: '成功 Approved',
  declined: '拒绝 Declined',
  reversed: '已冲正 Reversed — the cardholder is not debited',
  'reversal-owed': '冲正未完成 Reversal owed — the terminal keeps sending it',
  'reversal-stuck': '冲正失败 Reversal stuck — escalated; the cardholder may be debited',
  'closed-by-supervisor': '主管关闭 Closed by a supervisor',
  'no-answer': '无应答 No answer recorded',
};

/** Each printed copy as it came out of the printer, or why it cannot be shown. */
function printedPaper(e: TxnEvidence): string {
  if (!e.receipts.length) return '';
  if (e.receipts.some((r) => r.paper === null)) return '<p class="note">签购单原样未重现：导出时未提供商户名称与编号（--config）。<br><small>The receipts are not re-rendered: the export was not given the merchant name and IDs (--config).</small></p>';
  const papers = e.receipts.flatMap((r) => r.paper ?? []);
  return `<h3>签购单原样 <small>Receipts as printed</small></h3>
  <div class="papers">${papers.map((t) => `<pre class="paper">${esc(t)}</pre>`).join('')}</div>`;
}

export interface HtmlContext {
  terminalId?: string;
  merchantName?: string;
  merchantId?: string;
  /** When the export was made, and the journal's verification. */
  exportedAt: string;
  journalCheck: string;
}

export function toHtml(list: readonly TxnEvidence[], ctx: HtmlContext): string {
  const row = (zh: string, en: string, v: unknown) => `<tr><th>${zh}<br><small>${en}</small></th><td>${esc(v)}</td></tr>`;
  const txn = (e: TxnEvidence) => `
<section class="txn">
  <h2>交易凭证 <small>Transaction record</small> — STAN ${String(e.stan).padStart(6, '0')}</h2>
  <table class="fields">
    ${row('交易类型', 'Type', KIND[e.kind] ?? e.kind)}
    ${row('交易结果', 'Result', STATUS[e.status])}
    ${row('金额', 'Amount', `${e.currency === '156' ? 'CNY ' : ''}${formatMinor(e.amount)}`)}
    ${row('卡号', 'Card (masked)', e.maskedPan)}
    ${row('交易时间', 'Requested at', e.requestedAt)}
    ${row('批次号', 'Batch', String(e.batch).padStart(6, '0'))}
    ${row('流水号', 'STAN (trace)', String(e.stan).padStart(6, '0'))}
    ${row('参考号', 'RRN', e.rrn ?? '—')}
    ${row('授权码', 'Auth code', e.authCode ?? '—')}
    ${e.original ? row('原交易', 'Original', JSON.stringify(e.original)) : ''}
    ${e.reversal ? row('冲正', 'Reversal', `${e.reversal.reason}; ${e.reversal.attempts} attempt(s); ${e.reversal.result}${e.reversal.endedAt ? ` at ${e.reversal.endedAt}` : ''}${e.reversal.closeReason ? ` (${e.reversal.closeReason})` : ''}`) : ''}
    ${row('签购单', 'Receipts printed', e.receipts.length ? e.receipts.map((r) => `${r.copies}${r.duplicate ? ' (重打印 duplicate)' : ''}${r.voidedBy !== undefined ? ` (已撤销 voided by STAN ${r.voidedBy})` : ''}`).join(', ') : 'none')}
  </table>
  ${printedPaper(e)}
  <h3>报文记录 <small>Messages exchanged with the acquirer</small></h3>
  <table class="messages"><tr><th>时间 Time</th><th>方向 Direction</th><th>MTI</th><th>内容 What</th><th>应答码 Response</th></tr>
  ${e.messages.map((m) => `<tr><td>${esc(m.at)}</td><td>${esc(m.direction)}</td><td>${esc(m.mti)}</td><td>${esc(m.what)}</td><td>${esc(m.responseCode ?? '')}</td></tr>`).join('\n  ')}
  </table>
</section>`;
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>交易凭证 Transaction records</title>
<style>
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #000; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } th, td { border: 1px solid #555; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
.fields th { width: 10em; background: #eee; } small { color: #444; font-weight: normal; }
.papers { display: flex; flex-wrap: wrap; gap: 1em; } .paper { font-family: "Noto Sans Mono CJK SC", monospace; border: 1px dashed #777; padding: 0.5em; margin: 0; }
.txn { page-break-inside: avoid; border-top: 2px solid #000; padding-top: 0.5em; }
@media print { body { margin: 1cm; } .txn { page-break-after: always; } }
</style></head><body>
<h1>交易凭证 <small>Transaction records for a dispute</small></h1>
<table class="fields">
${ctx.merchantName ? row('商户名称', 'Merchant', ctx.merchantName) : ''}
${ctx.merchantId ? row('商户编号', 'Merchant ID', ctx.merchantId) : ''}
${ctx.terminalId ? row('终端编号', 'Terminal ID', ctx.terminalId) : ''}
${row('导出时间', 'Exported at', ctx.exportedAt)}
${row('日志校验', 'Journal check', ctx.journalCheck)}
</table>
<p>本凭证由终端交易日志生成；卡号已屏蔽，不含磁道、PIN 或完整卡号。<br><small>Generated from the terminal's transaction journal; the card number is masked; no track data, PIN or full card number is held.</small></p>
${list.map(txn).join('\n')}
${list.length === 0 ? '<p>没有符合条件的交易 <small>No transaction matches</small></p>' : ''}
</body></html>
`;
}
