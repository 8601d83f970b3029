// The batch limit: field 48 counts in three digits, so a batch never holds more than the limit (≤ 999) of
// the transactions it counts — the next one is refused with 交易笔数已满，请先结算, or settles the batch first
// when automatic settlement is on. Every batch that fills up can still settle.
import { describe, expect, it } from 'vitest';
import { batchLimitPolicy, FIELD48_MAX_COUNT } from '../../firmware-ts/txn/batch-limit.js';
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
