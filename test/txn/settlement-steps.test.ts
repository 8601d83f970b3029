// Settlement step by step against a scripted acquirer (issue 14, mutation run): what it refuses, the
// totals the 0500 carries (a voided sale is no debit, a refund a credit, pre-authorizations and balance
// inquiries nothing), each upload's content, the STANs, the record count of the batch end, every way an
// answer can fail, and a resume that re-sends exactly the message that was in flight.
import { describe, expect, it } from 'vitest';
import { AcquirerLinkError, type ExchangeResult } from '../../firmware-ts/acquirer/exchange-result.js';
import type { AcquirerLink } from '../../firmware-ts/acquirer/link.js';
import { TerminalRecord, type AuthKind } from '../../firmware-ts/txn/records.js';
import { MAX_BATCH, MAX_STAN, nextStan, Settlement, SettlementError } from '../../firmware-ts/txn/settlement.js';
import { reconciliation, settlementReceipt } from '../../firmware-ts/txn/settlement-reconciliation.js';
import { applySettlementStep } from '../../firmware-ts/txn/settlement-records.js';
import { batchCount, batchIsFull, batchLimitPolicy, BatchLimitConfigError } from '../../firmware-ts/txn/batch-limit.js';
import { terminalState } from '../../firmware-ts/txn/terminal-state.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import { openTerminalJournal, type TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { field48Totals, message, textField, type IsoMessage } from '../../protocol/iso8583/index.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { ID } from '../acquirer/harness.js';

const KEY = Buffer.alloc(32, 4);

type Answer = ExchangeResult | { throws: Error };
const ok = (fields: Record<number, string> = {}): ExchangeResult => ({ kind: 'response', message: message('0510', { 39: '00', ...fields }), envelope: {} as never });
const zero = { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 };
const totalsAnswer = (result: '1' | '2' | '0' | '3', t = { debitAmount: 0n, debitCount: 0, creditAmount: 0n, creditCount: 0 }) => ok({ 48: field48Totals(t, result) });

class SettleRig {
  readonly clock = new ManualClock();
  readonly disk = new SimDisk();
  journal!: TerminalJournal;
  sent: IsoMessage[] = [];
  answers: Answer[] = [];
  private stan = 0;

  async open(): Promise<this> {
    this.journal = await openTerminalJournal({ dir: '/j', deviceKey: KEY, storage: this.disk, segmentBytes: 64 * 1024 });
    return this;
  }

  settlement(): Settlement {
    const link = {
      exchange: async (req: IsoMessage) => {
        this.sent.push(req);
        const a = this.answers.shift() ?? ok();
        if ('throws' in a) throw a.throws;
        return a;
      },
    } as unknown as AcquirerLink;
    return new Settlement({ journal: this.journal, link, clock: this.clock, identity: ID, storage: this.disk });
  }

  /** An authorization of the open batch, approved (with RRN and code) unless said otherwise. */
  async txn(kind: AuthKind, amount: number, opts: { approved?: boolean; original?: number; authCode?: boolean } = {}): Promise<number> {
    const stan = ++this.stan;
    const intent = { stan, batch: this.journal.state.batch, kind, amount, currency: '156', maskedPan: '621214*********0006', entryMode: '052', at: 'T', reversalImage: {}, ...(opts.original ? { original: { stan: opts.original } } : {}) };
    await this.journal.append([{ type: TerminalRecord.authIntent.name, payload: intent }], { durable: true });
    const approved = opts.approved ?? true;
    const outcome = { stan, result: approved ? 'approved' : 'declined', responseCode: approved ? '00' : '51', ...(approved ? { rrn: `RRN${String(stan).padStart(9, '0')}` } : {}), ...(approved && opts.authCode !== false ? { authCode: `A${stan}` } : {}), at: 'T' };
    await this.journal.append([{ type: TerminalRecord.authOutcome.name, payload: outcome }], { durable: true });
    return stan;
  }

  async settle() {
    return this.settlement().settle();
  }

  field(i: number, n: number) {
    return textField(this.sent[i]!, n);
  }
}

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as SettlementError;
  }
  throw new Error('settlement did not fail');
};

describe('what settlement refuses', () => {
  it('while a reversal is owed (naming its STAN) or an authorization is in flight; nothing is sent or written', async () => {
    const rig = await new SettleRig().open();
    await rig.journal.append([{ type: TerminalRecord.authIntent.name, payload: { stan: 7, batch: 1, kind: 'sale', amount: 5, currency: '156', maskedPan: 'x', entryMode: '052', at: 'T', reversalImage: {} } }], { durable: true });
    expect(await failure(rig.settle())).toMatchObject({ code: 'SETTLEMENT_IN_FLIGHT', message: 'an authorization is in flight: settle after it ends' });
    await rig.journal.append([{ type: TerminalRecord.authIntent.name, payload: { stan: 8, batch: 1, kind: 'sale', amount: 5, currency: '156', maskedPan: 'x', entryMode: '052', at: 'T', reversalImage: {} } }], { durable: true });
    await rig.journal.append([{ type: TerminalRecord.reversalRequired.name, payload: { stan: 7, reason: '98', at: 'T' } }], { durable: true });
    await rig.journal.append([{ type: TerminalRecord.reversalRequired.name, payload: { stan: 8, reason: '98', at: 'T' } }], { durable: true });
    const e = await failure(rig.settle());
    expect(e).toBeInstanceOf(SettlementError);
    expect(e).toMatchObject({ code: 'SETTLEMENT_REVERSALS_OWED', name: 'SettlementError' });
    expect(e.message).toMatch(/^reversals owed for STAN 7, 8:/);
    expect(rig.sent).toEqual([]);
    expect(rig.journal.state.settlementRun).toBeNull();
  });
});

describe('a balanced batch', () => {
  it('sends the totals the acquirer counts, then the batch end with no uploads; the batch moves on', async () => {
    const rig = await new SettleRig().open();
    const sale = await rig.txn('sale', 1_000);
    await rig.txn('sale', 2_000);
    await rig.txn('void', 1_000, { original: sale });
    await rig.txn('refund', 300);
    await rig.txn('preauth-completion', 450);
    await rig.txn('preauth', 9_999);
    await rig.txn('balance', 0);
    await rig.txn('sale', 77, { approved: false });
    const before = rig.journal.state.stan;
    rig.answers = [totalsAnswer('1')];
    const r = await rig.settle();
    expect(r).toMatchObject({ batch: 1, nextBatch: 2, balanced: true, uploaded: 0 });
    expect(rig.sent.map((m) => m.mti)).toEqual(['0500', '0320']);
    // Debits: the sale of 2,000 and the completion; the voided sale and the void itself are not counted.
    expect(rig.field(0, 48)).toBe(field48Totals({ debitAmount: 2_450n, debitCount: 2, creditAmount: 300n, creditCount: 1 }));
    expect(r.report.byCardType.domestic.terminal).toEqual({ debitCount: 2, debitAmount: 2_450, creditCount: 1, creditAmount: 300 });
    // Balanced: the acquirer's side is the terminal's.
    expect(r.report.byCardType.domestic.difference).toEqual({ debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 });
    expect(rig.field(0, 11)).toBe(String(nextStan(before)).padStart(6, '0'));
    expect(rig.field(1, 11)).toBe(String(nextStan(before + 1)).padStart(6, '0'));
    expect(rig.field(1, 48)).toBe('0000');
    const end = readTerminalRecords(rig.journal, rig.disk).filter((x) => x.type === TerminalRecord.settlementStep.name).at(-1)!.payload;
    expect(end).toMatchObject({ step: 'batch-end', records: 0 });
    expect(rig.journal.state).toMatchObject({ batch: 2, settlementRun: null, stan: before + 2, batchEntries: {} });
    expect(rig.journal.state.lastSettlement).toMatchObject({ batch: 1, balanced: true, uploaded: 0, at: new Date(rig.clock.now()).toISOString() });
    expect(r.report.byCardType.foreign).toEqual({ terminal: zero, acquirer: zero, difference: zero });
  });

  it('a void that was declined, and a refund of a sale of this batch, leave the sale a debit', async () => {
    const rig = await new SettleRig().open();
    const sale = await rig.txn('sale', 1_000);
    await rig.txn('void', 1_000, { original: sale, approved: false });
    await rig.txn('refund', 400, { original: sale });
    rig.answers = [totalsAnswer('1')];
    const r = await rig.settle();
    expect(r.report.byCardType.domestic.terminal).toEqual({ debitCount: 1, debitAmount: 1_000, creditCount: 1, creditAmount: 400 });
  });

  it('an empty batch settles too, with zero totals', async () => {
    const rig = await new SettleRig().open();
    rig.answers = [totalsAnswer('1')];
    expect(await rig.settle()).toMatchObject({ batch: 1, nextBatch: 2, balanced: true });
    expect(rig.field(0, 48)).toBe(field48Totals({ debitAmount: 0n, debitCount: 0, creditAmount: 0n, creditCount: 0 }));
  });
});

describe('an unbalanced batch', () => {
  it('uploads every approved money transaction, oldest STAN first, then the batch end counting them', async () => {
    const rig = await new SettleRig().open();
    const a = await rig.txn('sale', 1_000);
    const b = await rig.txn('refund', 250, { authCode: false });
    await rig.txn('balance', 0);
    await rig.txn('preauth', 500);
    const acquirer = { debitAmount: 900n, debitCount: 1, creditAmount: 250n, creditCount: 1 };
    rig.answers = [totalsAnswer('2', acquirer)];
    const r = await rig.settle();
    expect(r).toMatchObject({ balanced: false, uploaded: 2 });
    expect(r.report.byCardType.domestic.acquirer).toEqual({ debitCount: 1, debitAmount: 900, creditCount: 1, creditAmount: 250 });
    expect(r.report.byCardType.domestic.difference).toEqual({ debitCount: 0, debitAmount: 100, creditCount: 0, creditAmount: 0 });
    expect(rig.sent.map((m) => m.mti)).toEqual(['0500', '0320', '0320', '0320']);
    const upload = (i: number) => [3, 4, 37, 38, 61].map((n) => rig.field(i, n));
    expect(upload(1)).toEqual(['000000', '000000001000', `RRN00000000${a}`, `A${a}`, expect.stringMatching(new RegExp(`^000001${String(a).padStart(6, '0')}`))]);
    expect(upload(2)).toEqual(['200000', '000000000250', `RRN00000000${b}`, undefined, expect.stringMatching(new RegExp(`^000001${String(b).padStart(6, '0')}`))]);
    // Each message its own STAN, one after the other.
    const stans = rig.sent.map((m) => Number(textField(m, 11)));
    expect(stans).toEqual([stans[0], stans[0]! + 1, stans[0]! + 2, stans[0]! + 3]);
    expect(rig.field(3, 48)).toBe('0002');
    const steps = readTerminalRecords(rig.journal, rig.disk).filter((x) => x.type === TerminalRecord.settlementStep.name).map((x) => x.payload as { step: string; records?: number });
    expect(steps.map((x) => x.step)).toEqual(['started', 'totals-sent', 'upload', 'upload', 'batch-end']);
    expect(steps.at(-1)!.records).toBe(2);
    expect(rig.journal.state.lastSettlement).toMatchObject({ balanced: false, uploaded: 2 });
  });

  it('an empty batch the acquirer says holds a sale (one only it saw) uploads nothing and ends the batch, the difference reported', async () => {
    const rig = await new SettleRig().open();
    rig.answers = [totalsAnswer('2', { debitAmount: 900n, debitCount: 1, creditAmount: 0n, creditCount: 0 })];
    const r = await rig.settle();
    expect(r).toMatchObject({ balanced: false, uploaded: 0, nextBatch: 2 });
    expect(r.report.byCardType.domestic.difference).toEqual({ debitCount: -1, debitAmount: -900, creditCount: 0, creditAmount: 0 });
    expect(rig.sent.map((m) => [m.mti, textField(m, 48)?.length])).toEqual([['0500', 62], ['0320', 4]]);
    expect(rig.field(1, 48)).toBe('0000');
  });

  it('an upload that gets no answer stops; settling again re-sends that one (same STAN) and not the confirmed ones', async () => {
    const rig = await new SettleRig().open();
    await rig.txn('sale', 100);
    await rig.txn('sale', 200);
    await rig.txn('sale', 300);
    rig.answers = [totalsAnswer('2'), ok(), { kind: 'timeout' }];
    const e = await failure(rig.settle());
    expect(e).toMatchObject({ code: 'SETTLEMENT_NO_ANSWER', step: 'upload' });
    expect(e.message).toBe('0320 (upload): no answer in time; settle again to resume');
    const lost = rig.sent[2]!;
    expect(rig.journal.state.settlementRun).toMatchObject({ step: 'upload', uploaded: [1], uploading: 2 });

    rig.sent = [];
    rig.answers = [];
    const r = await rig.settle();
    expect(r).toMatchObject({ balanced: false, uploaded: 3 });
    // The lost upload again with its STAN, then the third, then the batch end counting all three.
    expect(rig.sent.map((m) => [m.mti, textField(m, 4) ?? textField(m, 48)])).toEqual([['0320', '000000000200'], ['0320', '000000000300'], ['0320', '0003']]);
    expect(textField(rig.sent[0]!, 11)).toBe(textField(lost, 11));
  });

  it('a batch end written ahead while an upload was still unconfirmed counts that upload', async () => {
    const rig = await new SettleRig().open();
    await rig.txn('sale', 100);
    await rig.txn('sale', 200);
    rig.answers = [totalsAnswer('2'), ok(), ok(), { kind: 'timeout' }];
    await failure(rig.settle());
    const steps = readTerminalRecords(rig.journal, rig.disk).filter((x) => x.type === TerminalRecord.settlementStep.name).map((x) => x.payload as { step: string; records?: number });
    expect(steps.at(-1)).toMatchObject({ step: 'batch-end', records: 2 });
  });

  it('an upload written ahead for a transaction that is no longer in the batch is skipped on resume', async () => {
    const rig = await new SettleRig().open();
    await rig.txn('sale', 100);
    const side = { debitCount: 1, debitAmount: 100, creditCount: 0, creditAmount: 0 };
    const step = (p: object) => rig.journal.append([{ type: TerminalRecord.settlementStep.name, payload: { batch: 1, at: 'T', ...p } }], { durable: true });
    await step({ step: 'started', stan: 10, terminal: side });
    await step({ step: 'totals-sent', balanced: false, acquirer: zero });
    await step({ step: 'upload', stan: 11, entryStan: 99 });
    const r = await rig.settle();
    expect(r).toMatchObject({ balanced: false, uploaded: 2 });
    expect(rig.sent.map((m) => [m.mti, textField(m, 4) ?? textField(m, 48)])).toEqual([['0320', '000000000100'], ['0320', '0002']]);
  });

  it('a lost answer to the batch end resumes with the batch end alone', async () => {
    const rig = await new SettleRig().open();
    await rig.txn('sale', 100);
    rig.answers = [totalsAnswer('2'), ok(), { kind: 'reset', detail: 'peer closed' }];
    const e = await failure(rig.settle());
    expect(e).toMatchObject({ code: 'SETTLEMENT_NO_ANSWER', step: 'batch-end', message: '0320 (batch-end): peer closed; settle again to resume' });
    const end = rig.sent[2]!;
    rig.sent = [];
    expect(await rig.settle()).toMatchObject({ batch: 1, balanced: false, uploaded: 1 });
    expect(rig.sent.map((m) => [textField(m, 11), textField(m, 48)])).toEqual([[textField(end, 11), '0001']]);
  });
});

describe('answers that stop it', () => {
  it('a settlement result that is neither balanced nor unbalanced, a decline, no code, a bad MAC, no MAC key', async () => {
    const cases: [Answer, string, string][] = [
      [totalsAnswer('3'), 'SETTLEMENT_DECLINED', 'the acquirer answered settlement result 3 (error)'],
      [totalsAnswer('0'), 'SETTLEMENT_DECLINED', 'the acquirer answered settlement result 0 (error)'],
      [ok({ 39: '96' }), 'SETTLEMENT_DECLINED', '0500 (started) answered 96'],
      [{ kind: 'response', message: message('0510', {}), envelope: {} as never }, 'SETTLEMENT_DECLINED', '0500 (started) answered without a response code'],
      [{ kind: 'mac-failed', message: message('0510', {}) }, 'SETTLEMENT_NO_ANSWER', '0500 (started): the answer failed its MAC; settle again to resume'],
      [{ kind: 'connect-failed', detail: 'ECONNREFUSED' }, 'SETTLEMENT_NO_ANSWER', '0500 (started): ECONNREFUSED; settle again to resume'],
      [{ throws: new AcquirerLinkError('no-mac-key', 'no key') }, 'SETTLEMENT_NOT_SIGNED_ON', 'not signed on: settlement messages need the MAC key'],
    ];
    for (const [answer, code, text] of cases) {
      const rig = await new SettleRig().open();
      await rig.txn('sale', 100);
      rig.answers = [answer];
      const e = await failure(rig.settle());
      expect([e.code, e.message, e.step]).toEqual([code, text, 'started']);
      expect(rig.journal.state.batch).toBe(1);
    }
  });

  it('a closed link is not a missing key: the link error itself comes out', async () => {
    const rig = await new SettleRig().open();
    rig.answers = [{ throws: new AcquirerLinkError('closed', 'the acquirer link is closed') }];
    const e = await failure(rig.settle());
    expect(e).toBeInstanceOf(AcquirerLinkError);
  });
});

describe('the report and the step records', () => {
  it('the printed report: sales and refunds as the terminal counted them, the acquirer\'s count and net', () => {
    const report = reconciliation(3, false, { debitCount: 4, debitAmount: 9_000, creditCount: 1, creditAmount: 500 }, { debitCount: 3, debitAmount: 8_000, creditCount: 2, creditAmount: 700 }, 5);
    expect(report.byCardType.domestic.difference).toEqual({ debitCount: 1, debitAmount: 1_000, creditCount: -1, creditAmount: -200 });
    const slip = settlementReceipt(report, { name: 'Shop', merchantId: ID.merchantId, terminalId: ID.terminalId }, '2026-12-01 18:00:00');
    expect(slip).toEqual({
      kind: 'settlement',
      merchant: { name: 'Shop', merchantId: ID.merchantId, terminalId: ID.terminalId },
      batch: 3,
      localTime: '2026-12-01 18:00:00',
      rows: [
        { type: 'sale', count: 4, amountMinor: 9_000 },
        { type: 'refund', count: 1, amountMinor: 500 },
      ],
      acquirerTotals: { count: 5, netAmountMinor: 7_300 },
    });
  });

  it('a step record of another batch leaves the settlement under way as it is', () => {
    const run = applySettlementStep(null, { step: 'started', batch: 1, stan: 5, terminal: zero, at: 'T' });
    const before = structuredClone(run);
    expect(applySettlementStep(run, { step: 'upload', batch: 2, stan: 6, entryStan: 1, at: 'T' })).toEqual(before);
    expect(applySettlementStep(null, { step: 'upload', batch: 1, stan: 6, entryStan: 1, at: 'T' })).toBeNull();
  });
});

describe('the batch limit', () => {
  it('counts sales, completions and refunds, approved or in flight; not balance inquiries, pre-authorizations or voids', () => {
    const l = terminalState.initial();
    let seq = 0;
    const add = (type: string, payload: object) => terminalState.apply(l, { seq: ++seq, type, payload });
    const kinds: AuthKind[] = ['sale', 'refund', 'preauth-completion', 'balance', 'preauth', 'void'];
    kinds.forEach((kind, i) => {
      add(TerminalRecord.authIntent.name, { stan: i + 1, batch: 1, kind, amount: 1, currency: '156', maskedPan: 'x', entryMode: '052', at: 'T', reversalImage: {} });
      add(TerminalRecord.authOutcome.name, { stan: i + 1, result: 'approved', responseCode: '00', at: 'T' });
    });
    expect(batchCount(l)).toBe(3);
    add(TerminalRecord.authIntent.name, { stan: 20, batch: 1, kind: 'sale', amount: 1, currency: '156', maskedPan: 'x', entryMode: '052', at: 'T', reversalImage: {} });
    add(TerminalRecord.authIntent.name, { stan: 21, batch: 1, kind: 'balance', amount: 0, currency: '156', maskedPan: 'x', entryMode: '052', at: 'T', reversalImage: {} });
    expect(batchCount(l)).toBe(4);
    expect(batchIsFull(l, 'sale', batchLimitPolicy({ limit: 4 }))).toBe(true);
    expect(batchIsFull(l, 'sale', batchLimitPolicy({ limit: 5 }))).toBe(false);
    expect(batchIsFull(l, 'void', batchLimitPolicy({ limit: 1 }))).toBe(false);
  });

  it('a limit of 1 is allowed; 0, a fraction or more than field 48 counts is a configuration error', () => {
    expect(batchLimitPolicy({ limit: 1 })).toEqual({ limit: 1, autoSettle: false });
    for (const limit of [0, 1.5, 1_000]) expect(() => batchLimitPolicy({ limit })).toThrow(BatchLimitConfigError);
    expect(() => batchLimitPolicy({ limit: 0 })).toThrow(expect.objectContaining({ name: 'BatchLimitConfigError' }));
  });
});

describe('counters', () => {
  it('STAN and batch wrap past 999999 to 1', () => {
    expect([nextStan(1), nextStan(MAX_STAN - 1), nextStan(MAX_STAN)]).toEqual([2, MAX_STAN, 1]);
  });

  it('the batch after 999999 is 1', async () => {
    const rig = await new SettleRig().open();
    await rig.journal.append([{ type: TerminalRecord.settlementStep.name, payload: { step: 'started', batch: 1, stan: 1, terminal: { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 }, at: 'T' } }], { durable: true });
    await rig.journal.append([{ type: TerminalRecord.settlementDone.name, payload: { batch: 1, balanced: true, nextBatch: MAX_BATCH, at: 'T' } }], { durable: true });
    rig.answers = [totalsAnswer('1')];
    expect(await rig.settle()).toMatchObject({ batch: MAX_BATCH, nextBatch: 1 });
  });
});
