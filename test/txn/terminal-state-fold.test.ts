// The fold itself, record by record (issue 14, mutation run): the whole state is compared after each step,
// so a fold that moves the wrong total, keeps a finished authorization in flight, forgets a reversal's
// attempts or drops a transaction a lookup still needs shows up here, in microseconds, instead of only
// through the engine.
import { describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { TerminalRecord, type AuthIntent, type AuthKind } from '../../firmware-ts/txn/records.js';
import { addToTotals, emptyTotals, RECENT_CLOSED_TXNS, terminalState, terminalStateFold, type TerminalState } from '../../firmware-ts/txn/terminal-state.js';

const PAN = '621214*********0006';
const IMAGE = { mti: '0200', '11': '000001' };

class Log {
  seq = 0;
  readonly s: TerminalState;
  constructor(readonly fold = terminalState) {
    this.s = fold.initial();
  }
  add(type: { name: string }, payload: object): number {
    const r: JournalRecord = { seq: ++this.seq, type: type.name, payload };
    this.fold.apply(this.s, r);
    return r.seq;
  }
  intent(stan: number, kind: AuthKind = 'sale', amount = 1_000, more: Partial<AuthIntent> = {}): number {
    const p: AuthIntent = { stan, batch: this.s.batch, kind, amount, currency: '156', maskedPan: PAN, entryMode: '052', at: 'T', reversalImage: IMAGE, ...more };
    return this.add(TerminalRecord.authIntent, p);
  }
  approve(stan: number, more: object = { rrn: `R${stan}`, authCode: `A${stan}` }): number {
    return this.add(TerminalRecord.authOutcome, { stan, result: 'approved', responseCode: '00', at: 'T', ...more });
  }
  decline(stan: number): number {
    return this.add(TerminalRecord.authOutcome, { stan, result: 'declined', responseCode: '51', at: 'T' });
  }
  printed(stan: number): number {
    return this.add(TerminalRecord.receiptPrinted, { stan, copies: 'both' });
  }
  reversal(stan: number, reason: '98' | 'A0' | '06' = '98', more: object = {}): number {
    return this.add(TerminalRecord.reversalRequired, { stan, reason, at: 'T', ...more });
  }
  settle(batch = this.s.batch, nextBatch = batch + 1): number {
    return this.add(TerminalRecord.settlementDone, { batch, balanced: true, nextBatch, at: 'T' });
  }
  /** One sale approved and printed: closed, in the batch. */
  closedSale(stan: number, amount = 1_000): number {
    const seq = this.intent(stan, 'sale', amount);
    this.approve(stan);
    this.printed(stan);
    return seq;
  }
}

const totals = (t: Partial<ReturnType<typeof emptyTotals>>) => ({ ...emptyTotals(), ...t });

describe('the terminal fold', () => {
  it('starts at STAN 0, batch 1, nothing open', () => {
    expect(terminalState.initial()).toEqual({
      version: 2,
      stan: 0,
      batch: 1,
      inFlight: {},
      reversals: {},
      pendingReceipts: {},
      batchEntries: {},
      totals: emptyTotals(),
      batchStartSeq: null,
      settlement: null,
      txns: {},
    });
  });

  it('an intent is in flight and starts the batch; an approval moves it to the batch, the totals and the receipt owed', () => {
    const l = new Log();
    const seq = l.intent(5, 'sale', 1_234);
    const second = l.intent(6, 'sale', 10);
    expect(l.s.stan).toBe(6);
    expect(l.s.batchStartSeq).toBe(seq);
    expect(l.s.inFlight).toEqual({ '5': { seq, kind: 'sale', amount: 1_234, maskedPan: PAN }, '6': { seq: second, kind: 'sale', amount: 10, maskedPan: PAN } });
    expect(l.s.txns[seq]).toEqual({ seq, intent: expect.objectContaining({ stan: 5, reversalImage: IMAGE }), printed: false });

    l.approve(5);
    expect(l.s.inFlight).toEqual({ '6': expect.anything() });
    expect(l.s.batchEntries).toEqual({ '5': { seq, kind: 'sale', amount: 1_234 } });
    expect(l.s.pendingReceipts).toEqual({ '5': { seq, kind: 'sale', amount: 1_234 } });
    expect(l.s.totals).toEqual(totals({ saleCount: 1, saleAmount: 1_234 }));
    expect(l.s.txns[seq]!.outcome).toEqual({ result: 'approved', responseCode: '00', rrn: 'R5', authCode: 'A5' });
    // Still reversible until its receipt is out: the image stays.
    expect(l.s.txns[seq]!.intent.reversalImage).toEqual(IMAGE);

    l.printed(5);
    expect(l.s.pendingReceipts).toEqual({});
    expect(l.s.txns[seq]).toMatchObject({ printed: true, intent: { reversalImage: undefined } });
    expect(l.s.batchEntries['5']).toBeDefined();
  });

  it('a decline closes the transaction and moves no money; a reply for nothing in flight changes nothing', () => {
    const l = new Log();
    const seq = l.intent(5);
    l.decline(5);
    expect(l.s.inFlight).toEqual({});
    expect(l.s.batchEntries).toEqual({});
    expect(l.s.pendingReceipts).toEqual({});
    expect(l.s.totals).toEqual(emptyTotals());
    expect(l.s.txns[seq]).toMatchObject({ outcome: { result: 'declined', responseCode: '51' }, intent: { reversalImage: undefined } });
    const before = structuredClone(l.s);
    l.approve(5);
    l.approve(77);
    l.printed(77);
    expect(l.s).toEqual(before);
  });

  it('an outcome without RRN or authorization code keeps neither key', () => {
    const l = new Log();
    const seq = l.intent(5);
    l.approve(5, {});
    expect(Object.keys(l.s.txns[seq]!.outcome!)).toEqual(['result', 'responseCode']);
  });

  it('each kind moves its own totals; a balance inquiry and a pre-authorization move none, and a balance owes no receipt', () => {
    const l = new Log();
    const kinds: [AuthKind, number][] = [['sale', 100], ['preauth-completion', 20], ['refund', 3_000], ['void', 400], ['preauth-void', 5], ['balance', 0], ['preauth', 7_000]];
    kinds.forEach(([kind, amount], i) => {
      l.intent(i + 1, kind, amount);
      l.approve(i + 1);
    });
    expect(l.s.totals).toEqual({ saleCount: 2, saleAmount: 120, refundCount: 1, refundAmount: 3_000, voidCount: 2, voidAmount: 405 });
    expect(Object.keys(l.s.pendingReceipts)).toEqual(['1', '2', '3', '4', '5', '7']);
    expect(l.s.txns[11]!.intent.reversalImage).toBeUndefined();
    const t = emptyTotals();
    addToTotals(t, 'refund', 50, -1);
    addToTotals(t, 'void', 60, -1);
    expect(t).toEqual(totals({ refundCount: -1, refundAmount: -50, voidCount: -1, voidAmount: -60 }));
  });

  it('a receipt that did not print keeps it owed; "may be on paper" once true stays true', () => {
    const l = new Log();
    l.intent(5);
    l.approve(5);
    l.add(TerminalRecord.receiptNotPrinted, { stan: 5, reason: 'paper-end', mayBeOnPaper: false, at: 'T' });
    expect(l.s.pendingReceipts['5']!.mayBeOnPaper).toBe(false);
    l.add(TerminalRecord.receiptNotPrinted, { stan: 5, reason: 'torn', mayBeOnPaper: true, at: 'T' });
    l.add(TerminalRecord.receiptNotPrinted, { stan: 5, reason: 'paper-end', mayBeOnPaper: false, at: 'T' });
    expect(l.s.pendingReceipts['5']!.mayBeOnPaper).toBe(true);
    l.add(TerminalRecord.receiptNotPrinted, { stan: 9, reason: 'paper-end', mayBeOnPaper: true, at: 'T' });
    expect(l.s.pendingReceipts['9']).toBeUndefined();
  });
});

describe('reversals in the fold', () => {
  it('an authorization in flight becomes owed with its card, its attempts counted, not-sent taken back, stuck, then cleared', () => {
    const l = new Log();
    const seq = l.intent(5, 'sale', 900);
    l.reversal(5, '98');
    expect(l.s.inFlight).toEqual({});
    expect(l.s.reversals).toEqual({ '5': { seq, kind: 'sale', amount: 900, maskedPan: PAN, reason: '98', attempts: 0, stuck: false } });
    expect(l.s.txns[seq]!.reversal).toEqual({ reason: '98', state: 'owed', attempts: 0 });

    // A not-sent before any send leaves it at 0 (the next send is still a 0400).
    l.add(TerminalRecord.reversalNotSent, { stan: 5, attempt: 1, detail: 'down', at: 'T' });
    expect(l.s.reversals['5']!.attempts).toBe(0);
    l.add(TerminalRecord.reversalAttempt, { stan: 5, attempt: 1, mti: '0400', at: 'T' });
    l.add(TerminalRecord.reversalAttempt, { stan: 5, attempt: 2, mti: '0401', at: 'T' });
    l.add(TerminalRecord.reversalNotSent, { stan: 5, attempt: 2, detail: 'down', at: 'T' });
    expect(l.s.reversals['5']!.attempts).toBe(1);
    expect(l.s.txns[seq]!.reversal!.attempts).toBe(1);
    l.add(TerminalRecord.reversalAttempt, { stan: 5, attempt: 2, mti: '0401', at: 'T' });
    l.add(TerminalRecord.reversalStuck, { stan: 5, attempts: 2, at: 'T' });
    expect(l.s.reversals['5']).toMatchObject({ attempts: 2, stuck: true });
    expect(l.s.txns[seq]!.reversal).toEqual({ reason: '98', state: 'stuck', attempts: 2 });
    expect(l.fold.oldestOpenSeq(l.s)).toBe(seq);

    l.add(TerminalRecord.reversalCleared, { stan: 5, responseCode: '25', at: 'T' });
    expect(l.s.reversals).toEqual({});
    expect(l.s.txns[seq]!.reversal).toEqual({ reason: '98', state: 'cleared', attempts: 2, responseCode: '25' });
    expect(l.s.txns[seq]!.intent.reversalImage).toBeUndefined();
    expect(l.s.totals).toEqual(emptyTotals());
  });

  it('a supervisor close takes it out of the open set with the reason; records for a STAN not owed do nothing', () => {
    const l = new Log();
    const seq = l.intent(5);
    l.reversal(5, 'A0');
    l.add(TerminalRecord.reversalClosed, { stan: 5, reason: 'host confirmed by phone', at: 'T' });
    expect(l.s.reversals).toEqual({});
    expect(l.s.txns[seq]!.reversal).toEqual({ reason: 'A0', state: 'closed', attempts: 0, closedReason: 'host confirmed by phone' });
    expect(l.s.txns[seq]!.intent.reversalImage).toBeUndefined();
    const before = structuredClone(l.s);
    l.add(TerminalRecord.reversalCleared, { stan: 5, responseCode: '00', at: 'T' });
    l.add(TerminalRecord.reversalClosed, { stan: 5, reason: 'again', at: 'T' });
    l.add(TerminalRecord.reversalNotSent, { stan: 5, attempt: 1, detail: 'x', at: 'T' });
    expect(l.s).toEqual(before);
  });

  it('an approval refused afterwards (06) undoes its totals and its receipt and names the card from the record', () => {
    const l = new Log();
    const seq = l.intent(5, 'refund', 700);
    l.approve(5);
    expect(l.s.totals).toEqual(totals({ refundCount: 1, refundAmount: 700 }));
    l.reversal(5, '06', { maskedPan: '622202******1234' });
    expect(l.s.totals).toEqual(emptyTotals());
    expect(l.s.batchEntries).toEqual({});
    expect(l.s.pendingReceipts).toEqual({});
    expect(l.s.reversals['5']).toEqual({ seq, kind: 'refund', amount: 700, maskedPan: '622202******1234', reason: '06', attempts: 0, stuck: false });

    const l2 = new Log();
    l2.intent(6);
    l2.approve(6);
    l2.reversal(6, '06');
    expect(l2.s.reversals['6']!.maskedPan).toBe('');
  });

  it('a void uses up its sale; the void reversed gives the sale back; the newest transaction with the STAN is the one', () => {
    const l = new Log();
    const old = l.closedSale(3);
    l.settle();
    const sale = l.closedSale(3);
    l.intent(4, 'void', 1_000, { original: { stan: 3 } });
    l.approve(4);
    expect(l.s.txns[sale]!.consumedBy).toBe(4);
    expect(l.s.txns[old]!.consumedBy).toBeUndefined();
    expect(l.s.totals).toEqual(totals({ saleCount: 1, saleAmount: 1_000, voidCount: 1, voidAmount: 1_000 }));
    l.reversal(4, '06');
    expect(l.s.txns[sale]!.consumedBy).toBeUndefined();

    // A completion consumes its pre-authorization likewise; a sale naming an original consumes nothing.
    const pre = l.intent(8, 'preauth', 5_000);
    l.approve(8);
    l.intent(9, 'preauth-completion', 4_000, { original: { stan: 8 } });
    l.approve(9);
    expect(l.s.txns[pre]!.consumedBy).toBe(9);
    l.intent(10, 'sale', 1, { original: { stan: 8 } });
    l.approve(10);
    expect(l.s.txns[pre]!.consumedBy).toBe(9);
  });

  it('the original is looked for before the void: a transaction with the same STAN after it (a wrapped counter) is not it', () => {
    const l = new Log();
    const sale = l.closedSale(3);
    l.intent(4, 'void', 1_000, { original: { stan: 3 } });
    const wrapped = l.intent(3, 'sale', 5);
    l.approve(4);
    expect(l.s.txns[sale]!.consumedBy).toBe(4);
    expect(l.s.txns[wrapped]!.consumedBy).toBeUndefined();
  });

  it('a completion names its pre-authorization by RRN too: after the STAN wrapped, a newer sale with that STAN is not used up', () => {
    const l = new Log();
    const pre = l.intent(8, 'preauth', 5_000);
    l.approve(8);
    l.printed(8);
    // 999,999 transactions later the counter is back at 8: a sale takes it, with its own RRN.
    const wrapped = l.intent(8, 'sale', 1_000);
    l.approve(8, { rrn: 'R8-wrapped', authCode: 'A8' });
    l.printed(8);
    l.intent(9, 'preauth-completion', 4_000, { original: { stan: 8, rrn: 'R8' } });
    l.approve(9);
    expect(l.s.txns[pre]!.consumedBy).toBe(9);
    expect(l.s.txns[wrapped]!.consumedBy).toBeUndefined();
    // A record that names no RRN (an original the host gave none) still finds the newest with the STAN.
    l.intent(10, 'void', 1_000, { original: { stan: 8 } });
    l.approve(10);
    expect(l.s.txns[wrapped]!.consumedBy).toBe(10);
    // And its reversal gives back only what it used up.
    l.reversal(9, '06');
    expect(l.s.txns[pre]!.consumedBy).toBeUndefined();
    expect(l.s.txns[wrapped]!.consumedBy).toBe(10);
  });

  it('a void or completion whose original the fold no longer holds consumes nothing and does not throw', () => {
    const l = new Log();
    l.intent(4, 'void', 1_000, { original: { stan: 3 } });
    l.approve(4);
    l.reversal(4, '06');
    expect(l.s.totals).toEqual(emptyTotals());
    expect(Object.values(l.s.txns).some((v) => v.consumedBy !== undefined)).toBe(false);
  });

  it('the reversal of a void that did not consume the sale leaves the consumer as it is', () => {
    const l = new Log();
    const sale = l.closedSale(3);
    l.intent(4, 'void', 1_000, { original: { stan: 3 } });
    l.approve(4);
    l.intent(5, 'preauth-void', 1_000, { original: { stan: 3 } });
    l.approve(5);
    expect(l.s.txns[sale]!.consumedBy).toBe(5);
    l.reversal(4, '06');
    expect(l.s.txns[sale]!.consumedBy).toBe(5);
  });
});

describe('settlement in the fold', () => {
  it('a step is recorded; done for another batch is ignored; done for this one empties the batch and moves it on', () => {
    const l = new Log();
    l.closedSale(1);
    l.add(TerminalRecord.stanAllocated, { stan: 40, purpose: 'sign-on', at: 'T' });
    expect(l.s.stan).toBe(40);
    l.add(TerminalRecord.settlementStep, { batch: 1, step: 'totals-sent', at: 'T' });
    expect(l.s.settlement).toEqual({ batch: 1, step: 'totals-sent' });
    const before = structuredClone(l.s);
    l.settle(2, 3);
    expect(l.s).toEqual(before);
    l.settle(1, 2);
    expect(l.s).toMatchObject({ batch: 2, totals: emptyTotals(), batchEntries: {}, batchStartSeq: null, settlement: null, stan: 40 });
    expect(l.fold.oldestOpenSeq(l.s)).toBeNull();
  });

  it(`keeps every open transaction and the ${RECENT_CLOSED_TXNS} newest closed ones; the whole-journal fold keeps all`, () => {
    const recent = new Log();
    const all = new Log(terminalStateFold('all'));
    let owed = 0;
    for (const l of [recent, all]) {
      l.closedSale(1);
      l.closedSale(2);
      owed = l.intent(3);
      l.reversal(3);
      for (let stan = 4; stan <= RECENT_CLOSED_TXNS + 3; stan++) l.closedSale(stan);
      l.settle();
    }
    const stans = Object.values(recent.s.txns).map((v) => v.intent.stan);
    expect(stans).toHaveLength(RECENT_CLOSED_TXNS + 1);
    // The two oldest closed sales (STAN 1 and 2, the very first included) went; the owed one and the newest stayed.
    expect(stans).not.toContain(1);
    expect(stans).not.toContain(2);
    expect(recent.s.txns[owed]).toBeDefined();
    expect(stans).toContain(4);
    expect(Object.keys(all.s.txns)).toHaveLength(RECENT_CLOSED_TXNS + 3);
  });
});

describe('what retention and boot see', () => {
  it('the oldest open seq is the lowest of the batch start, in flight, owed reversals and owed receipts', () => {
    const l = new Log();
    const a = l.closedSale(1);
    expect(l.fold.oldestOpenSeq(l.s)).toBe(a);
    l.settle();
    const owedReceipt = l.intent(2);
    l.approve(2);
    l.settle();
    expect(l.fold.oldestOpenSeq(l.s)).toBe(owedReceipt);
    const reversal = l.intent(3);
    l.reversal(3);
    const inFlight = l.intent(4);
    expect(l.s.batchStartSeq).toBe(reversal);
    l.settle();
    expect(l.fold.oldestOpenSeq(l.s)).toBe(owedReceipt);
    l.printed(2);
    expect(l.fold.oldestOpenSeq(l.s)).toBe(reversal);
    l.add(TerminalRecord.reversalCleared, { stan: 3, responseCode: '00', at: 'T' });
    expect(l.fold.oldestOpenSeq(l.s)).toBe(inFlight);
    // Newer obligations of a later kind do not move the oldest back up.
    l.approve(4);
    const reversal2 = l.intent(5);
    l.reversal(5);
    l.settle();
    l.intent(6);
    l.approve(6);
    expect(Object.keys(l.s.pendingReceipts)).toEqual(['4', '6']);
    expect(l.fold.oldestOpenSeq(l.s)).toBe(inFlight);
    l.printed(4);
    expect(l.fold.oldestOpenSeq(l.s)).toBe(reversal2);
  });

  it('after a checkpoint of a build before `txns`, every record still folds (open obligations and totals right, no views to update)', () => {
    // What boot replays behind an old checkpoint, before the opener rebuilds the views (txn-history.ts).
    const before = new Log();
    before.intent(1);
    before.intent(2);
    before.intent(3, 'void', 500, { original: { stan: 9 } });
    before.intent(4);
    before.approve(4);
    before.intent(5);
    before.reversal(5);
    const { txns: _txns, version: _version, ...old } = JSON.parse(JSON.stringify(terminalState.toCheckpoint(before.s))) as Record<string, unknown>;
    const s = terminalState.fromCheckpoint(old);
    expect(s).toMatchObject({ version: 1, txns: {} });
    const l = new Log();
    Object.assign(l.s, s);
    l.seq = before.seq;
    l.approve(1);
    l.printed(1);
    l.reversal(2);
    l.approve(3);
    l.reversal(3, '06');
    l.reversal(4, '06');
    for (const stan of [2, 5]) {
      l.add(TerminalRecord.reversalAttempt, { stan, attempt: 1, mti: '0400', at: 'T' });
      l.add(TerminalRecord.reversalNotSent, { stan, attempt: 1, detail: 'down', at: 'T' });
      l.add(TerminalRecord.reversalAttempt, { stan, attempt: 1, mti: '0400', at: 'T' });
      l.add(TerminalRecord.reversalStuck, { stan, attempts: 1, at: 'T' });
    }
    l.add(TerminalRecord.reversalCleared, { stan: 2, responseCode: '00', at: 'T' });
    l.add(TerminalRecord.reversalClosed, { stan: 5, reason: 'phoned the acquirer', at: 'T' });
    expect(l.s.txns).toEqual({});
    expect(l.s.totals).toEqual(totals({ saleCount: 1, saleAmount: 1_000 }));
    expect(Object.keys(l.s.batchEntries)).toEqual(['1']);
    expect(l.s.pendingReceipts).toEqual({});
    expect(Object.keys(l.s.reversals)).toEqual(['3', '4']);
  });

  it('a checkpoint reads back as the same state; one from before `txns` says version 1 and has none', () => {
    const l = new Log();
    l.closedSale(1);
    l.intent(2);
    l.reversal(2);
    const snap = JSON.parse(JSON.stringify(terminalState.toCheckpoint(l.s)));
    expect(terminalState.fromCheckpoint(snap)).toEqual(l.s);
    const { txns: _dropped, ...old } = snap as Record<string, unknown>;
    expect(terminalState.fromCheckpoint(old)).toMatchObject({ version: 1, txns: {}, stan: 2 });
    const { version: _v, ...noVersion } = snap as Record<string, unknown>;
    expect(terminalState.fromCheckpoint(noVersion)).toMatchObject({ version: 1, txns: {} });
    // The state read back is its own: changing it leaves the snapshot as it was.
    const back = terminalState.fromCheckpoint(snap);
    back.totals.saleCount = 99;
    expect((snap as TerminalState).totals.saleCount).toBe(1);
  });
});
