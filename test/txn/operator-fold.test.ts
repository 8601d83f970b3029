// The operator side of the terminal's fold on its own (issue 14, mutation run): settlement steps taking
// their STANs from the one counter, the settlement's end becoming the last settlement and a slip owed (only
// for the run's own batch), the slips owed and their duplicate marks through printing / printed / not
// printed, the rollback alarm raised and acknowledged, and operator state kept or defaulted from a checkpoint.
import { describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { TerminalRecord, type SettlementSlip } from '../../firmware-ts/txn/records.js';
import type { AnchorRollback } from '../../firmware-ts/txn/rollback-records.js';
import type { SettlementStepRecord, SettlementSummary, TotalsSide } from '../../firmware-ts/txn/settlement-records.js';
import { applySlipRecord, MAX_OWED_SLIPS, oweSlip, printAsDuplicate, type OwedSlip } from '../../firmware-ts/txn/settlement-slip-records.js';
import { emptySupervisorState } from '../../firmware-ts/txn/supervisor-records.js';
import { terminalFold, type TerminalJournalState } from '../../firmware-ts/txn/terminal-fold.js';

const AT = '2026-01-02T03:04:05.000Z';
const side = (debitCount: number, debitAmount: number): TotalsSide => ({ debitCount, debitAmount, creditCount: 0, creditAmount: 0 });
const summary = (batch: number, over: Partial<SettlementSummary> = {}): SettlementSummary => ({ batch, balanced: true, terminal: side(1, 100), acquirer: side(1, 100), uploaded: 0, at: AT, ...over });
const slip = (batch: number, event: SettlementSlip['event'], over: Partial<SettlementSlip> = {}): SettlementSlip => ({ batch, event, duplicate: false, at: AT, ...over });

let seq = 0;
const rec = (type: { name: string }, payload: unknown): JournalRecord => ({ seq: ++seq, type: type.name, payload });
function fold(records: JournalRecord[], s: TerminalJournalState = terminalFold.initial()): TerminalJournalState {
  for (const r of records) terminalFold.apply(s, r);
  return s;
}
const step = (p: SettlementStepRecord) => rec(TerminalRecord.settlementStep, p);

describe('settlement in the operator fold', () => {
  it('each step written ahead moves the STAN counter; totals-sent (no STAN) leaves it', () => {
    const s = fold([step({ batch: 1, step: 'started', stan: 40, terminal: side(2, 300), at: AT })]);
    expect(s.stan).toBe(40);
    expect(s.settlementRun).toMatchObject({ batch: 1, step: 'started', stan: 40 });
    fold([step({ batch: 1, step: 'totals-sent', balanced: false, acquirer: side(1, 100), at: AT })], s);
    expect(s.stan).toBe(40);
    fold([step({ batch: 1, step: 'upload', stan: 41, entryStan: 7, at: AT }), step({ batch: 1, step: 'batch-end', stan: 42, records: 1, at: AT })], s);
    expect(s.stan).toBe(42);
    expect(s.settlementRun).toMatchObject({ step: 'batch-end', stan: 42, uploaded: [7], uploading: null });
  });

  it('the end of the run\'s batch: last settlement (the acquirer side, or the terminal\'s when it sent none), a slip owed, the run closed', () => {
    const s = fold([step({ batch: 1, step: 'started', stan: 40, terminal: side(2, 300), at: AT }), step({ batch: 1, step: 'batch-end', stan: 41, records: 0, at: AT }), rec(TerminalRecord.settlementDone, { batch: 1, balanced: true, nextBatch: 2, at: AT })]);
    const expected: SettlementSummary = { batch: 1, balanced: true, terminal: side(2, 300), acquirer: side(2, 300), uploaded: 0, at: AT };
    expect(s.lastSettlement).toEqual(expected);
    expect(s.settlementRun).toBeNull();
    expect(s.slipsOwed).toEqual([{ batch: 1, summary: expected, duplicate: false, printing: false }]);
    expect(s.batch).toBe(2);
  });

  it('with the acquirer\'s totals and uploads, those are what the summary keeps', () => {
    const s = fold([
      step({ batch: 1, step: 'started', stan: 40, terminal: side(2, 300), at: AT }),
      step({ batch: 1, step: 'totals-sent', balanced: false, acquirer: side(1, 100), at: AT }),
      step({ batch: 1, step: 'upload', stan: 41, entryStan: 7, at: AT }),
      step({ batch: 1, step: 'upload', stan: 42, entryStan: 8, at: AT }),
      step({ batch: 1, step: 'batch-end', stan: 43, records: 2, at: AT }),
      rec(TerminalRecord.settlementDone, { batch: 1, balanced: false, nextBatch: 2, at: AT }),
    ]);
    expect(s.lastSettlement).toEqual({ batch: 1, balanced: false, terminal: side(2, 300), acquirer: side(1, 100), uploaded: 2, at: AT });
  });

  it('an end with no run, or of another batch, changes no operator state', () => {
    const none = fold([rec(TerminalRecord.settlementDone, { batch: 1, balanced: true, nextBatch: 2, at: AT })]);
    expect(none.lastSettlement).toBeNull();
    expect(none.slipsOwed).toEqual([]);
    const other = fold([step({ batch: 1, step: 'started', stan: 40, terminal: side(2, 300), at: AT }), rec(TerminalRecord.settlementDone, { batch: 5, balanced: true, nextBatch: 6, at: AT })]);
    expect(other.lastSettlement).toBeNull();
    expect(other.settlementRun).toMatchObject({ batch: 1 });
    expect(other.slipsOwed).toEqual([]);
  });
});

describe('the rollback alarm', () => {
  it('raised by the rollback record, held across other records, cleared by the acknowledgement', () => {
    const p: AnchorRollback = { anchor: 'acquirer 0810', evidence: { batch: 1 }, detail: 'old copy', before: { stan: 3, batch: 1 }, after: { stan: 103, batch: 1 }, at: AT };
    const s = fold([rec(TerminalRecord.anchorRollback, p)]);
    expect(s.rollbackAlarm).toEqual({ anchor: 'acquirer 0810', detail: 'old copy', before: { stan: 3, batch: 1 }, after: { stan: 103, batch: 1 }, at: AT });
    expect(s.stan).toBe(103);
    fold([rec(TerminalRecord.supervisorAttempt, { ok: false, purpose: 'acknowledge-rollback', at: AT })], s);
    expect(s.rollbackAlarm).not.toBeNull();
    expect(s.supervisor.failures).toBe(1);
    fold([rec(TerminalRecord.anchorAcknowledged, { reason: 'checked with the acquirer', at: AT })], s);
    expect(s.rollbackAlarm).toBeNull();
  });
});

describe('checkpoints', () => {
  it('operator state comes back as written; a checkpoint without it gets the empty defaults', () => {
    const s = fold([
      rec(TerminalRecord.supervisorPasswordSet, { salt: 's', hash: 'h', params: { N: 2, r: 1, p: 1, keyLength: 8 }, at: AT }),
      step({ batch: 1, step: 'started', stan: 40, terminal: side(2, 300), at: AT }),
    ]);
    s.lastSettlement = summary(0);
    s.slipsOwed = [{ batch: 0, summary: summary(0), duplicate: true, printing: false }];
    s.rollbackAlarm = { anchor: 'rpmb', detail: 'd', before: { stan: 1, batch: 1 }, after: { stan: 2, batch: 1 }, at: AT };
    const back = terminalFold.fromCheckpoint(JSON.parse(JSON.stringify(terminalFold.toCheckpoint(s))));
    expect(back.supervisor).toEqual(s.supervisor);
    expect(back.settlementRun).toEqual(s.settlementRun);
    expect(back.lastSettlement).toEqual(s.lastSettlement);
    expect(back.slipsOwed).toEqual(s.slipsOwed);
    expect(back.rollbackAlarm).toEqual(s.rollbackAlarm);

    const { supervisor: _a, settlementRun: _b, lastSettlement: _c, slipsOwed: _d, rollbackAlarm: _e, ...older } = terminalFold.toCheckpoint(s) as TerminalJournalState;
    const upgraded = terminalFold.fromCheckpoint(JSON.parse(JSON.stringify(older)));
    expect(upgraded.supervisor).toEqual(emptySupervisorState());
    expect(upgraded.settlementRun).toBeNull();
    expect(upgraded.lastSettlement).toBeNull();
    expect(upgraded.slipsOwed).toEqual([]);
    expect(upgraded.rollbackAlarm).toBeNull();
    expect(terminalFold.initial()).toMatchObject({ supervisor: emptySupervisorState(), settlementRun: null, lastSettlement: null, slipsOwed: [], rollbackAlarm: null });
  });
});

describe('settlement slips owed', () => {
  const owed = (batch: number, over: Partial<OwedSlip> = {}): OwedSlip => ({ batch, summary: summary(batch), duplicate: false, printing: false, ...over });

  it('a settlement owes its slip (replacing an older one of its batch), at most four kept, the newest', () => {
    expect(MAX_OWED_SLIPS).toBe(4);
    expect(oweSlip([], summary(1))).toEqual([owed(1)]);
    expect(oweSlip([owed(1, { duplicate: true, printing: true })], summary(1, { uploaded: 3 }))).toEqual([{ ...owed(1), summary: summary(1, { uploaded: 3 }) }]);
    const five = [1, 2, 3, 4].reduce<OwedSlip[]>((o, b) => oweSlip(o, summary(b)), []);
    expect(oweSlip(five, summary(5)).map((o) => o.batch)).toEqual([2, 3, 4, 5]);
    expect(five.map((o) => o.batch)).toEqual([1, 2, 3, 4]);
  });

  it('printing: the job is in flight; its duplicate mark adds to the slip\'s, never clears it', () => {
    expect(applySlipRecord([owed(1), owed(2)], slip(1, 'printing'), null)).toEqual([owed(2), owed(1, { printing: true })]);
    expect(applySlipRecord([owed(1)], slip(1, 'printing', { duplicate: true }), null)).toEqual([owed(1, { printing: true, duplicate: true })]);
    expect(applySlipRecord([owed(1, { duplicate: true })], slip(1, 'printing'), null)).toEqual([owed(1, { printing: true, duplicate: true })]);
  });

  it('printing a slip not owed: a reprint of the last settlement, or nothing when it is of another batch', () => {
    expect(applySlipRecord([owed(2)], slip(1, 'printing', { duplicate: true }), summary(1, { uploaded: 9 }))).toEqual([owed(2), { batch: 1, summary: summary(1, { uploaded: 9 }), duplicate: true, printing: true }]);
    const before = [owed(2)];
    // Its mark is the record's own: the reprint writes it; nothing owed adds one.
    expect(applySlipRecord([], slip(1, 'printing'), summary(1))).toEqual([{ batch: 1, summary: summary(1), duplicate: false, printing: true }]);
    expect(applySlipRecord(before, slip(1, 'printing'), summary(3))).toBe(before);
    expect(applySlipRecord(before, slip(1, 'printing'), null)).toBe(before);
  });

  it('printed: no longer owed; others stay', () => {
    expect(applySlipRecord([owed(1, { printing: true }), owed(2)], slip(1, 'printed'), null)).toEqual([owed(2)]);
  });

  it('not printed: owed again, marked duplicate when the job or the record says paper may hold part of it', () => {
    expect(applySlipRecord([owed(1, { printing: true })], slip(1, 'not-printed', { mayBeOnPaper: false }), null)).toEqual([owed(1)]);
    expect(applySlipRecord([owed(1, { printing: true })], slip(1, 'not-printed'), null)).toEqual([owed(1)]);
    expect(applySlipRecord([owed(1, { printing: true })], slip(1, 'not-printed', { mayBeOnPaper: true }), null)).toEqual([owed(1, { duplicate: true })]);
    expect(applySlipRecord([owed(1, { printing: true })], slip(1, 'not-printed', { duplicate: true }), null)).toEqual([owed(1, { duplicate: true })]);
    expect(applySlipRecord([owed(1, { duplicate: true, printing: true })], slip(1, 'not-printed', { mayBeOnPaper: false }), null)).toEqual([owed(1, { duplicate: true })]);
    const before = [owed(2)];
    expect(applySlipRecord(before, slip(1, 'not-printed', { mayBeOnPaper: true }), summary(1))).toBe(before);
  });

  it('the next job is marked duplicate when asked for, or when an earlier job may be on paper', () => {
    expect(printAsDuplicate(owed(1))).toBe(false);
    expect(printAsDuplicate(owed(1, { duplicate: true }))).toBe(true);
    expect(printAsDuplicate(owed(1, { printing: true }))).toBe(true);
  });

  it('through the fold: a slip record applies to the owed list with the last settlement', () => {
    const s = fold([step({ batch: 1, step: 'started', stan: 40, terminal: side(2, 300), at: AT }), rec(TerminalRecord.settlementDone, { batch: 1, balanced: true, nextBatch: 2, at: AT })]);
    fold([rec(TerminalRecord.settlementSlip, slip(1, 'printed'))], s);
    expect(s.slipsOwed).toEqual([]);
    fold([rec(TerminalRecord.settlementSlip, slip(1, 'printing', { duplicate: true }))], s);
    expect(s.slipsOwed).toEqual([{ batch: 1, summary: s.lastSettlement, duplicate: true, printing: true }]);
  });
});
