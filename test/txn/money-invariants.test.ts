// The invariant checker must catch each kind of disagreement, or the engine tests that rely on it prove nothing.
import { beforeEach, describe, expect, it } from 'vitest';
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
const declined = (stan: number) => rec(TerminalRecord.authOutcome.name, { stan, result: 'declined', responseCode: '05', at: '' });
const stuck = (stan: number) => rec(TerminalRecord.reversalStuck.name, { stan, attempts: 3, at: '' });
const closed = (stan: number) => rec(TerminalRecord.reversalClosed.name, { stan, reason: 'card returned', at: '' });
const signOnStan = (stan: number) => rec(TerminalRecord.stanAllocated.name, { stan, purpose: 'sign-on', at: '' });
const debit = (s: number, stan: number, amount = 100): LedgerEntryLike => ({ seq: s, kind: 'authorization', txn: 'sale', terminalId: TID, batch: '000001', stan: String(stan).padStart(6, '0'), amount: String(amount).padStart(12, '0') });
const reversal = (s: number, stan: number, target: number | null): LedgerEntryLike => ({ seq: s, kind: 'reversal', terminalId: TID, batch: '000001', stan: String(stan).padStart(6, '0'), target });

const check = (records: JournalRecord[], ledger: LedgerEntryLike[], told: ToldCashier[] = [], allowOwedReversals = false) =>
  checkMoneyInvariants({ records, ledger, terminalId: TID, told, allowOwedReversals }).map((v) => v.invariant);
// The whole violation, detail words included: they are what a field engineer reads.
const violations = (records: JournalRecord[], ledger: LedgerEntryLike[], told: ToldCashier[] = [], allowOwedReversals = false) =>
  checkMoneyInvariants({ records, ledger, terminalId: TID, told, allowOwedReversals });

// Record seqs appear in the details: each test numbers its records from 1.
beforeEach(() => {
  seq = 0;
});

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

describe('money invariants checker: the exact violations', () => {
  it('a busy day the terminal, the acquirer and the cashier agree on: clean mid-run; at the end only the stuck reversal is owed', () => {
    const other = (e: LedgerEntryLike): LedgerEntryLike => ({ ...e, terminalId: '87654321' });
    const records = [
      intent(1, 100, 1, 'r-1'), approved(1),
      intent(2, 200, 1, 'r-2'), approved(2), required(2), cleared(2),
      intent(3, 300, 1, 'r-3'), declined(3),
      // Timed out before the acquirer saw them: each reversal finds nothing to undo (target null).
      intent(4, 400, 1, 'r-4'), required(4), cleared(4),
      signOnStan(5),
      intent(6, 600, 1, 'r-6'), required(6), stuck(6),
      intent(7, 700, 1, 'r-7'), required(7), cleared(7),
    ];
    const ledger = [
      debit(1, 1), debit(2, 2, 200), reversal(3, 2, 2), reversal(4, 4, null), reversal(5, 7, null),
      debit(6, 6, 600),
      // Another terminal's traffic on the same STANs, and on one this journal never wrote.
      other(debit(7, 3, 300)), other(debit(8, 50)), other(reversal(9, 50, 8)),
    ];
    const told: ToldCashier[] = [
      { said: 'approved', requestId: 'r-1', batch: 1, stan: 1 },
      { said: 'failed', requestId: 'r-2', batch: 1, stan: 2 },
      { said: 'failed', requestId: 'r-3' },
      { said: 'failed', requestId: 'r-4', batch: 1, stan: 4 },
      { said: 'failed', requestId: 'r-6' },
      { said: 'failed', requestId: 'r-never-started' },
    ];
    expect(violations(records, ledger, told, true)).toEqual([]);
    expect(violations(records, ledger, told)).toEqual([
      { invariant: 'no-phantom-debit', batch: 1, stan: 6, detail: 'acquirer holds sale 000000000600 (ledger seq 6) that the journal reversed (stuck)' },
      { invariant: 'no-failed-debit', batch: 1, stan: 6, detail: 'the cashier was told request r-6 failed; the acquirer holds sale 000000000600 live (ledger seq 6); the journal says reversal stuck' },
    ]);
  });

  it('a full PAN: which record, what and where', () => {
    const records = [rec(TerminalRecord.authIntent.name, { stan: 1, batch: 1, kind: 'sale', amount: 1, maskedPan: '6212140000000000006', reversalImage: {} })];
    expect(violations(records, [])).toEqual([{ invariant: 'no-card-data', detail: 'record seq 1 (auth.intent) holds full PAN at $.maskedPan' }]);
  });

  it('a reversal that took effect twice', () => {
    expect(violations([intent(1), required(1), cleared(1)], [debit(1, 1), reversal(2, 1, 1), reversal(3, 1, 1)])).toEqual([
      { invariant: 'reversal-once', detail: 'ledger authorization seq 1 reversed 2 times' },
    ]);
  });

  it("another terminal's reversal that undid this one's sale is seen when this terminal is checked", () => {
    const foreign = { ...reversal(2, 1, 1), terminalId: '87654321' };
    expect(violations([intent(1), approved(1)], [debit(1, 1), foreign])).toEqual([
      { invariant: 'reversal-once', batch: 1, stan: 1, detail: 'reversal seq 2 undid authorization seq 1 of another terminal' },
      { invariant: 'reversal-once', batch: 1, stan: 1, detail: 'reversal seq 2 took effect but the journal never raised one' },
      { invariant: 'no-lost-sale', batch: 1, stan: 1, detail: 'journal approved sale 100; the acquirer has no live authorization for it' },
    ]);
    // Another terminal's reversal of an authorization the ledger does not hold, or of none, is not either.
    expect(violations([intent(1), approved(1)], [debit(1, 1), { ...foreign, target: 99 }, { ...foreign, seq: 3, target: null }])).toEqual([]);
    // Another terminal's reversal of its own sale is not this terminal's business.
    expect(violations([intent(1), approved(1)], [debit(1, 1), { ...debit(2, 1), terminalId: '87654321' }, { ...foreign, seq: 3, target: 2 }])).toEqual([]);
  });

  it("a reversal that undid another STAN's, another batch's or another terminal's authorization", () => {
    const wrong = { invariant: 'reversal-once', batch: 1, stan: 1, detail: 'reversal seq 2 undid authorization seq 1 of another STAN or batch' };
    const records = [intent(1), required(1), cleared(1)];
    expect(violations(records, [{ ...debit(1, 1), batch: '000002' }, reversal(2, 1, 1)])).toEqual([wrong]);
    expect(violations(records, [{ ...debit(1, 1), terminalId: '87654321' }, reversal(2, 1, 1)])).toEqual([{ ...wrong, detail: 'reversal seq 2 undid authorization seq 1 of another terminal' }]);
    // Sale 1 approved, sale 2 reversed: the reversal of 2 undid 1, so 1 is lost and 2 still debits.
    expect(violations([intent(1), approved(1), intent(2), required(2), cleared(2)], [debit(1, 1), debit(2, 2), reversal(3, 2, 1)])).toEqual([
      { invariant: 'reversal-once', batch: 1, stan: 2, detail: 'reversal seq 3 undid authorization seq 1 of another STAN or batch' },
      { invariant: 'no-phantom-debit', batch: 1, stan: 2, detail: 'acquirer holds sale 000000000100 (ledger seq 2) that the journal reversed (cleared)' },
      { invariant: 'no-lost-sale', batch: 1, stan: 1, detail: 'journal approved sale 100; the acquirer has no live authorization for it' },
    ]);
  });

  it('a reversal the journal never raised, on a STAN it holds or on one it never wrote', () => {
    expect(violations([intent(1), approved(1)], [debit(1, 1), reversal(2, 1, 1)])).toEqual([
      { invariant: 'reversal-once', batch: 1, stan: 1, detail: 'reversal seq 2 took effect but the journal never raised one' },
      { invariant: 'no-lost-sale', batch: 1, stan: 1, detail: 'journal approved sale 100; the acquirer has no live authorization for it' },
    ]);
    expect(violations([], [debit(1, 7), reversal(2, 7, 1)])).toEqual([
      { invariant: 'reversal-once', batch: 1, stan: 7, detail: 'reversal seq 2 took effect but the journal never raised one' },
    ]);
  });

  it('a phantom debit says what the journal holds instead', () => {
    const phantom = (detail: string) => [{ invariant: 'no-phantom-debit', batch: 1, stan: 1, detail }];
    expect(violations([], [debit(1, 1)])).toEqual(phantom('acquirer approved sale 000000000100 (ledger seq 1) with no intent in the journal'));
    expect(violations([intent(1)], [debit(1, 1)])).toEqual(phantom('acquirer approved sale 000000000100 (ledger seq 1); journal says no outcome'));
    expect(violations([intent(1), declined(1)], [debit(1, 1)])).toEqual(phantom('acquirer approved sale 000000000100 (ledger seq 1); journal says declined 05'));
    expect(violations([intent(1), approved(1)], [debit(1, 1, 999)])).toEqual(phantom('acquirer amount 000000000999 vs journal 100'));
    for (const [steps, state] of [[[required], 'owed'], [[required, stuck], 'stuck'], [[required, cleared], 'cleared'], [[required, closed], 'closed']] as const) {
      seq = 0;
      expect(violations([intent(1), ...steps.map((s) => s(1))], [debit(1, 1)])).toEqual(phantom(`acquirer holds sale 000000000100 (ledger seq 1) that the journal reversed (${state})`));
    }
  });

  it('mid-run, only a reversal still owed or stuck excuses a live debit; one cleared or closed does not', () => {
    expect(violations([intent(1), required(1)], [debit(1, 1)], [], true)).toEqual([]);
    expect(violations([intent(1), required(1), stuck(1)], [debit(1, 1)], [], true)).toEqual([]);
    expect(violations([intent(1), required(1), cleared(1)], [debit(1, 1)], [], true)).toEqual([
      { invariant: 'no-phantom-debit', batch: 1, stan: 1, detail: 'acquirer holds sale 000000000100 (ledger seq 1) that the journal reversed (cleared)' },
    ]);
    expect(violations([intent(1), required(1), closed(1)], [debit(1, 1)], [], true)).toEqual([
      { invariant: 'no-phantom-debit', batch: 1, stan: 1, detail: 'acquirer holds sale 000000000100 (ledger seq 1) that the journal reversed (closed)' },
    ]);
  });

  it('one request id that started two authorizations names their STANs', () => {
    const records = [intent(1, 100, 1, 'r-9'), approved(1), intent(2, 100, 1, 'r-9'), approved(2), intent(3, 100, 1, 'r-9'), declined(3)];
    expect(violations(records, [debit(1, 1), debit(2, 2)])).toEqual([
      { invariant: 'request-once', detail: 'request id r-9 started 3 authorizations (STAN 1, 2, 3)' },
    ]);
  });

  it('a "failed" that debits names the request (or the STAN when it has none), the live debit and what the journal says', () => {
    const failed = (told: string, says: string) => ({ invariant: 'no-failed-debit', batch: 1, stan: 1, detail: `the cashier was told ${told} failed; the acquirer holds sale 000000000100 live (ledger seq 1); the journal says ${says}` });
    const byRequest: ToldCashier[] = [{ said: 'failed', requestId: 'r-1' }];
    expect(violations([intent(1, 100, 1, 'r-1'), approved(1)], [debit(1, 1)], byRequest)).toEqual([failed('request r-1', 'approved')]);
    expect(violations([intent(1), approved(1)], [debit(1, 1)], [{ said: 'failed', batch: 1, stan: 1 }])).toEqual([failed('batch 1 STAN 1', 'approved')]);
    expect(violations([intent(1, 100, 1, 'r-1'), required(1)], [debit(1, 1)], byRequest)).toEqual([
      { invariant: 'no-phantom-debit', batch: 1, stan: 1, detail: 'acquirer holds sale 000000000100 (ledger seq 1) that the journal reversed (owed)' },
      failed('request r-1', 'reversal owed'),
    ]);
    expect(violations([intent(1, 100, 1, 'r-1'), declined(1)], [debit(1, 1)], byRequest)).toEqual([
      { invariant: 'no-phantom-debit', batch: 1, stan: 1, detail: 'acquirer approved sale 000000000100 (ledger seq 1); journal says declined 05' },
      failed('request r-1', 'declined 05'),
    ]);
    expect(violations([intent(1, 100, 1, 'r-1')], [debit(1, 1)], byRequest)).toEqual([
      { invariant: 'no-phantom-debit', batch: 1, stan: 1, detail: 'acquirer approved sale 000000000100 (ledger seq 1); journal says no outcome' },
      failed('request r-1', 'no outcome'),
    ]);
    expect(violations([], [debit(1, 1)], [{ said: 'failed', batch: 1, stan: 1 }])).toEqual([
      { invariant: 'no-phantom-debit', batch: 1, stan: 1, detail: 'acquirer approved sale 000000000100 (ledger seq 1) with no intent in the journal' },
      failed('batch 1 STAN 1', 'nothing'),
    ]);
  });

  it('a STAN going back is caught after any record, and after a sign-on STAN', () => {
    expect(violations([intent(5), declined(5), intent(3)], [])).toEqual([
      { invariant: 'stan-unique', stan: 3, detail: 'record seq 3 uses STAN 3 after 5' },
    ]);
    seq = 0;
    expect(violations([intent(5), signOnStan(6), intent(6)], [])).toEqual([
      { invariant: 'stan-unique', stan: 6, detail: 'record seq 3 uses STAN 6 after 6' },
    ]);
  });

  it('a STAN wraps only from above 900000 to below 100000; any other step back is a re-use', () => {
    expect(violations([intent(900_001), intent(99_999)], [])).toEqual([]);
    seq = 0;
    expect(violations([intent(900_000), intent(99_999)], [])).toEqual([
      { invariant: 'stan-unique', stan: 99_999, detail: 'record seq 2 uses STAN 99999 after 900000' },
    ]);
    seq = 0;
    expect(violations([intent(999_999), intent(100_000)], [])).toEqual([
      { invariant: 'stan-unique', stan: 100_000, detail: 'record seq 2 uses STAN 100000 after 999999' },
    ]);
  });

  it('a STAN used twice in one batch across a wrap; the same STAN in the next batch is fine', () => {
    expect(violations([intent(5, 100, 1), intent(950_000, 100, 1), intent(5, 100, 1)], [])).toEqual([
      { invariant: 'stan-unique', batch: 1, stan: 5, detail: 'STAN 5 used twice in batch 1' },
    ]);
    expect(violations([intent(5, 100, 1), intent(950_000, 100, 1), intent(5, 100, 2)], [])).toEqual([]);
  });

  it('a batch going back is caught, also after a sign-on STAN that names no batch', () => {
    expect(violations([intent(5, 100, 2), signOnStan(6), intent(7, 100, 1)], [])).toEqual([
      { invariant: 'batch-forward', batch: 1, stan: 7, detail: 'record seq 3 is in batch 1 after batch 2' },
    ]);
  });
});

// Beyond DESIGN's eight: what the acquirer's ledger gave back against one debit, whatever the journal says.
describe('money invariants checker: no card credited beyond its debit (no-over-credit)', () => {
  const OTHER = '87654321';
  const sale = (s: number, stan: number, amount: number, terminalId = TID): LedgerEntryLike => ({ ...debit(s, stan, amount), terminalId, rrn: String(s).padStart(12, '0') });
  const credit = (txn: 'void' | 'refund', s: number, stan: number, amount: number, target: number | undefined, terminalId = TID): LedgerEntryLike => ({
    ...debit(s, stan, amount),
    txn,
    terminalId,
    rrn: String(s).padStart(12, '0'),
    ...(target !== undefined ? { target } : {}),
  });
  const refund = (s: number, stan: number, amount: number, target: number | undefined, terminalId = TID) => credit('refund', s, stan, amount, target, terminalId);
  const voidOf = (s: number, stan: number, amount: number, target: number) => credit('void', s, stan, amount, target);
  // Only the ledger is read: the journal here agrees with it for invariants 1 and 2 where it can.
  const overCredit = (ledger: LedgerEntryLike[], terminalId = TID) => checkMoneyInvariants({ records: [], ledger, terminalId }).filter((v) => v.invariant === 'no-over-credit');

  it('a void after a partial refund: sale 8000, refund 3000, void 8000 gave back 11000', () => {
    expect(overCredit([sale(1, 1, 8000), refund(2, 2, 3000, 1), voidOf(3, 3, 8000, 1)])).toEqual([
      { invariant: 'no-over-credit', batch: 1, stan: 1, detail: 'sale of 8000 fen (ledger seq 1, RRN 000000000001) credited back 11000, 3000 beyond its debit: refund seq 2 3000, void seq 3 8000' },
    ]);
  });

  it('two refunds summing past the sale; to the fen of the sale they hold', () => {
    expect(overCredit([sale(1, 1, 8000), refund(2, 2, 5000, 1), refund(3, 3, 3001, 1)])).toEqual([
      { invariant: 'no-over-credit', batch: 1, stan: 1, detail: 'sale of 8000 fen (ledger seq 1, RRN 000000000001) credited back 8001, 1 beyond its debit: refund seq 2 5000, refund seq 3 3001' },
    ]);
    expect(overCredit([sale(1, 1, 8000), refund(2, 2, 5000, 1), refund(3, 3, 3000, 1)])).toEqual([]);
    // A completion is a debit like a sale.
    expect(overCredit([{ ...sale(1, 1, 500), txn: 'preauth-completion' }, refund(2, 2, 300, 1), refund(3, 3, 300, 1)]).map((v) => v.detail)).toEqual([
      'preauth-completion of 500 fen (ledger seq 1, RRN 000000000001) credited back 600, 100 beyond its debit: refund seq 2 300, refund seq 3 300',
    ]);
  });

  it("a refund whose reversal the acquirer never answered still stands: with another refund, or with the sale's own reversal", () => {
    // Refund 5000 (its 0400 never reached the acquirer: no reversal entry), then another 5000.
    expect(overCredit([sale(1, 1, 8000), refund(2, 2, 5000, 1), refund(3, 3, 5000, 1)]).map((v) => v.detail)).toEqual([
      'sale of 8000 fen (ledger seq 1, RRN 000000000001) credited back 10000, 2000 beyond its debit: refund seq 2 5000, refund seq 3 5000',
    ]);
    // The sale reversed (the whole debit given back) and a refund of it that was not.
    expect(overCredit([sale(1, 1, 8000), refund(2, 2, 3000, 1), reversal(3, 1, 1)])).toEqual([
      { invariant: 'no-over-credit', batch: 1, stan: 1, detail: 'sale of 8000 fen (ledger seq 1, RRN 000000000001) credited back 11000, 3000 beyond its debit: its reversal seq 3 8000, refund seq 2 3000' },
    ]);
    // Voided and reversed: given back twice.
    expect(overCredit([sale(1, 1, 8000), voidOf(2, 2, 8000, 1), reversal(3, 1, 1)]).map((v) => v.detail)).toEqual([
      'sale of 8000 fen (ledger seq 1, RRN 000000000001) credited back 16000, 8000 beyond its debit: its reversal seq 3 8000, void seq 2 8000',
    ]);
  });

  it('what holds: a refund and then its reversal answered, a declined refund (no entry), a void alone, a reversal alone', () => {
    // Refund 5000 reversed at the acquirer, then a refund of the rest and a second 3000: 8000 in effect.
    expect(overCredit([sale(1, 1, 8000), refund(2, 2, 5000, 1), reversal(3, 2, 2), refund(4, 4, 5000, 1), refund(5, 5, 3000, 1)])).toEqual([]);
    // A declined refund leaves no ledger entry: only the approved 3000 counts.
    expect(overCredit([sale(1, 1, 8000), refund(2, 3, 3000, 1)])).toEqual([]);
    expect(overCredit([sale(1, 1, 8000), voidOf(2, 2, 8000, 1)])).toEqual([]);
    expect(overCredit([sale(1, 1, 8000), reversal(2, 1, 1)])).toEqual([]);
    // A void reversed, then a refund of the whole sale.
    expect(overCredit([sale(1, 1, 8000), voidOf(2, 2, 8000, 1), reversal(3, 2, 2), refund(4, 4, 8000, 1)])).toEqual([]);
    // The sale reversed twice gives it back once here (invariant 4 names the second reversal).
    expect(overCredit([sale(1, 1, 8000), reversal(2, 1, 1), reversal(3, 1, 1)])).toEqual([]);
  });

  it("another terminal's sale refunded here is matched by its RRN's entry across the whole ledger, with that terminal's own credits", () => {
    // Sale at terminal OTHER, refunded 5000 there and 5000 here.
    const ledger = [sale(1, 1, 8000, OTHER), refund(2, 7, 5000, 1, OTHER), refund(3, 2, 5000, 1)];
    expect(overCredit(ledger)).toEqual([
      { invariant: 'no-over-credit', batch: 1, stan: 2, detail: 'sale of 8000 fen (ledger seq 1, RRN 000000000001, terminal 87654321) credited back 10000, 2000 beyond its debit: refund seq 2 5000, refund seq 3 (terminal 12345678) 5000' },
    ]);
    // The other terminal, checked, sees its own sale over-credited too.
    expect(overCredit(ledger, OTHER).map((v) => [v.batch, v.stan])).toEqual([[1, 1]]);
    // Another terminal's credits of its own sale are that terminal's business, not this one's.
    expect(overCredit([sale(1, 1, 8000, OTHER), refund(2, 7, 5000, 1, OTHER), refund(3, 8, 5000, 1, OTHER)])).toEqual([]);
    // Within the sale, across terminals: clean.
    expect(overCredit([sale(1, 1, 8000, OTHER), refund(2, 7, 5000, 1, OTHER), refund(3, 2, 3000, 1)])).toEqual([]);
  });

  it('a credit this terminal sent that names no debit the ledger holds is a credit beyond a debit of nothing', () => {
    expect(overCredit([refund(1, 2, 3000, undefined)])).toEqual([
      { invariant: 'no-over-credit', batch: 1, stan: 2, detail: 'refund seq 1 credited 3000 fen and names no original: a credit beyond any debit' },
    ]);
    expect(overCredit([refund(1, 2, 3000, 9)]).map((v) => v.detail)).toEqual(['refund seq 1 credited 3000 fen and names ledger seq 9, which the ledger does not hold: a credit beyond any debit']);
    expect(overCredit([{ ...sale(1, 1, 8000), txn: 'preauth' }, refund(2, 2, 3000, 1)]).map((v) => v.detail)).toEqual(['refund seq 2 credited 3000 fen and names ledger seq 1, a preauth: a credit beyond any debit']);
    // Reversed at the acquirer, it gave nothing; another terminal's is that terminal's.
    expect(overCredit([refund(1, 2, 3000, undefined), reversal(2, 2, 1)])).toEqual([]);
    expect(overCredit([refund(1, 2, 3000, undefined, OTHER)])).toEqual([]);
  });

  it('runs with the other checks, mid-run too: a credit the acquirer holds has reached the card whatever the journal still owes', () => {
    // Journal: sale approved, refund approved, void approved — each agrees with the ledger, so only this check speaks.
    const kinds = (kind: string, stan: number, amount: number) => rec(TerminalRecord.authIntent.name, { stan, batch: 1, kind, amount, currency: '156', maskedPan: '621214*********0006', entryMode: '902', at: '', reversalImage: {} });
    const records = [kinds('sale', 1, 8000), approved(1), kinds('refund', 2, 3000), approved(2), kinds('void', 3, 8000), approved(3)];
    const ledger = [sale(1, 1, 8000), refund(2, 2, 3000, 1), voidOf(3, 3, 8000, 1)];
    for (const mid of [false, true]) expect(check(records, ledger, [], mid)).toEqual(['no-over-credit']);
    // The refund's reversal owed in the journal, not yet at the acquirer: the money is still out.
    const owed = [kinds('sale', 1, 8000), approved(1), kinds('refund', 2, 3000), required(2), kinds('void', 3, 8000), approved(3)];
    expect(check(owed, ledger, [], true)).toEqual(['no-over-credit']);
  });
});
