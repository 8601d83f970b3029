// Dispute evidence (交易凭证) for one transaction, built only from the journal: when it was asked for,
// STAN, RRN, the masked card, the amount, every message exchanged with the acquirer and its response code,
// every reversal attempt and how it ended, and the receipts printed (re-rendered as they came out of the printer). The journal holds no full PAN, track
// or PIN (DESIGN rule 6), so neither can this.
import type { JournalRecord } from '../journal/state-machine.js';
import { jobPaperText } from '../../protocol/escpos/page-text.js';
import type { MerchantInfo, ReceiptLanguage } from '../receipts/receipt-model.js';
import { DEFAULT_RECEIPT_LANGUAGE, salesSlipJobOf } from '../txn/txn-receipts.js';
import { TerminalRecord as R, type AuthIntent, type AuthOutcome, type ReceiptPrinted, type ReversalAttempt, type ReversalCleared, type ReversalClosed, type ReversalRequired, type ReversalStuck } from '../txn/records.js';

export interface EvidenceMessage {
  at: string;
  direction: 'terminal → acquirer' | 'acquirer → terminal';
  mti: string;
  what: string;
  responseCode?: string;
}

export interface TxnEvidence {
  batch: number;
  stan: number;
  kind: AuthIntent['kind'];
  amount: number;
  currency: string;
  maskedPan: string;
  entryMode: string;
  requestedAt: string;
  rrn: string | null;
  authCode: string | null;
  original: AuthIntent['original'] | null;
  /** How it ended for the cardholder, in one word. */
  status: 'approved' | 'declined' | 'reversed' | 'reversal-owed' | 'reversal-stuck' | 'closed-by-supervisor' | 'no-answer';
  messages: EvidenceMessage[];
  reversal: { reason: string; requiredAt: string; attempts: number; result: 'cleared' | 'owed' | 'stuck' | 'closed'; endedAt: string | null; closeReason?: string } | null;
  receipts: PrintedCopy[];
}

/** A receipt the journal says was printed, and, when the terminal's identity is known, its paper re-rendered. */
export interface PrintedCopy extends ReceiptPrinted {
  /** One text per paper receipt, exactly as the engine's job lays it out (null: the merchant identity was not given). */
  paper: string[] | null;
}

export type EvidenceQuery = { stan: number; batch?: number } | { rrn: string } | { from: string; to: string };

const REVERSAL_WHY: Record<string, string> = { '98': 'no reply (98)', A0: 'link error / bad MAC (A0)', '06': 'card declined after approval (06)' };

export function buildEvidence(records: readonly JournalRecord[]): TxnEvidence[] {
  const byBatchStan = new Map<string, TxnEvidence>();
  /** The STAN's current transaction: a STAN is reused only in another batch. */
  const current = new Map<number, TxnEvidence>();
  for (const r of records) {
    const p = r.payload as { stan?: number };
    if (r.type === R.authIntent.name) {
      const i = r.payload as AuthIntent;
      const mti = i.reversalImage.mti ?? '';
      const e: TxnEvidence = {
        batch: i.batch,
        stan: i.stan,
        kind: i.kind,
        amount: i.amount,
        currency: i.currency,
        maskedPan: i.maskedPan,
        entryMode: i.entryMode,
        requestedAt: i.at,
        rrn: null,
        authCode: null,
        original: i.original ?? null,
        status: 'no-answer',
        messages: [{ at: i.at, direction: 'terminal → acquirer', mti, what: `${i.kind} request, STAN ${i.stan}` }],
        reversal: null,
        receipts: [],
      };
      byBatchStan.set(`${i.batch}|${i.stan}`, e);
      current.set(i.stan, e);
      continue;
    }
    const e = p.stan !== undefined ? current.get(p.stan) : undefined;
    if (!e) continue;
    switch (r.type) {
      case R.authOutcome.name: {
        const o = r.payload as AuthOutcome;
        e.rrn = o.rrn ?? null;
        e.authCode = o.authCode ?? null;
        if (o.responseCode !== 'not-sent') e.messages.push({ at: o.at, direction: 'acquirer → terminal', mti: answerMti(e.messages[0]!.mti), what: `${o.result}${o.rrn ? `, RRN ${o.rrn}` : ''}${o.authCode ? `, auth code ${o.authCode}` : ''}`, responseCode: o.responseCode });
        else e.messages[0]!.what += ' (never sent: no connection)';
        if (e.status === 'no-answer') e.status = o.result;
        break;
      }
      case R.reversalRequired.name: {
        const v = r.payload as ReversalRequired;
        e.reversal = { reason: REVERSAL_WHY[v.reason] ?? v.reason, requiredAt: v.at, attempts: 0, result: 'owed', endedAt: null };
        e.status = 'reversal-owed';
        break;
      }
      case R.reversalAttempt.name: {
        const v = r.payload as ReversalAttempt;
        if (e.reversal) e.reversal.attempts = Math.max(e.reversal.attempts, v.attempt);
        e.messages.push({ at: v.at, direction: 'terminal → acquirer', mti: v.mti, what: `reversal (冲正) attempt ${v.attempt}` });
        break;
      }
      case R.reversalCleared.name: {
        const v = r.payload as ReversalCleared;
        e.messages.push({ at: v.at, direction: 'acquirer → terminal', mti: '0410', what: 'reversal answered', responseCode: v.responseCode });
        if (e.reversal) Object.assign(e.reversal, { result: 'cleared', endedAt: v.at });
        e.status = 'reversed';
        break;
      }
      case R.reversalStuck.name: {
        const v = r.payload as ReversalStuck;
        if (e.reversal) Object.assign(e.reversal, { result: 'stuck', endedAt: v.at, attempts: Math.max(e.reversal.attempts, v.attempts) });
        e.status = 'reversal-stuck';
        break;
      }
      case R.reversalClosed.name: {
        const v = r.payload as ReversalClosed;
        if (e.reversal) Object.assign(e.reversal, { result: 'closed', endedAt: v.at, closeReason: v.reason });
        e.status = 'closed-by-supervisor';
        break;
      }
      case R.receiptPrinted.name:
        e.receipts.push({ ...(r.payload as ReceiptPrinted), paper: null });
        break;
    }
  }
  return [...byBatchStan.values()];
}

/** The answer's MTI: the request's with the third digit moved on by one (0200 → 0210, 0100 → 0110). */
function answerMti(request: string): string {
  return /^\d{4}$/.test(request) ? request.slice(0, 2) + String(Number(request[2]) + 1) + request[3] : '';
}

/**
 * Fills in each printed copy's paper: the sales-slip job the engine built from the same intent and outcome,
 * laid out as the printer lays it out. Only the merchant's name and IDs come from outside the journal (they
 * are config, never journaled); times are the exporting machine's local time, as the terminal's are.
 */
export function renderPrintedCopies(list: readonly TxnEvidence[], merchant: MerchantInfo, language: ReceiptLanguage = DEFAULT_RECEIPT_LANGUAGE): void {
  for (const e of list) {
    const source = { ...e, at: e.requestedAt, original: e.original ?? undefined };
    const outcome = { ...(e.rrn ? { rrn: e.rrn } : {}), ...(e.authCode ? { authCode: e.authCode } : {}) };
    for (const copy of e.receipts) copy.paper = jobPaperText(salesSlipJobOf(source, outcome, merchant, language, copy.duplicate === true, copy.copies, copy.voidedBy));
  }
}

export function selectEvidence(all: readonly TxnEvidence[], q: EvidenceQuery): TxnEvidence[] {
  if ('stan' in q) return all.filter((e) => e.stan === q.stan && (q.batch === undefined || e.batch === q.batch));
  if ('rrn' in q) return all.filter((e) => e.rrn === q.rrn);
  const from = Date.parse(q.from);
  const to = Date.parse(q.to);
  return all.filter((e) => Date.parse(e.requestedAt) >= from && Date.parse(e.requestedAt) <= to);
}

/** Exactly one of --stan (with an optional --batch), --rrn, or --from with --to. */
export function queryOf(o: { stan?: number; batch?: number; rrn?: string; from?: string; to?: string }): EvidenceQuery {
  const picked = [o.stan !== undefined, o.rrn !== undefined, o.from !== undefined || o.to !== undefined].filter(Boolean).length;
  const usage = (m: string) => Object.assign(new Error(m), { code: 'USAGE' });
  if (picked !== 1) throw usage('give exactly one of --stan N, --rrn R, or --from T --to T');
  if (o.stan !== undefined) return { stan: o.stan, ...(o.batch !== undefined ? { batch: o.batch } : {}) };
  if (o.rrn !== undefined) return { rrn: o.rrn };
  if (o.from === undefined || o.to === undefined) throw usage('--from and --to go together');
  const from = timeOf('--from', o.from, usage);
  const to = timeOf('--to', o.to, usage);
  if (from > to) throw usage(`--from ${o.from} is after --to ${o.to}: the range is reversed (from the earlier time to the later)`);
  return { from: o.from, to: o.to };
}

/**
 * An ISO 8601 date or date-time, the forms the journal's own times take. Date.parse alone would read
 * "1" or "March 7" as some time and match nothing, an empty export that looks like "no transaction".
 */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
export const TIME_FORMS = 'an ISO 8601 time: 2026-12-01T09:00:00Z, 2026-12-01T17:00:00+08:00, 2026-12-01T09:00 (local time) or 2026-12-01 (midnight UTC)';

function timeOf(option: string, v: string, usage: (m: string) => Error): number {
  const [y, m, d] = v.slice(0, 10).split('-').map(Number) as [number, number, number];
  // Date.parse rolls 2026-02-30 over to March 2: a day the month does not have is refused.
  const realDay = new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;
  const t = ISO_TIME.test(v) && realDay ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw usage(`${option} "${v}": not ${TIME_FORMS}`);
  return t;
}

/** What an export that matched nothing says, in words (the export itself is then empty). */
export function noneFound(q: EvidenceQuery): string {
  if ('stan' in q) return `no transaction with STAN ${q.stan}${q.batch !== undefined ? ` in batch ${q.batch}` : ''} in the journal`;
  if ('rrn' in q) return `no transaction with RRN ${q.rrn} in the journal`;
  return `no transaction requested between ${q.from} and ${q.to} in the journal`;
}
