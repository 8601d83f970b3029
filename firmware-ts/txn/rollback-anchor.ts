// Rollback anchors (JOURNAL_FORMAT §10.2): evidence from outside the journal of the counters this terminal
// has already used. A journal restored from an old copy folds to a STAN and batch the acquirer has seen;
// the journal alone cannot tell (every record in the copy verifies). An anchor that knows better makes the
// terminal refuse money operations, raise an alarm and move its counters past the evidence, journaled
// (rollback-records.ts). The acquirer is the anchor every terminal has (its 0810 and its 94 answers); an
// eMMC RPMB counter or a secure element plugs in through the same interface.
import { MAX_BATCH, MAX_STAN } from './settlement.js';

/** What an anchor says this terminal has used: a batch the host is in, and maybe the last STAN it saw. */
export interface CounterEvidence {
  /** Which anchor, and which of its signals ("acquirer 0810", "acquirer 94", "rpmb"). */
  anchor: string;
  /** The batch the anchor says this terminal is in (already closed batches are behind it). */
  batch?: number;
  /** A STAN the anchor saw used (its last), with the batch it was used in. */
  last?: { batch: number; stan: number };
  detail: string;
}

/** A source of counter evidence, asked after boot (and after a repair, which is a boot). */
export interface RollbackAnchor {
  readonly name: string;
  /** The anchor's evidence, or null when it has none to offer (never seen this terminal, not readable). */
  evidence(): Promise<CounterEvidence | null>;
}

/** The terminal's own counters as its journal folds them. */
export interface JournalCounters {
  stan: number;
  batch: number;
  /** A settlement whose batch end was written ahead: the host may already be in the next batch. */
  batchEndPending: number | null;
}

/** STANs wrap past 999999 to 1: `a` is ahead of `b` when it is less than half the range forward. */
export function stanAhead(a: number, b: number): boolean {
  const d = (((a - b) % MAX_STAN) + MAX_STAN) % MAX_STAN;
  return d > 0 && d < MAX_STAN / 2;
}

const batchAhead = (a: number, b: number): boolean => {
  const d = (((a - b) % MAX_BATCH) + MAX_BATCH) % MAX_BATCH;
  return d > 0 && d < MAX_BATCH / 2;
};

/** Why the journal is behind this evidence, or null when it is not (the normal case). */
export function behindBy(c: JournalCounters, e: CounterEvidence): string | null {
  if (e.batch !== undefined && batchAhead(e.batch, c.batch) && !(c.batchEndPending !== null && e.batch === (c.batchEndPending % MAX_BATCH) + 1)) {
    return `${e.anchor} is in batch ${e.batch}, the journal in batch ${c.batch}`;
  }
  // The journal's counter must be past every STAN the anchor saw used: the one just allocated may not be one.
  if (e.last && e.last.batch === c.batch && !stanAhead(c.stan, e.last.stan)) {
    return `${e.anchor} saw STAN ${e.last.stan} used in batch ${e.last.batch}; the journal's STAN is ${c.stan}`;
  }
  return null;
}

/**
 * Counters past the evidence: the batch the anchor is in, and a STAN `margin` past the highest one known
 * (the anchor's last or the journal's), for STANs that reached the host but left no trace it reports.
 */
export function countersPast(c: JournalCounters, e: CounterEvidence, margin: number): { stan: number; batch: number } {
  const from = e.last && !stanAhead(c.stan, e.last.stan) ? e.last.stan : c.stan;
  const batch = e.batch !== undefined && batchAhead(e.batch, c.batch) ? e.batch : c.batch;
  return { stan: ((from - 1 + margin) % MAX_STAN) + 1, batch };
}

/** The acquirer as an anchor: what its last 0810 said (60.2, 61), or a 94 it answered since. */
export class AcquirerAnchor implements RollbackAnchor {
  readonly name = 'acquirer';
  private latest: CounterEvidence | null = null;

  signedOn(host: { batch?: number; last?: { batch: number; stan: number } }): void {
    this.latest = host.batch === undefined && !host.last ? null : { anchor: 'acquirer 0810', ...host, detail: 'sign-on' };
  }

  /** The acquirer answered 94 (duplicate) to this STAN: it was used before in that batch. */
  duplicateStan(batch: number, stan: number): void {
    this.latest = { anchor: 'acquirer 94', last: { batch, stan }, detail: `94 (duplicate) to STAN ${stan}` };
  }

  async evidence(): Promise<CounterEvidence | null> {
    const e = this.latest;
    this.latest = null;
    return e;
  }
}
