// Settlement against the acquirer simulator over loopback TCP: balanced (0500 → batch end), unbalanced
// (0500 → every approved transaction uploaded → batch end), and a power cut at every durable step of both,
// after which a reboot resumes and the batch totals equal the acquirer's (money invariant 5).
import { afterEach, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { SettlementError } from '../../firmware-ts/txn/settlement.js';
import { settlementDocument } from '../../firmware-ts/receipts/settlement-report.js';
import { settlementReceipt } from '../../firmware-ts/txn/settlement-reconciliation.js';
import { ID } from '../acquirer/harness.js';
import { tmpDir } from '../helpers/tmp.js';
import type { Rig } from '../acquirer/harness.js';
import type { TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { journaledSale, openJournal, rig, saleOnlyTheHostSaw, settlementFor } from './settlement-rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  while (rigs.length) await rigs.pop()!.stop();
});

async function freshRig(): Promise<Rig> {
  const r = await rig(tmpDir('settle'));
  rigs.push(r);
  return r;
}

const AMOUNTS = [1200, 3400, 560];

async function batchOf(j: TerminalJournal, r: Rig, unbalanced: boolean): Promise<void> {
  for (const a of AMOUNTS) await journaledSale(j, r, a);
  if (unbalanced) await saleOnlyTheHostSaw(r, 900, 999);
}

const ledgerKinds = (r: Rig) => r.host.state.entries.map((e) => e.kind);
const uploads = (r: Rig) => r.host.state.entries.filter((e) => e.kind === 'batch-upload') as unknown as { stan: string; original: { stan: string }; amount: string }[];

describe('settlement (结算)', () => {
  it('balanced: 0500 answered 1, batch end, the batch moves forward; the report shows both sides equal', async () => {
    const r = await freshRig();
    const j = await openJournal(nodeStorage, path.join(tmpDir('settle-j'), 'journal'));
    await batchOf(j, r, false);
    const result = await settlementFor(j, r, nodeStorage).settle();
    expect(result).toMatchObject({ batch: 1, nextBatch: 2, balanced: true, uploaded: 0 });
    expect(result.report.byCardType.domestic.terminal).toEqual({ debitCount: 3, debitAmount: 5160, creditCount: 0, creditAmount: 0 });
    expect(result.report.byCardType.domestic.difference).toEqual({ debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 });
    expect(ledgerKinds(r).slice(-2)).toEqual(['settlement', 'batch-end']);
    expect(j.state.batch).toBe(2);
    expect(j.state.settlementRun).toBeNull();
    expect(j.state.lastSettlement).toMatchObject({ batch: 1, balanced: true, uploaded: 0 });
    const doc = settlementDocument(settlementReceipt(result.report, { name: 'Test', merchantId: ID.merchantId, terminalId: ID.terminalId }, '2026-11-21 10:00:00'), 'en');
    expect(JSON.stringify(doc)).toContain('BALANCED');
    await j.close();
  });

  it('unbalanced: every approved transaction is uploaded (0320), then batch end; the report names the difference', async () => {
    const r = await freshRig();
    const j = await openJournal(nodeStorage, path.join(tmpDir('settle-j'), 'journal'));
    await batchOf(j, r, true);
    const stans = Object.keys(j.state.batchEntries).map(Number);
    const result = await settlementFor(j, r, nodeStorage).settle();
    expect(result).toMatchObject({ batch: 1, balanced: false, uploaded: 3 });
    expect(result.report.byCardType.domestic.acquirer).toEqual({ debitCount: 4, debitAmount: 6159, creditCount: 0, creditAmount: 0 });
    expect(result.report.byCardType.domestic.difference).toMatchObject({ debitCount: -1, debitAmount: -999 });
    expect(uploads(r).map((u) => Number(u.original.stan)).sort()).toEqual(stans.sort());
    expect(ledgerKinds(r).at(-1)).toBe('batch-end');
    expect((r.host.state.entries.at(-1) as unknown as { records: number }).records).toBe(3);
    expect(j.state.batch).toBe(2);
    await j.close();
  });

  it('refuses while a reversal is owed, and a lost answer leaves the step to resume', async () => {
    const r = await freshRig();
    const dir = path.join(tmpDir('settle-j'), 'journal');
    let j = await openJournal(nodeStorage, dir);
    await batchOf(j, r, false);
    r.host.rules = { ...r.host.rules, rules: [{ when: { mti: '0500' }, then: { action: 'drop-reply' } }] };
    const s = settlementFor(j, r, nodeStorage);
    await expect(s.settle()).rejects.toMatchObject({ code: 'SETTLEMENT_NO_ANSWER', step: 'started' });
    expect(j.state.settlementRun?.step).toBe('started');
    await j.close();
    j = await openJournal(nodeStorage, dir);
    r.host.rules = { ...r.host.rules, rules: [] };
    const result = await settlementFor(j, r, nodeStorage).settle();
    expect(result.balanced).toBe(true);
    await j.close();

    const j2 = await openJournal(nodeStorage, path.join(tmpDir('settle-j'), 'journal'));
    await j2.append([{ type: 'auth.intent', payload: { stan: 1, batch: 1, kind: 'sale', amount: 100, currency: '156', maskedPan: '621214******0006', entryMode: '021', at: 'x', reversalImage: {} } }], { durable: true });
    await j2.append([{ type: 'reversal.required', payload: { stan: 1, reason: '98', at: 'x' } }], { durable: true });
    await expect(settlementFor(j2, r, nodeStorage).settle()).rejects.toBeInstanceOf(SettlementError);
    await j2.close();
  });

  // Each durable append of a settlement, cut before and after its sync; then reboot and settle again.
  for (const unbalanced of [false, true]) {
    it(`a power cut at every settlement step resumes and ends with the acquirer's totals (${unbalanced ? 'unbalanced, with upload' : 'balanced'})`, async () => {
      const steps = unbalanced ? 7 : 4;
      for (let k = 1; k <= steps; k++) {
        for (const phase of ['before', 'after'] as const) {
          const r = await freshRig();
          const disk = new SimDisk();
          let j = await openJournal(disk);
          await batchOf(j, r, unbalanced);
          await j.append([{ type: 'receipt.printed', payload: { stan: 1, copies: 'both' } }], { durable: true });
          const stans = Object.keys(j.state.batchEntries).map(Number).sort();
          disk.crashAtSync(disk.stats.syncs + k, createRng(k), 'random', phase);
          await expect(settlementFor(j, r, disk).settle()).rejects.toThrow();
          j = await openJournal(disk);
          const where = `cut ${phase} sync ${k}`;
          // A cut after the last record's write may have kept it: then the batch is already settled.
          if (j.state.batch === 1) expect((await settlementFor(j, r, disk).settle()).batch, where).toBe(1);
          expect(j.state.batch, where).toBe(2);
          expect(j.state.lastSettlement?.batch, where).toBe(1);
          // Money invariant 5: balanced, the acquirer agrees with the terminal; unbalanced, what it holds
          // for the batch after the upload is exactly the terminal's transactions, each once.
          const host = r.host.state.batchTotals(ID.terminalId, '000001');
          if (!unbalanced) {
            expect(j.state.lastSettlement?.balanced, where).toBe(true);
            expect({ n: host.debitCount, a: Number(host.debitAmount) }, where).toEqual({ n: 3, a: 5160 });
          } else {
            const up = uploads(r);
            expect([...new Set(up.map((u) => Number(u.original.stan)))].sort(), where).toEqual(stans);
            expect(up.reduce((n, u) => (n.has(u.original.stan) ? n : n.add(u.original.stan)), new Set<string>()).size).toBe(3);
            // A STAN names one message: re-sent uploads reuse theirs, new ones never take an old one.
            const byStan = new Map<string, string>();
            for (const u of up) expect(byStan.get(u.stan) ?? u.original.stan, where).toBe((byStan.set(u.stan, byStan.get(u.stan) ?? u.original.stan), u.original.stan));
            expect(j.state.lastSettlement?.terminal, where).toEqual({ debitCount: 3, debitAmount: 5160, creditCount: 0, creditAmount: 0 });
          }
          expect(ledgerKinds(r).filter((x) => x === 'batch-end').length, where).toBeGreaterThanOrEqual(1);
          await j.close();
          await rigs.pop()!.stop();
        }
      }
    });
  }
});
