// The invariant checker must catch each kind of disagreement, or the engine tests that rely on it prove nothing.
import { describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { checkMoneyInvariants, type LedgerEntryLike, type ToldCashier } from '../../firmware-ts/txn/money-invariants.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';

const TID = '12345678';
let seq = 0;
const rec = (type: string, payload: unknown): JournalRecord => ({ seq: ++seq, type, payload });
const intent = (stan: number, amount = 100, batch = 1, requestId?: string) =>
  rec(TerminalRecord.authIntent.name, { stan, batch, kind: 'sale', amount, currency: '156', maskedPan: '621214*********0006', entryMode: '902', at: '', reversalImage: {}, ...(requestId ? { requestId } : {}) });
const approved = (stan: number) => rec(TerminalRecord.authOutcome.name, { stan, result: 'approved', responseCode: '00', rrn: '000000000001', at: '' });
const required = (stan: number) => rec(TerminalRecord.reversalRequired.name, { stan, reason: '98', at: '' });
const cleared = (stan: number) => rec(TerminalRecord.reversalCleared.name, { stan, responseCode: '00', at: '' });
const debit = (s: number, stan: number, amount = 100): LedgerEntryLike => ({ seq: s, kind: 'authorization', txn: 'sale', terminalId: TID, batch: '000001', stan: String(stan).padStart(6, '0'), amount: String(amount).padStart(12, '0') });
const reversal = (s: number, stan: number, target: number | null): LedgerEntryLike => ({ seq: s, kind: 'reversal', terminalId: TID, batch: '000001', stan: String(stan).padStart(6, '0'), target });

const check = (records: JournalRecord[], ledger: LedgerEntryLike[], told: ToldCashier[] = [], allowOwedReversals = false) =>
  checkMoneyInvariants({ records, ledger, terminalId: TID, told, allowOwedReversals }).map((v) => v.invariant);

describe('money invariants checker', () => {
  it('agreement: an approved sale and a reversed one', () => {
    expect(check([intent(1), approved(1), intent(2), required(2), cleared(2)], [debit(1, 1), debit(2, 2), reversal(3, 2, 2)])).toEqual([]);
  });

  it('phantom debit: the host holds a debit the journal reversed, declined or never wrote', () => {
    expect(check([intent(1), required(1)], [debit(1, 1)])).toEqual(['no-phantom-debit']);
    expect(check([intent(1), rec(TerminalRecord.authOutcome.name, { stan: 1, result: 'declined', responseCode: '05', at: '' })], [debit(1, 1)])).toEqual(['no-phantom-debit']);
    expect(check([], [debit(1, 1)])).toEqual(['no-phantom-debit']);
    expect(check([intent(1, 100), approved(1)], [debit(1, 1, 999)])).toEqual(['no-phantom-debit']);
  });

  it('lost sale: the journal says approved, the host has nothing live', () => {
    expect(check([intent(1), approved(1)], [])).toEqual(['no-lost-sale']);
    expect(check([intent(1), approved(1)], [debit(1, 1), reversal(2, 1, 1)])).toEqual(['reversal-once', 'no-lost-sale']);
  });

  it('a late outcome after the reversal was raised does not count as a sale', () => {
    expect(check([intent(1), required(1), approved(1), cleared(1)], [debit(1, 1), reversal(2, 1, 1)])).toEqual([]);
  });

  it('reversal effective twice, or on another STAN', () => {
    expect(check([intent(1), required(1)], [debit(1, 1), reversal(2, 1, 1), reversal(3, 1, 1)])).toContain('reversal-once');
    expect(check([intent(1), approved(1), intent(2), required(2)], [debit(1, 1), reversal(2, 2, 1)])).toContain('reversal-once');
  });

  it('STAN re-used in a batch, STAN going backwards, batch going backwards', () => {
    expect(check([intent(1), approved(1), intent(1), approved(1)], [debit(1, 1)])).toContain('stan-unique');
    expect(check([intent(5, 100, 2), intent(6, 100, 1)], [])).toContain('batch-forward');
    expect(check([intent(999_999), intent(1)], [])).toEqual([]);
  });

  it('a full PAN in a journal payload', () => {
    expect(check([rec(TerminalRecord.authIntent.name, { stan: 1, batch: 1, kind: 'sale', amount: 1, maskedPan: '6212140000000000006', reversalImage: {} })], [])).toContain('no-card-data');
  });

  it('8. a "failed" that debits: the GEN AC2 case the engine and journal agree on, caught only by what the cashier was told', () => {
    // Journal approved, acquirer live: invariants 1 and 2 hold. The cashier was told it failed.
    const records = [intent(1, 100, 1, 'r-1'), approved(1)];
    expect(check(records, [debit(1, 1)])).toEqual([]);
    expect(check(records, [debit(1, 1)], [{ said: 'failed', requestId: 'r-1' }])).toEqual(['no-failed-debit']);
    expect(check(records, [debit(1, 1)], [{ said: 'failed', batch: 1, stan: 1 }])).toEqual(['no-failed-debit']);
    // Told "unknown" (the answer says the outcome is not known yet) or approved: no violation.
    expect(check(records, [debit(1, 1)], [{ said: 'unknown', requestId: 'r-1' }, { said: 'approved', requestId: 'r-1' }])).toEqual([]);
  });

  it('8. told failed, reversal owed: an obligation kept mid-run, a violation at the end; answered: clean', () => {
    const records = [intent(1, 100, 1, 'r-1'), required(1)];
    const told: ToldCashier[] = [{ said: 'failed', requestId: 'r-1', batch: 1, stan: 1 }];
    expect(check(records, [debit(1, 1)], told, true)).toEqual([]);
    expect(check(records, [debit(1, 1)], told)).toEqual(['no-phantom-debit', 'no-failed-debit']);
    expect(check([...records, cleared(1)], [debit(1, 1), reversal(2, 1, 1)], told)).toEqual([]);
  });

  it('8. one request id never starts two authorizations', () => {
    expect(check([intent(1, 100, 1, 'r-9'), approved(1), intent(2, 100, 1, 'r-9'), approved(2)], [debit(1, 1), debit(2, 2)])).toEqual(['request-once']);
  });

  it('reads the journal through its own fold: a 0410 that is not 00/25 journaled as cleared is still a phantom debit at the acquirer', () => {
    // The checker trusts no engine lookup: cleared in the journal, live at the acquirer → the debit stands.
    expect(check([intent(1, 100, 1, 'r-1'), required(1), cleared(1)], [debit(1, 1)], [{ said: 'failed', requestId: 'r-1' }])).toEqual(['no-phantom-debit', 'no-failed-debit']);
  });
});
