// The rollback anchor's arithmetic on its own (issue 14, mutation run): when a counter is ahead on a range
// that wraps at 999999, when evidence says the journal is behind (a batch end written ahead is not a
// rollback), where the counters move to (past the anchor's STAN or the journal's, wrapping), what the
// acquirer anchor offers and that it offers it once, and what the rollback record does to the fold's batch.
import { describe, expect, it } from 'vitest';
import { AcquirerAnchor, behindBy, countersPast, stanAhead, type CounterEvidence, type JournalCounters } from '../../firmware-ts/txn/rollback-anchor.js';
import { applyRollback, type AnchorRollback } from '../../firmware-ts/txn/rollback-records.js';
import { MAX_BATCH, MAX_STAN } from '../../firmware-ts/txn/settlement.js';
import { terminalState } from '../../firmware-ts/txn/terminal-state.js';

const counters = (stan: number, batch: number, batchEndPending: number | null = null): JournalCounters => ({ stan, batch, batchEndPending });
const ev = (e: Omit<CounterEvidence, 'anchor' | 'detail'>): CounterEvidence => ({ anchor: 'rpmb', detail: 'test', ...e });

describe('stanAhead', () => {
  it('forward by less than half the range is ahead, across the wrap; equal or backwards is not', () => {
    expect(stanAhead(2, 1)).toBe(true);
    expect(stanAhead(1, 1)).toBe(false);
    expect(stanAhead(1, 2)).toBe(false);
    expect(stanAhead(1, MAX_STAN)).toBe(true);
    expect(stanAhead(MAX_STAN, 1)).toBe(false);
    expect(stanAhead(1 + 499_999, 1)).toBe(true);
    expect(stanAhead(1 + 500_000, 1)).toBe(false);
  });
});

describe('behindBy', () => {
  it('the anchor in a later batch: behind, naming both batches; in the same or an earlier batch: not', () => {
    expect(behindBy(counters(10, 4), ev({ batch: 5 }))).toBe('rpmb is in batch 5, the journal in batch 4');
    expect(behindBy(counters(10, 4), ev({ batch: 4 }))).toBeNull();
    expect(behindBy(counters(10, 4), ev({ batch: 3 }))).toBeNull();
    expect(behindBy(counters(10, 1), ev({ batch: MAX_BATCH }))).toBeNull();
    expect(behindBy(counters(10, MAX_BATCH), ev({ batch: 1 }))).toBe(`rpmb is in batch 1, the journal in batch ${MAX_BATCH}`);
  });

  it('a batch end written ahead: the anchor one batch on is expected (wrapping), two on is not', () => {
    expect(behindBy(counters(10, 4, 4), ev({ batch: 5 }))).toBeNull();
    expect(behindBy(counters(10, 4, 4), ev({ batch: 6 }))).toBe('rpmb is in batch 6, the journal in batch 4');
    expect(behindBy(counters(10, MAX_BATCH, MAX_BATCH), ev({ batch: 1 }))).toBeNull();
    expect(behindBy(counters(10, 4, 3), ev({ batch: 5 }))).toBe('rpmb is in batch 5, the journal in batch 4');
  });

  it('a STAN the anchor saw used in this batch: behind unless the journal is past it; another batch\'s STAN says nothing', () => {
    expect(behindBy(counters(10, 4), ev({ last: { batch: 4, stan: 10 } }))).toBe("rpmb saw STAN 10 used in batch 4; the journal's STAN is 10");
    expect(behindBy(counters(10, 4), ev({ last: { batch: 4, stan: 11 } }))).toBe("rpmb saw STAN 11 used in batch 4; the journal's STAN is 10");
    expect(behindBy(counters(11, 4), ev({ last: { batch: 4, stan: 10 } }))).toBeNull();
    expect(behindBy(counters(1, 4), ev({ last: { batch: 4, stan: MAX_STAN } }))).toBeNull();
    expect(behindBy(counters(10, 4), ev({ last: { batch: 3, stan: 500 } }))).toBeNull();
    expect(behindBy(counters(10, 4), ev({}))).toBeNull();
  });

  it('the batch is judged first: a later batch with a STAN of it names the batch', () => {
    expect(behindBy(counters(10, 4), ev({ batch: 5, last: { batch: 4, stan: 20 } }))).toBe('rpmb is in batch 5, the journal in batch 4');
  });
});

describe('countersPast', () => {
  it('the STAN moves the margin past the anchor\'s when the journal is not ahead of it, else past the journal\'s', () => {
    expect(countersPast(counters(10, 4), ev({ last: { batch: 4, stan: 50 } }), 100)).toEqual({ stan: 150, batch: 4 });
    expect(countersPast(counters(50, 4), ev({ last: { batch: 4, stan: 50 } }), 100)).toEqual({ stan: 150, batch: 4 });
    expect(countersPast(counters(60, 4), ev({ last: { batch: 4, stan: 50 } }), 100)).toEqual({ stan: 160, batch: 4 });
    expect(countersPast(counters(60, 4), ev({}), 7)).toEqual({ stan: 67, batch: 4 });
  });

  it('wraps past 999999 to 1 (never 0)', () => {
    expect(countersPast(counters(MAX_STAN - 1, 4), ev({}), 1)).toEqual({ stan: MAX_STAN, batch: 4 });
    expect(countersPast(counters(MAX_STAN - 1, 4), ev({}), 2)).toEqual({ stan: 1, batch: 4 });
    expect(countersPast(counters(MAX_STAN, 4), ev({}), 100)).toEqual({ stan: 100, batch: 4 });
  });

  it('the batch moves to the anchor\'s only when that is ahead', () => {
    expect(countersPast(counters(10, 4), ev({ batch: 6 }), 1)).toEqual({ stan: 11, batch: 6 });
    expect(countersPast(counters(10, 4), ev({ batch: 3 }), 1)).toEqual({ stan: 11, batch: 4 });
    expect(countersPast(counters(10, MAX_BATCH), ev({ batch: 2 }), 1)).toEqual({ stan: 11, batch: 2 });
  });
});

describe('AcquirerAnchor', () => {
  it('offers what the last 0810 said once, and nothing when it said no counters', async () => {
    const a = new AcquirerAnchor();
    expect(a.name).toBe('acquirer');
    expect(await a.evidence()).toBeNull();
    a.signedOn({ batch: 7, last: { batch: 7, stan: 42 } });
    expect(await a.evidence()).toEqual({ anchor: 'acquirer 0810', batch: 7, last: { batch: 7, stan: 42 }, detail: 'sign-on' });
    expect(await a.evidence()).toBeNull();
    a.signedOn({ batch: 7 });
    expect(await a.evidence()).toEqual({ anchor: 'acquirer 0810', batch: 7, detail: 'sign-on' });
    a.signedOn({ last: { batch: 7, stan: 42 } });
    expect(await a.evidence()).toEqual({ anchor: 'acquirer 0810', last: { batch: 7, stan: 42 }, detail: 'sign-on' });
    a.signedOn({ batch: 7 });
    a.signedOn({});
    expect(await a.evidence()).toBeNull();
  });

  it('a 94 to a STAN is evidence it was used in that batch, and replaces an earlier sign-on', async () => {
    const a = new AcquirerAnchor();
    a.signedOn({ batch: 7 });
    a.duplicateStan(7, 42);
    expect(await a.evidence()).toEqual({ anchor: 'acquirer 94', last: { batch: 7, stan: 42 }, detail: '94 (duplicate) to STAN 42' });
    expect(await a.evidence()).toBeNull();
  });
});

describe('applyRollback', () => {
  const rollback = (after: { stan: number; batch: number }): AnchorRollback => ({
    anchor: 'acquirer 0810',
    evidence: { batch: after.batch },
    detail: 'old copy',
    before: { stan: 10, batch: 4 },
    after,
    at: '2026-01-01T00:00:00.000Z',
  });
  const withBatch = () => {
    const s = terminalState.initial();
    Object.assign(s, { stan: 10, batch: 4, batchStartSeq: 3, batchEntries: { 9: { seq: 3, kind: 'sale', amount: 500 } } });
    s.totals.saleCount = 1;
    s.totals.saleAmount = 500;
    return s;
  };

  it('in the same batch only the STAN moves; the alarm carries the record\'s words', () => {
    const s = withBatch();
    const alarm = applyRollback(s, rollback({ stan: 200, batch: 4 }));
    expect(alarm).toEqual({ anchor: 'acquirer 0810', detail: 'old copy', before: { stan: 10, batch: 4 }, after: { stan: 200, batch: 4 }, at: '2026-01-01T00:00:00.000Z' });
    expect(s).toMatchObject({ stan: 200, batch: 4, batchStartSeq: 3, totals: { saleCount: 1, saleAmount: 500 } });
    expect(Object.keys(s.batchEntries)).toEqual(['9']);
  });

  it('into a later batch: the old batch\'s entries and totals never reach the new one', () => {
    const s = withBatch();
    applyRollback(s, rollback({ stan: 200, batch: 6 }));
    expect(s).toMatchObject({ stan: 200, batch: 6, batchStartSeq: null, totals: { saleCount: 0, saleAmount: 0, refundCount: 0, refundAmount: 0, voidCount: 0, voidAmount: 0 } });
    expect(s.batchEntries).toEqual({});
  });
});
