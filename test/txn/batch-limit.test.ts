// The batch limit: field 48 counts in three digits, so a batch never holds more than the limit (≤ 999) of
// the transactions it counts — the next one is refused with 交易笔数已满，请先结算, or settles the batch first
// when automatic settlement is on. Every batch that fills up can still settle.
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchCount, batchLimitPolicy, FIELD48_MAX_COUNT } from '../../firmware-ts/txn/batch-limit.js';
import { TerminalRecord, type AuthKind } from '../../firmware-ts/txn/records.js';
import { stanHeldOpen, terminalStateFold, type TerminalState } from '../../firmware-ts/txn/terminal-state.js';
import { propertyRuns } from '../property-runs.js';
import { Settlement } from '../../firmware-ts/txn/settlement.js';
import { ID } from '../acquirer/harness.js';
import { EngineRig, PASSWORD } from './engine-rig.js';

describe('batch limit', () => {
  it('at the limit the next sale or refund is refused with "settle first"; voids still go; settlement empties the batch', async () => {
    const rig = new EngineRig();
    const engine = await rig.start({ batch: { limit: 3 } });
    await rig.run(engine.boot());
    const sales = [];
    for (let i = 0; i < 3; i++) sales.push(await rig.run(engine.sale(100 + i)));
    expect(sales.map((s) => s.kind)).toEqual(['approved', 'approved', 'approved']);
    const refusedSale = await rig.run(engine.sale(999));
    expect(refusedSale).toMatchObject({ kind: 'refused', reason: 'batch-full' });
    expect(JSON.stringify(refusedSale)).toContain('交易笔数已满，请先结算');
    const first = sales[0]!;
    if (first.kind !== 'approved') throw new Error('unreachable');
    expect(await rig.run(engine.refund({ rrn: first.rrn, date: '0101', amount: 1, password: PASSWORD }))).toMatchObject({ kind: 'refused', reason: 'batch-full' });
    // A void lowers the debit count: it is never what overflows field 48.
    expect(await rig.run(engine.void({ stan: first.stan, password: PASSWORD }))).toMatchObject({ kind: 'approved' });
    const settled = await rig.run(new Settlement({ journal: rig.journal, link: rig.link, clock: rig.clock, identity: ID, storage: rig.disk }).settle());
    expect(settled).toMatchObject({ batch: 1, balanced: true });
    expect(await rig.run(engine.sale(999))).toMatchObject({ kind: 'approved', batch: 2 });
    expect(rig.violations()).toEqual([]);
  });

  it('with automatic settlement the full batch settles first and the sale goes into the next batch', async () => {
    const rig = new EngineRig();
    const engine = await rig.start({ batch: { limit: 2, autoSettle: true } });
    await rig.run(engine.boot());
    for (let i = 0; i < 2; i++) expect(await rig.run(engine.sale(500))).toMatchObject({ kind: 'approved', batch: 1 });
    expect(await rig.run(engine.sale(700))).toMatchObject({ kind: 'approved', batch: 2 });
    expect(rig.ledger('settlement')).toMatchObject([{ batch: '000001', balanced: true }]);
    expect(rig.violations()).toEqual([]);
  });

  it('a limit above what field 48 can count is a configuration error', () => {
    expect(batchLimitPolicy().limit).toBe(FIELD48_MAX_COUNT);
    expect(() => batchLimitPolicy({ limit: 1000 })).toThrow(/1\.\.999/);
    expect(() => batchLimitPolicy({ limit: 0 })).toThrow(/1\.\.999/);
  });
});

/** What batchCount counted before it read the fold's totals: a walk of the open batch and what is in flight. */
function countByWalk(s: TerminalState): number {
  const counted = (k: AuthKind) => k === 'sale' || k === 'preauth-completion' || k === 'refund';
  return Object.values(s.batchEntries).filter((e) => counted(e.kind)).length + Object.values(s.inFlight).filter((a) => counted(a.kind)).length;
}

describe('batch count', () => {
  const KINDS: AuthKind[] = ['sale', 'refund', 'void', 'preauth', 'preauth-completion', 'preauth-void', 'balance'];
  // Steps on a small pool of STANs, so outcomes, reversals and late replies land on authorizations in every
  // state (in flight, approved, declined, reversed, already settled), including ones that never existed.
  const step = fc.oneof(
    fc.record({ t: fc.constant('intent' as const), stan: fc.integer({ min: 1, max: 12 }), kind: fc.constantFrom(...KINDS), amount: fc.integer({ min: 1, max: 9999 }), original: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ t: fc.constant('outcome' as const), stan: fc.integer({ min: 1, max: 12 }), approved: fc.boolean() }),
    fc.record({ t: fc.constant('reversal' as const), stan: fc.integer({ min: 1, max: 12 }), reason: fc.constantFrom('98' as const, 'A0' as const, '06' as const) }),
    fc.record({ t: fc.constant('cleared' as const), stan: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ t: fc.constant('settled' as const) }),
  );

  it("is the walk of the open batch's entries and what is in flight, after every record of any history", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), fc.integer({ min: 0, max: 990_000 }), (steps, stanBase) => {
        const fold = terminalStateFold('recent');
        const s = fold.initial();
        let seq = 1;
        const at = '2026-12-02T10:00:00.000Z';
        for (const x of steps) {
          const stan = 'stan' in x ? stanBase + x.stan : 0;
          // The engine never allocates a STAN something still lives under (allocateStan skips it), so a
          // history that does is not one a terminal writes: an intent there would overwrite a batch entry.
          if (x.t === 'intent' && stanHeldOpen(s, stan)) continue;
          const r =
            x.t === 'intent'
              ? { type: TerminalRecord.authIntent.name, payload: { stan, batch: s.batch, kind: x.kind, amount: x.amount, currency: '156', maskedPan: '622202******1234', entryMode: '051', at, reversalImage: { mti: '0400' }, ...(x.kind === 'void' || x.kind === 'preauth-void' || x.kind === 'preauth-completion' || x.kind === 'refund' ? { original: { stan: stanBase + x.original, rrn: `R${x.original}` } } : {}) } }
              : x.t === 'outcome'
                ? { type: TerminalRecord.authOutcome.name, payload: { stan, result: x.approved ? 'approved' : 'declined', responseCode: x.approved ? '00' : '51', rrn: `R${x.stan}`, at } }
                : x.t === 'reversal'
                  ? { type: TerminalRecord.reversalRequired.name, payload: { stan, reason: x.reason, at } }
                  : x.t === 'cleared'
                    ? { type: TerminalRecord.reversalCleared.name, payload: { stan, responseCode: '00', at } }
                    : { type: TerminalRecord.settlementDone.name, payload: { batch: s.batch, balanced: true, nextBatch: s.batch + 1, at } };
          fold.apply(s, { seq: seq++, ...r });
          expect(batchCount(s)).toBe(countByWalk(s));
        }
      }),
      { numRuns: propertyRuns(400) },
    );
  });

  it('counts a full batch at large STANs, where the walk was slowest', () => {
    const fold = terminalStateFold('recent');
    const s = fold.initial();
    let seq = 1;
    for (let i = 0; i < 999; i++) {
      const stan = 900_000 + i;
      fold.apply(s, { seq: seq++, type: TerminalRecord.authIntent.name, payload: { stan, batch: 1, kind: i % 3 === 0 ? 'refund' : 'sale', amount: 100, currency: '156', maskedPan: '622202******1234', entryMode: '051', at: '', reversalImage: {} } });
      if (i < 998) fold.apply(s, { seq: seq++, type: TerminalRecord.authOutcome.name, payload: { stan, result: 'approved', responseCode: '00', rrn: `R${i}`, at: '' } });
    }
    expect(batchCount(s)).toBe(999);
    expect(countByWalk(s)).toBe(999);
  });
});
