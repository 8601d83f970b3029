// The invariant checker must catch each kind of disagreement, or the engine tests that rely on it prove nothing.
import { describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { checkMoneyInvariants, type LedgerEntryLike } from '../../firmware-ts/txn/money-invariants.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';

const TID = '12345678';
let seq = 0;
const rec = (type: string, payload: unknown): JournalRecord => ({ seq: ++seq, type, payload });
const intent = (stan: number, amount = 100, batch = 1) =>
  rec(TerminalRecord.authIntent.name, { stan, batch, kind: 'sale', amount, currency: '156', maskedPan: '621214*********0006', entryMode: '902', at: '', reversalImage: {} });
const approved = (stan: number) => rec(TerminalRecord.authOutcome.name, { stan, result: 'approved', responseCode: '00', rrn: '000000000001', at: '' });
const required = (stan: number) => rec(TerminalRecord.reversalRequired.name, { stan, reason: '98', at: '' });
const cleared = (stan: number) => rec(TerminalRecord.reversalCleared.name, { stan, responseCode: '00', at: '' });
const debit = (s: number, stan: number, amount = 100): LedgerEntryLike => ({ seq: s, kind: 'authorization', txn: 'sale', terminalId: TID, batch: '000001', stan: String(stan).padStart(6, '0'), amount: String(amount).padStart(12, '0') });
const reversal = (s: number, stan: number, target: number | null): LedgerEntryLike => ({ seq: s, kind: 'reversal', terminalId: TID, batch: '000001', stan: String(stan).padStart(6, '0'), target });

const check = (records: JournalRecord[], ledger: LedgerEntryLike[]) => checkMoneyInvariants({ records, ledger, terminalId: TID }).map((v) => v.invariant);

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
});
