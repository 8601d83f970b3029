// Lookups over the fold's transactions (terminal-state.ts `txns`): by STAN, by RRN, by request id, the
// originals of a void or completion. They read the state, never the journal's segments, so a sale, a
// status, a void, a reprint or a reversal costs the same after a million records of history as after a
// thousand. What reads records back is for tools (`readTerminalRecords`, the simulator's checks, export)
// and for the two bounded reads: a reversal image the fold no longer holds (one record, by seq) and the
// rebuild of `txns` after a checkpoint of an older build (the open batch's records).
import type { Storage } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { readRecord, readRecordsFrom, type ReadableJournal } from '../journal/record-reader.js';
import { RecordTypes } from '../journal/record-types.js';
import type { JournalRecord } from '../journal/state-machine.js';
import { NOT_SENT } from './authorization.js';
import { TerminalRecord, type AuthIntent } from './records.js';
import { txnByRequestId } from './request-id-index.js';
import { TERMINAL_STATE_VERSION, terminalStateFold, type TerminalState, type TxnView } from './terminal-state.js';

export type { TxnView } from './terminal-state.js';

const terminalTypes = () => new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);
const TERMINAL_NAMES = new Set<string>(Object.values(TerminalRecord).map((t) => t.name));

/** Every terminal record still in the journal's segments, in order (the journal's own records left out). Reads all of history: tools only. */
export function readTerminalRecords(journal: ReadableJournal, storage: Storage = nodeStorage): JournalRecord[] {
  const records: JournalRecord[] = [];
  for (const r of readRecordsFrom({ journal, storage, types: terminalTypes() }, 1)) if (TERMINAL_NAMES.has(r.type)) records.push(r);
  return records;
}

/** One view per authorization of a whole record list, keyed by batch and STAN, in journal order: the fold itself, keeping every transaction. */
export function txnViews(records: readonly JournalRecord[]): Map<string, TxnView> {
  const fold = terminalStateFold('all');
  const s = fold.initial();
  for (const r of records) fold.apply(s, r);
  return viewsByKey(s);
}

/** The fold's transactions by batch and STAN, in journal order (a key used twice keeps its first place and its newest view). */
export function viewsByKey(s: TerminalState): Map<string, TxnView> {
  const views = new Map<string, TxnView>();
  for (const v of Object.values(s.txns)) views.set(txnKey(v.intent.batch, v.intent.stan), v);
  return views;
}

export const txnKey = (batch: number, stan: number) => `${batch}|${stan}`;

/** Views newest first, while `pick` returns undefined. */
function newest<T>(s: TerminalState, pick: (v: TxnView) => T | undefined): T | undefined {
  // Values, not keys: the keys are seqs, and Object.keys made a string of each of the open batch's on every
  // lookup (two per sale). Same order: integer keys ascend.
  const views = Object.values(s.txns);
  for (let i = views.length - 1; i >= 0; i--) {
    const found = pick(views[i]!);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The transaction with this STAN: in the open batch if there is one, else the newest kept. */
export function viewByStan(s: TerminalState, stan: number): TxnView | undefined {
  // An open obligation or the open batch's entry points at it directly (every sale's slip asks this).
  const k = String(stan);
  const direct = s.inFlight[k] ?? s.pendingReceipts[k] ?? s.batchEntries[k] ?? s.reversals[k];
  const v = direct ? s.txns[direct.seq] : undefined;
  if (v && v.intent.batch === s.batch) return v;
  return viewIn(s, s.batch, stan) ?? newest(s, (x) => (x.intent.stan === stan ? x : undefined));
}

/** The newest transaction with this batch and STAN. */
export function viewIn(s: TerminalState, batch: number, stan: number): TxnView | undefined {
  // In the open batch a STAN names one transaction, and an obligation or batch entry points at it (a
  // completion or pre-authorization void of this batch's hold): no walk (see reprintable).
  if (batch === s.batch) {
    const k = String(stan);
    const direct = s.inFlight[k] ?? s.pendingReceipts[k] ?? s.batchEntries[k] ?? s.reversals[k];
    const v = direct ? s.txns[direct.seq] : undefined;
    if (v && v.intent.batch === batch && v.intent.stan === stan) return v;
  }
  return newest(s, (v) => (v.intent.stan === stan && v.intent.batch === batch ? v : undefined));
}

/** The transaction a client's request id started, if it is still kept (the newest, should a key ever be reused). */
export function viewByRequestId(s: TerminalState, requestId: string): TxnView | undefined {
  return txnByRequestId(s.txns, requestId);
}

export function viewByRrn(s: TerminalState, rrn: string): TxnView | undefined {
  return newest(s, (v) => (v.outcome?.rrn === rrn ? v : undefined));
}

export function newestView(s: TerminalState): TxnView | undefined {
  return newest(s, (v) => v);
}

/** Approved, not reversed, not a balance inquiry: what a slip can be reprinted for, newest first. */
export function reprintable(s: TerminalState, stan?: number): TxnView | undefined {
  const ok = (v: TxnView) => v.outcome?.result === 'approved' && !v.reversal && v.intent.kind !== 'balance' && (stan === undefined || v.intent.stan === stan);
  // The open batch's approved entry for the STAN is the one the walk below would find first (a STAN is
  // used once per batch); taken directly, as viewByStan does, because the walk lists every kept
  // transaction, and once seqs run into the millions V8 keeps them as a sorted dictionary (about 20×
  // slower to list: reprint at 1M records of history cost 1.3× the 1k figure).
  const entry = stan !== undefined ? s.batchEntries[String(stan)] : undefined;
  const direct = entry ? s.txns[entry.seq] : undefined;
  if (direct && ok(direct) && direct.intent.batch === s.batch) return direct;
  return newest(s, (v) => (ok(v) && (stan === undefined || v.intent.batch === s.batch) ? v : undefined)) ?? (stan !== undefined ? newest(s, (v) => (ok(v) ? v : undefined)) : undefined);
}

/**
 * The STAN of the approved void standing against this transaction (not reversed), if any: a sale used up
 * by its void, or a pre-authorization by its pre-authorization void — what a slip printed of it must say.
 * A pre-authorization used up by its completion is not voided (the hold became the completion's debit).
 */
export function voidedBy(s: TerminalState, v: TxnView): number | undefined {
  const by = v.consumedBy;
  if (by === undefined) return undefined;
  // What used it up came after it and names its STAN and RRN (terminal-state.ts consume); one that names no
  // RRN came before the next transaction with its STAN (the same STANs come back in later batches).
  let until = Infinity;
  for (const x of Object.values(s.txns)) {
    if (x.seq > v.seq && x.intent.stan === v.intent.stan) {
      until = x.seq;
      break;
    }
  }
  const rrn = v.outcome?.rrn;
  const names = (x: TxnView) => x.intent.original?.stan === v.intent.stan && (x.intent.original.rrn === undefined ? x.seq < until : x.intent.original.rrn === rrn);
  const consumer = newest(s, (x) => (x.seq > v.seq && x.intent.stan === by && names(x) ? x : undefined));
  const undoes = v.intent.kind === 'sale' ? 'void' : v.intent.kind === 'preauth' ? 'preauth-void' : undefined;
  return undoes !== undefined && consumer?.intent.kind === undoes ? by : undefined;
}

const REVERSAL_WORDS: Record<NonNullable<TxnView['reversal']>['state'], string> = {
  cleared: 'the acquirer confirmed its reversal, the card is not charged',
  owed: 'its reversal is still owed; the card is not charged once the acquirer answers it',
  stuck: 'its reversal is stuck (the acquirer has not confirmed it): call the acquirer',
  closed: 'its reversal was closed by a supervisor',
};

/**
 * Why there is no slip to reprint, in the words the cashier reads: the newest transaction kept with that STAN
 * (the open batch's first) and what became of it, or that none is kept.
 */
export function noSlipDetail(s: TerminalState, stan?: number): string {
  if (stan === undefined) return 'no approved transaction with a slip is kept';
  const v = newest(s, (x) => (x.intent.stan === stan && x.intent.batch === s.batch ? x : undefined)) ?? newest(s, (x) => (x.intent.stan === stan ? x : undefined));
  if (!v) return 'no transaction with that STAN is kept';
  if (v.intent.kind === 'balance') return 'a balance inquiry prints no slip';
  if (v.reversal) return `it failed and has no slip: ${REVERSAL_WORDS[v.reversal.state]}`;
  if (!v.outcome) return 'its outcome is not known yet: the terminal decides it when it restarts';
  // Approved and not reversed would have been reprintable: what is left was declined.
  if (v.outcome.responseCode === NOT_SENT) return 'it was never sent (nothing reached the acquirer): it has no slip';
  return `it was declined (response code ${v.outcome.responseCode}): it has no slip`;
}

/** The latest approved sale with this STAN in a batch already settled (a void must become a refund). */
export function settledSale(s: TerminalState, stan: number): TxnView | undefined {
  return newest(s, (v) => (v.intent.kind === 'sale' && v.intent.stan === stan && v.intent.batch !== s.batch && v.outcome?.result === 'approved' && !v.reversal ? v : undefined));
}

/** This terminal's sale or completion that the acquirer answered with that RRN, if it is still kept (whatever became of it). */
export function saleByRrn(s: TerminalState, rrn: string): TxnView | undefined {
  return newest(s, (v) => ((v.intent.kind === 'sale' || v.intent.kind === 'preauth-completion') && v.outcome?.rrn === rrn ? v : undefined));
}

/**
 * Fen this terminal's refunds of that RRN may have given back: every one approved or never answered, unless
 * the acquirer answered its reversal. A reversal still owed, stuck or closed by a supervisor may leave the
 * credit standing, so it counts until the acquirer says otherwise; only a decline returned nothing.
 */
export function refundedOf(s: TerminalState, rrn: string): Refunded {
  let fen = 0;
  let unconfirmed = 0;
  for (const v of Object.values(s.txns)) {
    if (v.intent.kind !== 'refund' || v.intent.original?.rrn !== rrn) continue;
    const mayStand = v.reversal ? v.reversal.state !== 'cleared' : v.outcome?.result !== 'declined';
    if (!mayStand) continue;
    fen += v.intent.amount;
    if (v.reversal || !v.outcome) unconfirmed += v.intent.amount;
  }
  return { fen, unconfirmed };
}

/** What refunds of a sale may have given back; `unconfirmed`: the part whose reversal (or answer) the acquirer has not confirmed. */
export interface Refunded {
  fen: number;
  unconfirmed: number;
}

/**
 * The intent with its reversal image, for a reversal: from the fold while the transaction is open; if the
 * fold already closed it (a reversal raised after its slip printed), the one intent record, read by seq
 * from the segment that holds it (retention keeps every segment with an open obligation).
 */
export function reversalIntent(view: TxnView, journal: ReadableJournal, storage: Storage = nodeStorage): AuthIntent | undefined {
  const image = view.intent.reversalImage;
  if (image) return { ...view.intent, reversalImage: image };
  const r = readRecord({ journal, storage, types: terminalTypes() }, view.seq);
  return r?.type === TerminalRecord.authIntent.name ? (r.payload as AuthIntent) : undefined;
}

/**
 * A checkpoint of a build before `txns` (state version 1): rebuild them from the records of the open batch
 * and of every open obligation — all at or after the fold's oldest open seq, which retention keeps — by
 * running the same fold over them, and keep the ones the state still refers to. Reads only that tail.
 */
export function rebuildTxns(s: TerminalState, oldestOpenSeq: number | null, journal: ReadableJournal, storage: Storage = nodeStorage): void {
  const txns: TerminalState['txns'] = {};
  if (oldestOpenSeq !== null) {
    const fold = terminalStateFold('all');
    const scratch = fold.initial();
    for (const r of readRecordsFrom({ journal, storage, types: terminalTypes() }, oldestOpenSeq)) fold.apply(scratch, r);
    const referenced = new Set<number>([...Object.values(s.inFlight), ...Object.values(s.reversals), ...Object.values(s.pendingReceipts), ...Object.values(s.batchEntries)].map((a) => a.seq));
    for (const v of Object.values(scratch.txns)) if (referenced.has(v.seq) || v.intent.batch === s.batch) txns[v.seq] = v;
  }
  s.txns = txns;
  s.version = TERMINAL_STATE_VERSION;
}
