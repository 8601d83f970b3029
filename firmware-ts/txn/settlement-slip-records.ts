// The settlement slip (结算单) owed, as a fold over the journal (DESIGN rule 1): a settlement that completes
// owes its slip until a `settlement.slip` record says it printed, so a printer that is out of paper or a
// restart in between never loses it. A job that was sent and never answered (the `printing` record with no
// result after it: a crash or power cut mid-job) may be partly on paper, so it is owed again as a duplicate.
import type { SettlementSlip } from './records.js';
import type { SettlementSummary } from './settlement-records.js';

export interface OwedSlip {
  batch: number;
  /** The totals the slip prints; kept with it, as a later settlement replaces `lastSettlement`. */
  summary: SettlementSummary;
  /** Print it marked 重打印 / DUPLICATE: a reprint was asked for, or an earlier job may be on paper. */
  duplicate: boolean;
  /** A job was sent and no result was journaled for it. */
  printing: boolean;
}

/**
 * Slips owed at most: every checkpoint carries them, and a terminal that settles with no printer at all
 * (the simulator, a bench without one) must not grow its checkpoints by a slip per settlement. The totals
 * of an older batch stay in the journal's settlement records; only its paper copy is given up.
 */
export const MAX_OWED_SLIPS = 4;

/** A completed settlement owes its slip. */
export function oweSlip(owed: OwedSlip[], summary: SettlementSummary): OwedSlip[] {
  return [...owed.filter((o) => o.batch !== summary.batch), { batch: summary.batch, summary, duplicate: false, printing: false }].slice(-MAX_OWED_SLIPS);
}

/** `lastSettlement` is the slip a reprint asks for when nothing is owed for its batch. */
export function applySlipRecord(owed: OwedSlip[], p: SettlementSlip, lastSettlement: SettlementSummary | null): OwedSlip[] {
  const current = owed.find((o) => o.batch === p.batch);
  const others = owed.filter((o) => o.batch !== p.batch);
  switch (p.event) {
    case 'printing': {
      const summary = current?.summary ?? (lastSettlement?.batch === p.batch ? lastSettlement : null);
      if (!summary) return owed;
      return [...others, { batch: p.batch, summary, duplicate: (current?.duplicate ?? false) || p.duplicate, printing: true }];
    }
    case 'printed':
      return others;
    case 'not-printed':
      if (!current) return owed;
      return [...others, { ...current, duplicate: current.duplicate || p.duplicate || p.mayBeOnPaper === true, printing: false }];
  }
}

/** Whether the next job for this slip must be marked duplicate. */
export const printAsDuplicate = (o: OwedSlip): boolean => o.duplicate || o.printing;
