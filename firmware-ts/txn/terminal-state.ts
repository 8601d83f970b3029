// The terminal's state as a fold over its journal: counters, authorizations in flight, reversals owed,
// receipts not yet printed, the open batch's totals and settlement progress, and the one lifecycle of each
// transaction (`txns`: its intent, how it ended, its reversal, its receipt) for every transaction a lookup
// must still reach — the open batch, every open obligation and a bounded window of the most recent before
// them. Nothing here is stored anywhere else; a reboot rebuilds it from the newest checkpoint plus the
// tail, so no lookup (status, void, reprint, a reversal's image, a request id) ever reads history.
import type { JournalRecord, StateMachine } from '../journal/state-machine.js';
import type {
  AuthIntent,
  AuthKind,
  AuthOutcome,
  ReceiptNotPrinted,
  ReceiptPrinted,
  ReversalAttempt,
  ReversalClosed,
  ReversalCleared,
  ReversalNotSent,
  ReversalReason,
  ReversalRequired,
  ReversalStuck,
  SettlementDone,
  SettlementStep,
  StanAllocated,
} from './records.js';
import { RECEIPT_JOB_STARTED, TerminalRecord } from './records.js';
import { decodeTxns, encodeTxns } from './txn-snapshot.js';
import { forgetDropped, noteTxn } from './request-id-index.js';

export interface InFlightAuth {
  seq: number;
  kind: AuthKind;
  amount: number;
  maskedPan: string;
}

export interface OwedReversal {
  /** Seq of the intent record that holds the reversal image. */
  seq: number;
  kind: AuthKind;
  amount: number;
  maskedPan: string;
  reason: ReversalReason;
  attempts: number;
  stuck: boolean;
}

export interface BatchEntry {
  seq: number;
  kind: AuthKind;
  amount: number;
}

export interface PendingReceipt {
  seq: number;
  kind: AuthKind;
  amount: number;
  /**
   * Whether part of an earlier job may be on paper. Absent from the approval on until a job's result is
   * journaled (printing may start at any moment, and a power cut leaves no word of how far it got): read
   * as true. False: every job so far was refused before any paper moved. True stays true.
   */
  mayBeOnPaper?: boolean;
  /**
   * A job was started (durably, `job-started`) and has no journaled result: a power cut may have cut it
   * part-way, so the next job is marked. A later result of that job ends it.
   */
  printing?: boolean;
}

/** One transaction's lifecycle, keyed in `txns` by the seq of its intent. */
export interface TxnView {
  /** Seq of the intent record. */
  seq: number;
  /** The intent as journaled; its reversal image is dropped once nothing can reverse it any more (closed). */
  intent: StoredIntent;
  /** How the host answered (the record's own STAN and time left out). */
  outcome?: Pick<AuthOutcome, 'result' | 'responseCode' | 'rrn' | 'authCode'>;
  reversal?: {
    reason: ReversalReason;
    state: 'owed' | 'stuck' | 'cleared' | 'closed';
    /** Sends that left the terminal (0400 and 0401 repeats). */
    attempts: number;
    /** The 0410's response code, once cleared. */
    responseCode?: string;
    /** The supervisor's recorded reason, once closed. */
    closedReason?: string;
  };
  printed: boolean;
  /** STAN of an approved void / pre-auth void / completion (not reversed) that used this transaction up. */
  consumedBy?: number;
}

export type StoredIntent = Omit<AuthIntent, 'reversalImage'> & { reversalImage?: AuthIntent['reversalImage'] };

/**
 * Closed transactions of earlier batches kept after a settlement, newest first: what a client may still
 * ask about by request id (a retry after a lost answer, across a settlement), and what status / void's
 * "use refund" / a refund of our own sale find by STAN or RRN. A terminal makes a few hundred a day, and
 * a retry comes within minutes; 200 keeps each checkpoint (written once per segment) small.
 */
export const RECENT_CLOSED_TXNS = 200;

/** The snapshot format of this fold (JOURNAL_FORMAT §6.1); 1 had no `txns`. */
export const TERMINAL_STATE_VERSION = 2;

export interface BatchTotals {
  saleCount: number;
  saleAmount: number;
  refundCount: number;
  refundAmount: number;
  voidCount: number;
  voidAmount: number;
}

export interface TerminalState {
  /** Snapshot format: TERMINAL_STATE_VERSION, or 1 for a checkpoint of an older build until its `txns` are rebuilt. */
  version: number;
  /** Last STAN allocated (0 before the first). */
  stan: number;
  batch: number;
  inFlight: Record<string, InFlightAuth>;
  reversals: Record<string, OwedReversal>;
  pendingReceipts: Record<string, PendingReceipt>;
  /** Approved, not reversed, in the open batch: what settlement totals and uploads. */
  batchEntries: Record<string, BatchEntry>;
  totals: BatchTotals;
  /** Seq of the first record of the open batch; the batch upload needs everything from here. */
  batchStartSeq: number | null;
  settlement: { batch: number; step: SettlementStep['step'] } | null;
  /** Each reachable transaction's lifecycle by intent seq (ascending seq is journal order). */
  txns: Record<string, TxnView>;
}

export const emptyTotals = (): BatchTotals => ({ saleCount: 0, saleAmount: 0, refundCount: 0, refundAmount: 0, voidCount: 0, voidAmount: 0 });

/** Signed effect of an approved authorization on the batch totals; balance and pre-auth move no money. */
export function addToTotals(t: BatchTotals, kind: AuthKind, amount: number, sign: 1 | -1): void {
  if (kind === 'sale' || kind === 'preauth-completion') {
    t.saleCount += sign;
    t.saleAmount += sign * amount;
  } else if (kind === 'refund') {
    t.refundCount += sign;
    t.refundAmount += sign * amount;
  } else if (kind === 'void' || kind === 'preauth-void') {
    t.voidCount += sign;
    t.voidAmount += sign * amount;
  }
}

// The maps keyed by STAN (inFlight, reversals, pendingReceipts, batchEntries) are indexed with the number
// itself on the hot records: a property key is its string (1234 and "1234" are one key), without making it.
const key = (stan: number) => String(stan);

/**
 * Whether an authorization still lives under this STAN: in flight, owing a reversal or a slip, or approved in
 * the open batch. A wrapped STAN counter must skip such a STAN, or the new authorization would overwrite it.
 */
export function stanHeldOpen(s: TerminalState, stan: number): boolean {
  return s.inFlight[stan] !== undefined || s.reversals[stan] !== undefined || s.pendingReceipts[stan] !== undefined || s.batchEntries[stan] !== undefined;
}

/** Which transactions the fold keeps once they are closed and their batch is settled. */
export type TxnRetention = 'recent' | 'all';

/**
 * The fold. The journal runs it with 'recent' (bounded: the open batch, open obligations, the
 * RECENT_CLOSED_TXNS before); tools that look at a whole journal (the simulator's checks) with 'all'.
 */
export function terminalStateFold(retention: TxnRetention): StateMachine<TerminalState> {
  return {
    initial: () => ({
      version: TERMINAL_STATE_VERSION,
      stan: 0,
      batch: 1,
      inFlight: {},
      reversals: {},
      pendingReceipts: {},
      batchEntries: {},
      totals: emptyTotals(),
      batchStartSeq: null,
      settlement: null,
      txns: {},
    }),

    apply: (s, r) => applyRecord(s, r, retention),

    // The transactions as arrays (txn-snapshot.ts); everything else as it is in memory.
    toCheckpoint: (s) => ({ ...s, txns: encodeTxns(s.txns) }),

    fromCheckpoint(snap) {
      const { txns, ...rest } = snap as Omit<TerminalState, 'txns'> & { txns?: Parameters<typeof decodeTxns>[0] };
      const s = structuredClone(rest) as TerminalState;
      // A checkpoint of a build before `txns`: the journal's opener rebuilds them from the open batch's
      // records (txn-history.ts rebuildTxns); until then the state says version 1.
      if (s.version === undefined || txns === undefined) {
        s.version = 1;
        s.txns = {};
      } else {
        s.txns = decodeTxns(txns);
      }
      return s;
    },

    oldestOpenSeq(s) {
      let oldest: number | null = s.batchStartSeq;
      const consider = (seq: number) => {
        if (oldest === null || seq < oldest) oldest = seq;
      };
      for (const a of Object.values(s.inFlight)) consider(a.seq);
      for (const a of Object.values(s.reversals)) consider(a.seq);
      for (const a of Object.values(s.pendingReceipts)) consider(a.seq);
      return oldest;
    },
  };
}

export const terminalState = terminalStateFold('recent');

function applyRecord(s: TerminalState, r: JournalRecord, retention: TxnRetention): void {
  switch (r.type) {
    case TerminalRecord.authIntent.name: {
      const p = r.payload as AuthIntent;
      s.stan = p.stan;
      s.inFlight[p.stan] = { seq: r.seq, kind: p.kind, amount: p.amount, maskedPan: p.maskedPan };
      s.batchStartSeq ??= r.seq;
      // A copy: closing it drops the reversal image, and the record's own payload stays as journaled.
      const view: TxnView = { seq: r.seq, intent: { ...p }, printed: false };
      s.txns[r.seq] = view;
      noteTxn(s.txns, view);
      return;
    }
    case TerminalRecord.authOutcome.name: {
      const p = r.payload as AuthOutcome;
      const k = p.stan;
      const auth = s.inFlight[k];
      // A late reply for an authorization already being reversed never turns it back into a sale.
      if (!auth) return;
      delete s.inFlight[k];
      const view = s.txns[auth.seq];
      if (view) view.outcome = outcomeView(p);
      if (p.result !== 'approved') {
        closed(view);
        return;
      }
      addToTotals(s.totals, auth.kind, auth.amount, 1);
      s.batchEntries[k] = { seq: auth.seq, kind: auth.kind, amount: auth.amount };
      if (auth.kind !== 'balance') s.pendingReceipts[k] = { seq: auth.seq, kind: auth.kind, amount: auth.amount };
      else closed(view);
      if (view) consume(s, view, true);
      return;
    }
    case TerminalRecord.receiptPrinted.name: {
      const k = (r.payload as ReceiptPrinted).stan;
      const pending = s.pendingReceipts[k];
      if (!pending) return;
      delete s.pendingReceipts[k];
      const view = s.txns[pending.seq];
      if (view) view.printed = true;
      closed(view);
      return;
    }
    case TerminalRecord.receiptNotPrinted.name: {
      const p = r.payload as ReceiptNotPrinted;
      const pending = s.pendingReceipts[key(p.stan)];
      if (!pending) return;
      if (p.reason === RECEIPT_JOB_STARTED) {
        pending.printing = true;
        return;
      }
      delete pending.printing;
      if (pending.mayBeOnPaper !== true) pending.mayBeOnPaper = p.mayBeOnPaper;
      return;
    }
    case TerminalRecord.reversalRequired.name: {
      const p = r.payload as ReversalRequired;
      const k = key(p.stan);
      const auth = s.inFlight[k] ?? s.batchEntries[k];
      if (!auth || s.reversals[k]) return;
      const entry = s.batchEntries[k];
      const view = s.txns[auth.seq];
      if (entry) {
        // Approved by the host but refused afterwards (e.g. the chip declined): undo its effect on totals.
        addToTotals(s.totals, entry.kind, entry.amount, -1);
        delete s.batchEntries[k];
        delete s.pendingReceipts[k];
        if (view) consume(s, view, false);
      }
      // A reversal raised after approval (06) names its card itself: the batch entry keeps no PAN.
      const maskedPan = s.inFlight[k]?.maskedPan ?? p.maskedPan ?? '';
      delete s.inFlight[k];
      s.reversals[k] = { seq: auth.seq, kind: auth.kind, amount: auth.amount, maskedPan, reason: p.reason, attempts: 0, stuck: false };
      if (view) view.reversal = { reason: p.reason, state: 'owed', attempts: 0 };
      return;
    }
    case TerminalRecord.reversalAttempt.name: {
      const rev = s.reversals[key((r.payload as ReversalAttempt).stan)];
      if (!rev) return;
      rev.attempts++;
      const v = s.txns[rev.seq]?.reversal;
      if (v) v.attempts = rev.attempts;
      return;
    }
    case TerminalRecord.reversalNotSent.name: {
      // The attempt never left the terminal: the next send is still the first (0400) if none did.
      const rev = s.reversals[key((r.payload as ReversalNotSent).stan)];
      if (!rev || rev.attempts === 0) return;
      rev.attempts--;
      const v = s.txns[rev.seq]?.reversal;
      if (v) v.attempts = rev.attempts;
      return;
    }
    case TerminalRecord.reversalStuck.name: {
      const rev = s.reversals[key((r.payload as ReversalStuck).stan)];
      if (!rev) return;
      rev.stuck = true;
      const v = s.txns[rev.seq]?.reversal;
      if (v) v.state = 'stuck';
      return;
    }
    case TerminalRecord.reversalCleared.name: {
      const p = r.payload as ReversalCleared;
      const rev = s.reversals[key(p.stan)];
      if (!rev) return;
      delete s.reversals[key(p.stan)];
      const view = s.txns[rev.seq];
      if (view?.reversal) view.reversal = { ...view.reversal, state: 'cleared', responseCode: p.responseCode };
      closed(view);
      return;
    }
    case TerminalRecord.reversalClosed.name: {
      const p = r.payload as ReversalClosed;
      const rev = s.reversals[key(p.stan)];
      if (!rev) return;
      delete s.reversals[key(p.stan)];
      const view = s.txns[rev.seq];
      if (view?.reversal) view.reversal = { ...view.reversal, state: 'closed', closedReason: p.reason };
      closed(view);
      return;
    }
    case TerminalRecord.stanAllocated.name:
      s.stan = (r.payload as StanAllocated).stan;
      return;
    case TerminalRecord.settlementStep.name: {
      const p = r.payload as SettlementStep;
      s.settlement = { batch: p.batch, step: p.step };
      return;
    }
    case TerminalRecord.settlementDone.name: {
      const p = r.payload as SettlementDone;
      if (p.batch !== s.batch) return;
      s.batch = p.nextBatch;
      s.totals = emptyTotals();
      s.batchEntries = {};
      s.batchStartSeq = null;
      s.settlement = null;
      if (retention === 'recent') keepRecent(s);
      return;
    }
  }
}

/** How the host answered, as the view keeps it: rrn and authCode only when the record has them (in that order). */
function outcomeView(p: AuthOutcome): NonNullable<TxnView['outcome']> {
  const o: NonNullable<TxnView['outcome']> = { result: p.result, responseCode: p.responseCode };
  if (p.rrn !== undefined) o.rrn = p.rrn;
  if (p.authCode !== undefined) o.authCode = p.authCode;
  return o;
}

/** Nothing can reverse it any more: its reversal image is no longer needed (the checkpoint stays small). */
function closed(view: TxnView | undefined): void {
  // Set to undefined, not deleted (a delete turns the object into a slow dictionary); JSON leaves it out.
  if (view?.intent.reversalImage) view.intent.reversalImage = undefined;
}

/** A void, pre-auth void or completion uses up its original while it stands; its reversal gives it back. */
function consume(s: TerminalState, v: TxnView, on: boolean): void {
  const kind = v.intent.kind;
  const named = v.intent.original;
  if (named?.stan === undefined || !(kind === 'void' || kind === 'preauth-void' || kind === 'preauth-completion')) return;
  const original = newestOriginal(s, named.stan, named.rrn, v.seq);
  if (!original) return;
  if (on) original.consumedBy = v.intent.stan;
  else if (original.consumedBy === v.intent.stan) delete original.consumedBy;
}

/**
 * The newest transaction before `before` with the STAN, and the RRN when the record names one: STANs come
 * back after 999,999, so a completion of an old pre-authorization must not use up a newer sale. An original
 * the host gave no RRN is named by its STAN only.
 */
function newestOriginal(s: TerminalState, stan: number, rrn: string | undefined, before: number): TxnView | undefined {
  const seqs = Object.keys(s.txns);
  for (let i = seqs.length - 1; i >= 0; i--) {
    const v = s.txns[seqs[i]!]!;
    if (v.seq < before && v.intent.stan === stan && (rrn === undefined || v.outcome?.rrn === rrn)) return v;
  }
  return undefined;
}

/** After a settlement: every transaction still owing something, and the RECENT_CLOSED_TXNS newest of the rest. */
function keepRecent(s: TerminalState): void {
  const open = new Set<number>([...Object.values(s.inFlight), ...Object.values(s.reversals), ...Object.values(s.pendingReceipts)].map((a) => a.seq));
  const seqs = Object.keys(s.txns);
  let closedKept = 0;
  for (let i = seqs.length - 1; i >= 0; i--) {
    const seq = Number(seqs[i]);
    if (open.has(seq)) continue;
    if (closedKept < RECENT_CLOSED_TXNS) closedKept++;
    else delete s.txns[seqs[i]!];
  }
  forgetDropped(s.txns);
}
