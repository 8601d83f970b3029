// The terminal's repair policy on its own (issue 14, mutation run; terminal-salvage.ts), on folded states
// and records made here: which records fold without a MAC, the STAN moved past every evidence plus the
// margin and one per record lost (wrapping), the batch moved to the furthest evidenced and the open batch
// rebuilt from that batch's intents alone, the obligations reported, which records are written again, and
// every seq reference pointed at the copies.
import { describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { TerminalRecord, type AuthIntent } from '../../firmware-ts/txn/records.js';
import { MAX_BATCH, MAX_STAN } from '../../firmware-ts/txn/settlement.js';
import { terminalFold, type TerminalJournalState } from '../../firmware-ts/txn/terminal-fold.js';
import { isAhead, REPAIR_STAN_MARGIN, terminalSalvage } from '../../firmware-ts/txn/terminal-salvage.js';

const AT = '2026-01-02T03:04:05.000Z';
const intent = (stan: number, batch: number, amount = 100, kind: AuthIntent['kind'] = 'sale'): AuthIntent => ({ stan, batch, kind, amount, currency: '156', maskedPan: '622202******1234', entryMode: '051', at: AT, reversalImage: { '11': String(stan) } });
const r = (seq: number, type: { name: string }, payload: unknown): JournalRecord => ({ seq, type: type.name, payload });
const intentRec = (seq: number, stan: number, batch: number, amount = 100) => r(seq, TerminalRecord.authIntent, intent(stan, batch, amount));
const approved = (seq: number, stan: number) => r(seq, TerminalRecord.authOutcome, { stan, result: 'approved', responseCode: '00', rrn: `00000000${String(stan).padStart(4, '0')}`, at: AT });

/** The fold over `records`, from a terminal in `batch` (a batch moves only by a settlement's end). */
function fold(records: JournalRecord[], batch = 1): TerminalJournalState {
  const s = terminalFold.initial();
  s.batch = batch;
  for (const rec of records) terminalFold.apply(s, rec);
  return s;
}

function finish(prefixRecords: JournalRecord[], salvagedRecords: JournalRecord[], evidence: JournalRecord[] = salvagedRecords, recordsLostAtMost = 0, batch = 1) {
  const prefix = fold(prefixRecords, batch);
  const salvaged = fold([...prefixRecords, ...salvagedRecords], batch);
  return { salvaged, out: terminalSalvage.finish({ prefix, salvaged, evidence, prefixRecords, recordsLostAtMost }) };
}

describe('isAhead', () => {
  it('forward by less than half the range, across the wrap', () => {
    expect(isAhead(5, 4, MAX_STAN)).toBe(true);
    expect(isAhead(4, 4, MAX_STAN)).toBe(false);
    expect(isAhead(4, 5, MAX_STAN)).toBe(false);
    expect(isAhead(1, MAX_STAN, MAX_STAN)).toBe(true);
    expect(isAhead(500_000, 1, MAX_STAN)).toBe(true);
    expect(isAhead(500_001, 1, MAX_STAN)).toBe(false);
  });
});

describe('records without a checked MAC', () => {
  it('only those that add an obligation or a counter fold', () => {
    const adds = ['authIntent', 'reversalRequired', 'reversalAttempt', 'reversalStuck', 'stanAllocated', 'settlementStep'] as const;
    for (const t of adds) expect(terminalSalvage.foldsUnverified(TerminalRecord[t].name)).toBe(true);
    for (const t of Object.keys(TerminalRecord) as (keyof typeof TerminalRecord)[]) {
      if (!(adds as readonly string[]).includes(t)) expect(terminalSalvage.foldsUnverified(TerminalRecord[t].name)).toBe(false);
    }
  });

  it('the policy reads every terminal record type, and its checkpoint leaves out the version and txns', () => {
    for (const t of Object.values(TerminalRecord)) expect(terminalSalvage.types.schemaFor(t.name).code).toBe(t.code);
    const s = fold([intentRec(1, 1, 1)]);
    const cp = terminalSalvage.fold.toCheckpoint(s) as Record<string, unknown>;
    expect('txns' in cp).toBe(false);
    expect('version' in cp).toBe(false);
    expect(cp).toMatchObject({ stan: 1, batch: 1 });
  });
});

describe('finish: STAN', () => {
  it('past the furthest of the prefix, the salvaged fold and the last STAN evidenced, plus the margin and one per record lost', () => {
    const prefix = [intentRec(1, 10, 1), approved(2, 10)];
    const salvaged = [intentRec(3, 11, 1)];
    const evidence = [...salvaged, r(4, TerminalRecord.stanAllocated, { stan: 30, at: AT }), r(5, TerminalRecord.stanAllocated, { stan: 25, at: AT })];
    const { out } = finish(prefix, salvaged, evidence, 7);
    // The last STAN evidenced counts (25), not the highest (30): the counter only moves forward in journal order.
    expect(out.stan).toEqual({ before: 10, evidenced: 25, after: 25 + 7 + REPAIR_STAN_MARGIN });
    expect(out.state.stan).toBe(25 + 7 + REPAIR_STAN_MARGIN);
    expect(REPAIR_STAN_MARGIN).toBe(100);
  });

  it('the salvaged fold ahead of the evidence wins; a settlement step\'s STAN is evidence', () => {
    const { out } = finish([intentRec(1, 10, 1)], [intentRec(2, 40, 1)], [r(3, TerminalRecord.settlementStep, { batch: 1, step: 'batch-end', stan: 20, records: 0, at: AT })]);
    expect(out.stan).toMatchObject({ before: 10, evidenced: 40 });
    const step = finish([intentRec(1, 10, 1)], [], [r(3, TerminalRecord.settlementStep, { batch: 1, step: 'batch-end', stan: 20, records: 0, at: AT })]);
    expect(step.out.stan).toMatchObject({ evidenced: 20, after: 20 + REPAIR_STAN_MARGIN });
  });

  it('a record without a STAN, or with one that is not a number, is no evidence', () => {
    const { out } = finish([intentRec(1, 10, 1)], [], [r(2, TerminalRecord.authOutcome, { stan: 90, result: 'declined', responseCode: '51', at: AT }), r(3, TerminalRecord.stanAllocated, { stan: '95', at: AT })]);
    expect(out.stan).toEqual({ before: 10, evidenced: 10, after: 10 + REPAIR_STAN_MARGIN });
  });

  it('an intent the fold did not take (its atomic append torn) is evidence of its STAN; so is a STAN followed by records without one', () => {
    const torn = finish([intentRec(1, 10, 1)], [], [intentRec(2, 40, 1)]);
    expect(torn.out.stan).toEqual({ before: 10, evidenced: 40, after: 40 + REPAIR_STAN_MARGIN });
    const trailing = finish([intentRec(1, 10, 1)], [], [r(2, TerminalRecord.stanAllocated, { stan: 40, purpose: 'sign-on', at: AT }), approved(3, 40), r(4, TerminalRecord.receiptPrinted, { stan: 40, copies: 'both' })]);
    expect(trailing.out.stan).toEqual({ before: 10, evidenced: 40, after: 40 + REPAIR_STAN_MARGIN });
  });

  it('a record whose payload is not an object is no evidence, and the repair goes on', () => {
    const { out } = finish([intentRec(1, 10, 1)], [], [r(2, TerminalRecord.stanAllocated, null)]);
    expect(out.stan).toEqual({ before: 10, evidenced: 10, after: 10 + REPAIR_STAN_MARGIN });
  });

  it('wraps past 999999 to 1', () => {
    const { out } = finish([intentRec(1, MAX_STAN - 50, 1)], [], [], 0);
    expect(out.stan).toEqual({ before: MAX_STAN - 50, evidenced: MAX_STAN - 50, after: REPAIR_STAN_MARGIN - 50 });
    const wrapped = finish([intentRec(1, MAX_STAN - 1, 1)], [], [r(2, TerminalRecord.stanAllocated, { stan: 2, at: AT })]);
    expect(wrapped.out.stan.evidenced).toBe(2);
  });
});

describe('finish: batch', () => {
  it('no evidence of a later batch: the fold\'s batch, totals and entries as salvaged', () => {
    const { salvaged, out } = finish([intentRec(1, 10, 3, 500), approved(2, 10)], [], [], 0, 3);
    expect(out.batch).toEqual({ before: 3, evidenced: 3, after: 3 });
    expect(out.state.totals).toEqual(salvaged.totals);
    expect(Object.keys(out.state.batchEntries)).toEqual(['10']);
  });

  it('no evidence of a later batch: the entries stand as folded, even those whose intents were not handed in (a checkpoint holds them)', () => {
    const folded = fold([intentRec(1, 10, 3, 500), approved(2, 10)], 3);
    const out = terminalSalvage.finish({ prefix: folded, salvaged: folded, evidence: [], prefixRecords: [], recordsLostAtMost: 0 });
    expect(Object.keys(out.state.batchEntries)).toEqual(['10']);
    expect(out.state.totals.saleAmount).toBe(500);
    expect(out.state.batchStartSeq).toBe(1);
  });

  it('the last batch evidenced counts, as for the STAN: an earlier record of a later batch does not move it', () => {
    const prefix = [intentRec(1, 10, 3, 500)];
    const evidence = [intentRec(2, 11, 5, 700), intentRec(3, 12, 3, 900)];
    const out = terminalSalvage.finish({ prefix: fold(prefix, 3), salvaged: fold([...prefix, ...evidence], 3), evidence, prefixRecords: prefix, recordsLostAtMost: 0 });
    expect(out.batch).toEqual({ before: 3, evidenced: 3, after: 3 });
  });

  it('an intent of the evidenced batch before the cut is part of the rebuilt batch', () => {
    // The settlement's end of batch 3 and a sale of batch 4 are both in the intact prefix, the end unreadable to the fold.
    const prefix = [intentRec(1, 10, 3, 500), approved(2, 10), intentRec(3, 11, 4, 700), approved(4, 11)];
    const evidence = [intentRec(5, 12, 4, 900), approved(6, 12)];
    const out = terminalSalvage.finish({ prefix: fold(prefix, 3), salvaged: fold([...prefix, ...evidence], 3), evidence, prefixRecords: prefix, recordsLostAtMost: 0 });
    expect(out.batch.evidenced).toBe(4);
    expect(Object.keys(out.state.batchEntries).sort()).toEqual(['11', '12']);
    expect(out.state.totals.saleAmount).toBe(1_600);
    expect(out.state.batchStartSeq).toBe(3);
  });

  it('a later batch evidenced: the open batch is rebuilt from that batch\'s intents alone, and other batches\' settlement state dropped', () => {
    // Batch 3 was settled, but the settlement's end was lost; the salvage shows sales of batch 4.
    const prefix = [intentRec(1, 10, 3, 500), approved(2, 10), r(3, TerminalRecord.settlementStep, { batch: 3, step: 'started', stan: 11, terminal: { debitCount: 1, debitAmount: 500, creditCount: 0, creditAmount: 0 }, at: AT })];
    const lostEnd = [intentRec(5, 12, 4, 700), approved(6, 12), intentRec(7, 13, 4, 900), approved(8, 13)];
    const prefixState = fold(prefix, 3);
    // The fold the salvage made: batch 3's end missing, so batch 4's sales sit in batch 3's entries.
    const salvaged = fold([...prefix, ...lostEnd], 3);
    expect(salvaged.batch).toBe(3);
    const out = terminalSalvage.finish({ prefix: prefixState, salvaged, evidence: lostEnd, prefixRecords: prefix, recordsLostAtMost: 0 });
    expect(out.batch).toEqual({ before: 3, evidenced: 4, after: 4 });
    expect(out.state.batch).toBe(4);
    expect(Object.keys(out.state.batchEntries).sort()).toEqual(['12', '13']);
    expect(out.state.totals).toEqual({ saleCount: 2, saleAmount: 1_600, refundCount: 0, refundAmount: 0, voidCount: 0, voidAmount: 0 });
    expect(out.state.batchStartSeq).toBe(5);
    expect(out.state.settlement).toBeNull();
    expect(out.state.settlementRun).toBeNull();
    // The salvaged state handed in is not changed.
    expect(salvaged.batch).toBe(3);
    expect(Object.keys(salvaged.batchEntries).sort()).toEqual(['10', '12', '13']);
  });

  it("a settlement's next batch stays evidenced when its slip record comes after it: the slip names the settled batch", () => {
    // Both after a hole, neither folded (an end never folds unverified); the slip must not pull the batch back.
    const prefix = [intentRec(1, 10, 3, 500), approved(2, 10)];
    const evidence = [r(3, TerminalRecord.settlementDone, { batch: 3, balanced: true, nextBatch: 4, at: AT }), r(4, TerminalRecord.settlementSlip, { batch: 3, event: 'printing', duplicate: false, at: AT })];
    const out = terminalSalvage.finish({ prefix: fold(prefix, 3), salvaged: fold(prefix, 3), evidence, prefixRecords: prefix, recordsLostAtMost: 0 });
    expect(out.batch).toEqual({ before: 3, evidenced: 4, after: 4 });
  });

  it('a later batch evidenced by a settlement\'s next batch, with no entry of it: empty batch, no start', () => {
    const prefix = [intentRec(1, 10, 3, 500), approved(2, 10)];
    const evidence = [r(3, TerminalRecord.settlementDone, { batch: 3, balanced: true, nextBatch: 4, at: AT })];
    const out = terminalSalvage.finish({ prefix: fold(prefix, 3), salvaged: fold(prefix, 3), evidence, prefixRecords: prefix, recordsLostAtMost: 0 });
    expect(out.batch).toEqual({ before: 3, evidenced: 4, after: 4 });
    expect(out.state.batchEntries).toEqual({});
    expect(out.state.batchStartSeq).toBeNull();
    expect(out.state.totals.saleCount).toBe(0);
  });

  it('a settlement of the evidenced batch under way is kept', () => {
    const prefix = [intentRec(1, 10, 3, 500), approved(2, 10)];
    const step = r(3, TerminalRecord.settlementStep, { batch: 4, step: 'started', stan: 11, terminal: { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 }, at: AT });
    const salvaged = fold([...prefix, step], 3);
    const out = terminalSalvage.finish({ prefix: fold(prefix, 3), salvaged, evidence: [step], prefixRecords: prefix, recordsLostAtMost: 0 });
    expect(out.batch.evidenced).toBe(4);
    expect(out.state.settlement).toEqual({ batch: 4, step: 'started' });
    expect(out.state.settlementRun).toMatchObject({ batch: 4 });
    expect(out.obligations.settlement).toEqual({ batch: 4, step: 'started' });
  });

  it('the batch counter wraps: batch 1 after 999999 is ahead', () => {
    const prefix = [intentRec(1, 10, MAX_BATCH, 500)];
    const evidence = [intentRec(2, 11, 1, 700)];
    const out = terminalSalvage.finish({ prefix: fold(prefix, MAX_BATCH), salvaged: fold([...prefix, ...evidence], MAX_BATCH), evidence, prefixRecords: prefix, recordsLostAtMost: 0 });
    expect(out.batch).toEqual({ before: MAX_BATCH, evidenced: 1, after: 1 });
  });
});

describe('finish: obligations', () => {
  it('reports reversals owed (stuck or not), authorizations in flight, receipts pending, the settlement, and the reversals closed', () => {
    const recs = [
      intentRec(1, 10, 1),
      r(2, TerminalRecord.reversalRequired, { stan: 10, reason: '98', at: AT }),
      r(3, TerminalRecord.reversalStuck, { stan: 10, at: AT }),
      intentRec(4, 11, 1),
      intentRec(5, 12, 1),
      approved(6, 12),
      intentRec(7, 13, 1),
      r(8, TerminalRecord.reversalRequired, { stan: 13, reason: 'A0', at: AT }),
      r(9, TerminalRecord.reversalCleared, { stan: 13, responseCode: '00', at: AT }),
      intentRec(10, 14, 1),
      r(11, TerminalRecord.reversalRequired, { stan: 14, reason: '06', at: AT }),
      r(12, TerminalRecord.reversalClosed, { stan: 14, reason: 'called the bank', at: AT }),
    ];
    const { out } = finish([], recs);
    expect(out.obligations).toEqual({
      reversalsOwed: [{ stan: 10, reason: '98', stuck: true }],
      inFlight: [11],
      receiptsPending: [12],
      settlement: null,
      reversalsClosed: 2,
    });
  });
});

describe('reappend', () => {
  it('writes again the terminal records at or after the cut of every STAN still referred to, never STAN allocations or settlement steps', () => {
    const recs = [
      intentRec(1, 10, 1),
      approved(2, 10),
      r(3, TerminalRecord.receiptPrinted, { stan: 10, copies: 'both' }),
      intentRec(4, 11, 1),
      r(5, TerminalRecord.reversalRequired, { stan: 11, reason: '98', at: AT }),
      r(6, TerminalRecord.stanAllocated, { stan: 11, at: AT }),
      r(7, TerminalRecord.settlementStep, { batch: 1, step: 'started', stan: 11, terminal: { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 }, at: AT }),
      intentRec(8, 12, 1),
      { seq: 10, type: 'journal.checkpoint', payload: { stan: 12 } },
      r(11, TerminalRecord.supervisorAttempt, { ok: false, purpose: 'void', at: AT }),
    ];
    const state = fold(recs);
    // 10 is approved (a batch entry) and printed; 11 owes a reversal; 12 is in flight.
    const again = terminalSalvage.reappend(state, recs, 2).map((x) => x.seq);
    expect(again).toEqual([2, 3, 4, 5, 8]);
    expect(terminalSalvage.reappend(state, recs, 5).map((x) => x.seq)).toEqual([5, 8]);
  });

  it('a record whose payload is not an object is not written again', () => {
    const recs = [intentRec(1, 10, 1), r(2, TerminalRecord.supervisorAttempt, null)];
    expect(terminalSalvage.reappend(fold(recs.slice(0, 1)), recs, 1).map((x) => x.seq)).toEqual([1]);
  });

  it('a STAN nothing refers to any more is not written again', () => {
    const recs = [intentRec(1, 10, 1), r(2, TerminalRecord.reversalRequired, { stan: 10, reason: '98', at: AT }), r(3, TerminalRecord.reversalCleared, { stan: 10, responseCode: '00', at: AT }), intentRec(4, 11, 1)];
    const state = fold(recs);
    expect(terminalSalvage.reappend(state, recs, 1).map((x) => x.seq)).toEqual([4]);
  });
});

describe('remap', () => {
  it('points every seq reference and the txns keys at the copies, in seq order; seqs not moved stay', () => {
    const recs = [intentRec(1, 9, 1), approved(2, 9), intentRec(3, 10, 1), approved(4, 10), intentRec(5, 11, 1), r(6, TerminalRecord.reversalRequired, { stan: 11, reason: '98', at: AT }), intentRec(7, 12, 1)];
    const s = fold(recs);
    const map = new Map([
      [3, 103],
      [5, 105],
      [7, 107],
    ]);
    terminalSalvage.remap(s, map);
    expect(s.pendingReceipts['9']!.seq).toBe(1);
    expect(s.batchEntries['9']!.seq).toBe(1);
    expect(s.pendingReceipts['10']!.seq).toBe(103);
    expect(s.batchEntries['10']!.seq).toBe(103);
    expect(s.reversals['11']!.seq).toBe(105);
    expect(s.inFlight['12']!.seq).toBe(107);
    expect(s.batchStartSeq).toBe(1);
    expect(Object.keys(s.txns)).toEqual(['1', '103', '105', '107']);
    expect(s.txns[105]!.seq).toBe(105);
    expect(s.txns[105]!.intent.stan).toBe(11);
  });

  it('the batch start moves with its record; none stays none', () => {
    const s = fold([intentRec(1, 9, 1)]);
    terminalSalvage.remap(s, new Map([[1, 50]]));
    expect(s.batchStartSeq).toBe(50);
    const empty = terminalFold.initial();
    terminalSalvage.remap(empty, new Map([[1, 50]]));
    expect(empty.batchStartSeq).toBeNull();
  });
});
