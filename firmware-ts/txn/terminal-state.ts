// The terminal's state as a fold over its journal: counters, authorizations in flight, reversals owed,
// receipts not yet printed, the open batch's totals and settlement progress. Nothing here is stored
// anywhere else; a reboot rebuilds it from the newest checkpoint plus the tail.
import type { JournalRecord, StateMachine } from '../journal/state-machine.js';
import type {
  AuthIntent,
  AuthKind,
  AuthOutcome,
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
import { TerminalRecord } from './records.js';

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
}

export interface BatchTotals {
  saleCount: number;
  saleAmount: number;
  refundCount: number;
  refundAmount: number;
  voidCount: number;
  voidAmount: number;
}

export interface TerminalState {
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

const key = (stan: number) => String(stan);

export const terminalState: StateMachine<TerminalState> = {
  initial: () => ({
    stan: 0,
    batch: 1,
    inFlight: {},
    reversals: {},
    pendingReceipts: {},
    batchEntries: {},
    totals: emptyTotals(),
    batchStartSeq: null,
    settlement: null,
  }),

  apply(s, r: JournalRecord) {
    switch (r.type) {
      case TerminalRecord.authIntent.name: {
        const p = r.payload as AuthIntent;
        s.stan = p.stan;
        s.inFlight[key(p.stan)] = { seq: r.seq, kind: p.kind, amount: p.amount, maskedPan: p.maskedPan };
        s.batchStartSeq ??= r.seq;
        return;
      }
      case TerminalRecord.authOutcome.name: {
        const p = r.payload as AuthOutcome;
        const auth = s.inFlight[key(p.stan)];
        // A late reply for an authorization already being reversed never turns it back into a sale.
        if (!auth) return;
        delete s.inFlight[key(p.stan)];
        if (p.result !== 'approved') return;
        addToTotals(s.totals, auth.kind, auth.amount, 1);
        s.batchEntries[key(p.stan)] = { seq: auth.seq, kind: auth.kind, amount: auth.amount };
        if (auth.kind !== 'balance') s.pendingReceipts[key(p.stan)] = { seq: auth.seq, kind: auth.kind, amount: auth.amount };
        return;
      }
      case TerminalRecord.receiptPrinted.name: {
        delete s.pendingReceipts[key((r.payload as ReceiptPrinted).stan)];
        return;
      }
      case TerminalRecord.reversalRequired.name: {
        const p = r.payload as ReversalRequired;
        const k = key(p.stan);
        const auth = s.inFlight[k] ?? s.batchEntries[k];
        if (!auth || s.reversals[k]) return;
        const entry = s.batchEntries[k];
        if (entry) {
          // Approved by the host but refused afterwards (e.g. the chip declined): undo its effect on totals.
          addToTotals(s.totals, entry.kind, entry.amount, -1);
          delete s.batchEntries[k];
          delete s.pendingReceipts[k];
        }
        // A reversal raised after approval (06) names its card itself: the batch entry keeps no PAN, so the
        // checkpoint stays small for a batch of thousands.
        const maskedPan = s.inFlight[k]?.maskedPan ?? p.maskedPan ?? '';
        delete s.inFlight[k];
        s.reversals[k] = { seq: auth.seq, kind: auth.kind, amount: auth.amount, maskedPan, reason: p.reason, attempts: 0, stuck: false };
        return;
      }
      case TerminalRecord.reversalAttempt.name: {
        const rev = s.reversals[key((r.payload as ReversalAttempt).stan)];
        if (rev) rev.attempts++;
        return;
      }
      case TerminalRecord.reversalNotSent.name: {
        // The attempt never left the terminal: the next send is still the first (0400) if none did.
        const rev = s.reversals[key((r.payload as ReversalNotSent).stan)];
        if (rev && rev.attempts > 0) rev.attempts--;
        return;
      }
      case TerminalRecord.reversalStuck.name: {
        const rev = s.reversals[key((r.payload as ReversalStuck).stan)];
        if (rev) rev.stuck = true;
        return;
      }
      case TerminalRecord.reversalCleared.name:
        delete s.reversals[key((r.payload as ReversalCleared).stan)];
        return;
      case TerminalRecord.reversalClosed.name:
        delete s.reversals[key((r.payload as ReversalClosed).stan)];
        return;
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
        return;
      }
    }
  },

  toCheckpoint: (s) => s,

  fromCheckpoint: (snap) => structuredClone(snap as TerminalState),

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
