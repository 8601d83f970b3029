// The acquirer simulator's per-card net (LedgerState.cardNets, what a balance check reads) equals the net
// that positions() sums from the whole ledger, after any mix of authorizations and reversals — repeated
// reversals and reversals of voids and refunds included.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../host-bridge/acquirer/ledger.js';
import { LedgerState, positions } from '../../host-bridge/acquirer/ledger-state.js';

const TXNS = ['sale', 'void', 'refund', 'preauth', 'preauth-void', 'preauth-completion'] as const;

describe('acquirer card net', () => {
  it('kept as entries arrive, equals the sum over the whole ledger', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('auth' as const), txn: fc.constantFrom(...TXNS), card: fc.nat(3), amount: fc.integer({ min: 1, max: 99_999 }) }),
      fc.record({ kind: fc.constant('reversal' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const state = new LedgerState([]);
        const seqs: number[] = [];
        for (const st of steps) {
          const seq = state.entries.length + 1;
          let e: LedgerEntry;
          if (st.kind === 'auth') {
            e = { kind: 'authorization', txn: st.txn, terminalId: '12345678', batch: '000001', stan: String(seq).padStart(6, '0'), card: `622202******000${st.card}`, amount: String(st.amount).padStart(12, '0'), processingCode: '000000', rrn: `R${seq}`, authCode: 'A1', seq } as LedgerEntry;
            seqs.push(seq);
          } else {
            const target = seqs.length === 0 ? null : seqs[st.pick % seqs.length]!;
            e = { kind: 'reversal', terminalId: '12345678', batch: '000001', stan: '000001', mti: '0400', reason: '98', target, seq } as LedgerEntry;
          }
          state.apply(e);
        }
        const summed = positions(state).cards;
        for (let c = 0; c <= 3; c++) {
          const card = `622202******000${c}`;
          expect(state.cardNets.get(card) ?? 0n).toBe(summed.get(card)?.net ?? 0n);
        }
      }),
      { numRuns: 500 },
    );
  });
});
