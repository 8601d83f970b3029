// The request-id index (txn/request-id-index.ts) answers what a newest-first search of the fold's
// transactions answers, whatever mix of sales (ids reused after they left the window), settlements that
// drop closed transactions, and checkpoint round trips that replace the transactions object came before.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { RECENT_CLOSED_TXNS, terminalStateFold, type TerminalState, type TxnView } from '../../firmware-ts/txn/terminal-state.js';
import { viewByRequestId } from '../../firmware-ts/txn/txn-history.js';
import { decodeTxns, encodeTxns } from '../../firmware-ts/txn/txn-snapshot.js';

const at = '2026-12-01T10:00:00.000Z';

/** The search the index replaced: newest first over every kept transaction. */
function searched(s: TerminalState, id: string): TxnView | undefined {
  return Object.values(s.txns)
    .reverse()
    .find((v) => v.intent.requestId === id);
}

type Step = { kind: 'sale'; id: number | null; approved: boolean } | { kind: 'settle' } | { kind: 'checkpoint' } | { kind: 'ask'; id: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('sale' as const), id: fc.option(fc.nat(40), { nil: null }), approved: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('ask' as const), id: fc.nat(40) }) },
);

describe('request-id index', () => {
  it('finds what the newest-first search finds, after sales, settlements and checkpoint round trips', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 3 * RECENT_CLOSED_TXNS }), (steps) => {
        const fold = terminalStateFold('recent');
        const s = fold.initial();
        let seq = 1;
        let stan = 0;
        let batch = 1;
        const apply = (type: string, payload: unknown) => fold.apply(s, { seq: seq++, type, payload });
        const check = (id: string) => expect(viewByRequestId(s, id)).toBe(searched(s, id));
        for (const st of steps) {
          if (st.kind === 'sale') {
            stan++;
            const requestId = st.id === null ? {} : { requestId: `r-${st.id}` };
            apply(TerminalRecord.authIntent.name, { stan, batch, kind: 'sale', amount: 100, currency: '156', maskedPan: '622202******1234', entryMode: '051', at, reversalImage: { mti: '0200' }, ...requestId });
            if (st.approved) {
              apply(TerminalRecord.authOutcome.name, { stan, result: 'approved', responseCode: '00', rrn: `RRN${String(stan).padStart(9, '0')}`, at });
              apply(TerminalRecord.receiptPrinted.name, { stan, copies: 'both' });
            } else apply(TerminalRecord.authOutcome.name, { stan, result: 'declined', responseCode: '51', at });
          } else if (st.kind === 'settle') {
            apply(TerminalRecord.settlementDone.name, { batch, balanced: true, nextBatch: batch + 1, at });
            batch++;
          } else if (st.kind === 'checkpoint') s.txns = decodeTxns(JSON.parse(JSON.stringify(encodeTxns(s.txns))));
          else check(`r-${st.id}`);
        }
        for (let id = 0; id <= 40; id++) check(`r-${id}`);
      }),
      { numRuns: 300 },
    );
  });

  it('a transaction dropped by another path after it was indexed is not returned', () => {
    const fold = terminalStateFold('recent');
    const s = fold.initial();
    fold.apply(s, { seq: 1, type: TerminalRecord.authIntent.name, payload: { stan: 1, batch: 1, kind: 'sale', amount: 100, currency: '156', maskedPan: '622202******1234', entryMode: '051', at, requestId: 'r-1' } });
    expect(viewByRequestId(s, 'r-1')?.intent.stan).toBe(1);
    delete s.txns[1];
    expect(viewByRequestId(s, 'r-1')).toBeUndefined();
  });

  it('an id reused: when its newest transaction is dropped by another path, the older one still kept is found', () => {
    const fold = terminalStateFold('recent');
    const s = fold.initial();
    const intent = (stan: number) => ({ stan, batch: 1, kind: 'sale', amount: 100 * stan, currency: '156', maskedPan: '622202******1234', entryMode: '051', at, requestId: 'r-1' });
    fold.apply(s, { seq: 1, type: TerminalRecord.authIntent.name, payload: intent(1) });
    fold.apply(s, { seq: 2, type: TerminalRecord.authIntent.name, payload: intent(2) });
    expect(viewByRequestId(s, 'r-1')?.intent.stan).toBe(2);
    delete s.txns[2];
    expect(viewByRequestId(s, 'r-1')).toBe(s.txns[1]);
    expect(viewByRequestId(s, 'r-1')?.intent.amount).toBe(100);
  });
});
