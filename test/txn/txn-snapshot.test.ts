// The checkpoint form of the fold's transactions on its own (issue 14, mutation run; JOURNAL_FORMAT §6.1):
// the exact rows written for each shape of outcome and intent, and decoding back to exactly the views — a
// zero amount kept, absent fields left absent, a field of a newer record version carried through.
import { describe, expect, it } from 'vitest';
import type { TxnView } from '../../firmware-ts/txn/terminal-state.js';
import { decodeTxns, encodeTxns } from '../../firmware-ts/txn/txn-snapshot.js';

const intent = {
  stan: 12,
  batch: 3,
  kind: 'void',
  amount: 1_500,
  currency: '156',
  maskedPan: '622202******1234',
  entryMode: '051',
  at: '2026-01-02T03:04:05.000Z',
  requestId: 'pos-7:41',
  original: { stan: 11, rrn: '000000000011', authCode: 'A1B2C3' },
  reversalImage: { '3': '200000', '4': '000000001500' },
} as const;

const roundTrip = (txns: Record<string, TxnView>) => decodeTxns(JSON.parse(JSON.stringify(encodeTxns(txns))));

describe('txns in a checkpoint', () => {
  it('every field of a transaction, in its place', () => {
    const v: TxnView = {
      seq: 40,
      intent: { ...intent, original: { ...intent.original }, reversalImage: { ...intent.reversalImage } },
      outcome: { result: 'approved', responseCode: '00', rrn: '000000000012', authCode: 'X9Y8Z7' },
      reversal: { reason: '98', state: 'cleared', attempts: 2, responseCode: '00' },
      printed: true,
      consumedBy: 15,
    };
    const rows = encodeTxns({ 40: v });
    expect(rows).toEqual([
      [
        40,
        [12, 3, 'void', 1_500, '156', '622202******1234', '051', '2026-01-02T03:04:05.000Z', 'pos-7:41', intent.original, intent.reversalImage],
        [1, '00', '000000000012', 'X9Y8Z7'],
        { reason: '98', state: 'cleared', attempts: 2, responseCode: '00' },
        1,
        15,
      ],
    ]);
    expect(roundTrip({ 40: v })).toEqual({ 40: v });
  });

  it('a decline: outcome [0, code], no reversal, not printed, not consumed; absent trailing fields left out', () => {
    const { requestId: _r, original: _o, reversalImage: _i, ...plain } = intent;
    const v: TxnView = { seq: 7, intent: { ...plain, kind: 'sale' }, outcome: { result: 'declined', responseCode: '51' }, printed: false };
    expect(encodeTxns({ 7: v })).toEqual([[7, [12, 3, 'sale', 1_500, '156', '622202******1234', '051', '2026-01-02T03:04:05.000Z'], [0, '51'], 0, 0, 0]]);
    const back = roundTrip({ 7: v });
    expect(back).toEqual({ 7: v });
    expect(Object.keys(back[7]!)).toEqual(['seq', 'intent', 'printed', 'outcome']);
    expect(Object.keys(back[7]!.intent)).toEqual(['stan', 'batch', 'kind', 'amount', 'currency', 'maskedPan', 'entryMode', 'at']);
  });

  it('an outcome with an RRN and no auth code, and one with an auth code and no RRN', () => {
    const base = { seq: 1, intent: { ...intent }, printed: false };
    const rrnOnly: TxnView = { ...base, outcome: { result: 'approved', responseCode: '00', rrn: '000000000099' } };
    const codeOnly: TxnView = { ...base, outcome: { result: 'approved', responseCode: '00', authCode: 'Q1' } };
    expect(encodeTxns({ 1: rrnOnly })[0]![2]).toEqual([1, '00', '000000000099']);
    expect(encodeTxns({ 1: codeOnly })[0]![2]).toEqual([1, '00', 0, 'Q1']);
    expect(roundTrip({ 1: rrnOnly })[1]!.outcome).toEqual(rrnOnly.outcome);
    expect('authCode' in roundTrip({ 1: rrnOnly })[1]!.outcome!).toBe(false);
    const back = roundTrip({ 1: codeOnly })[1]!.outcome!;
    expect(back).toEqual(codeOnly.outcome);
    expect('rrn' in back).toBe(false);
  });

  it('an owed reversal with no outcome: outcome 0, the reversal as is', () => {
    const v: TxnView = { seq: 2, intent: { ...intent }, reversal: { reason: 'A0', state: 'owed', attempts: 0 }, printed: false };
    const row = encodeTxns({ 2: v })[0]!;
    expect(row[2]).toBe(0);
    expect(row[3]).toEqual({ reason: 'A0', state: 'owed', attempts: 0 });
    const back = roundTrip({ 2: v })[2]!;
    expect(back).toEqual(v);
    expect('outcome' in back).toBe(false);
  });

  it('a zero amount (a balance inquiry\'s) survives as the last field', () => {
    const v = { seq: 3, intent: { stan: 5, batch: 3, kind: 'balance', amount: 0 }, printed: false } as unknown as TxnView;
    expect(encodeTxns({ 3: v })[0]![1]).toEqual([5, 3, 'balance', 0]);
    expect(roundTrip({ 3: v })[3]!.intent).toEqual({ stan: 5, batch: 3, kind: 'balance', amount: 0 });
  });

  it('a field of a newer record version goes in a trailing object after every field\'s place, and comes back', () => {
    const { requestId: _r, original: _o, reversalImage: _i, ...plain } = intent;
    const v = { seq: 5, intent: { ...plain, kind: 'sale', tip: 200 }, printed: true } as unknown as TxnView;
    const row = encodeTxns({ 5: v })[0]!;
    expect(row[1]).toEqual([12, 3, 'sale', 1_500, '156', '622202******1234', '051', '2026-01-02T03:04:05.000Z', 0, 0, 0, { tip: 200 }]);
    expect(roundTrip({ 5: v })).toEqual({ 5: v });
  });

  it('keys the decoded views by seq, in order', () => {
    const a: TxnView = { seq: 9, intent: { ...intent, stan: 9 }, printed: true };
    const b: TxnView = { seq: 21, intent: { ...intent, stan: 21 }, printed: false };
    expect(Object.keys(roundTrip({ 9: a, 21: b }))).toEqual(['9', '21']);
    expect(roundTrip({ 9: a, 21: b })[21]).toEqual(b);
  });
});
