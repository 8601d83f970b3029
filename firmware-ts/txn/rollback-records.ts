// A rollback found by an anchor (rollback-anchor.ts), as journal records: `anchor.rollback` moves the
// counters forward past the evidence and raises the alarm in the same durable append; the alarm holds
// (money operations refused) until `anchor.acknowledged`, a supervisor's recorded decision — the journal
// lost what the old copy did not hold (sales, owed reversals), and only a person can chase that.
import type { TerminalState } from './terminal-state.js';
import { emptyTotals } from './terminal-state.js';
import type { CounterEvidence } from './rollback-anchor.js';

export interface AnchorRollback {
  anchor: string;
  evidence: Pick<CounterEvidence, 'batch' | 'last'>;
  detail: string;
  before: { stan: number; batch: number };
  after: { stan: number; batch: number };
  at: string;
}

export interface AnchorAcknowledged {
  reason: string;
  at: string;
}

/** The alarm a person sees (status, log) while money operations are refused. */
export interface RollbackAlarm {
  anchor: string;
  detail: string;
  before: { stan: number; batch: number };
  after: { stan: number; batch: number };
  at: string;
}

export function applyRollback(s: TerminalState, p: AnchorRollback): RollbackAlarm {
  s.stan = p.after.stan;
  if (p.after.batch !== s.batch) {
    // The host is in a later batch: the one this journal had open was closed without it. What it held
    // was settled (or is missing) at the acquirer; it never goes into the new batch's totals.
    s.batch = p.after.batch;
    s.totals = emptyTotals();
    s.batchEntries = {};
    s.batchStartSeq = null;
  }
  return { anchor: p.anchor, detail: p.detail, before: p.before, after: p.after, at: p.at };
}
