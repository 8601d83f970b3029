// A slip still owed from a settled batch, when the STAN counter wraps round to its STAN in the new batch:
// obligations are keyed by STAN, so the counter skips it — otherwise a declined transaction's slip printed in
// place of the owed one, and an approved one's pending slip took the owed one's place (never printed).
// The same holds for an approved sale of a batch still open when the counter comes round: it keeps its STAN.
import { expect, it } from 'vitest';
import { Settlement } from '../../firmware-ts/txn/settlement.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import type { TxnResult } from '../../firmware-ts/txn/engine-api.js';
import { ID } from '../acquirer/harness.js';
import { EngineRig } from './engine-rig.js';

const stanOf = (r: TxnResult) => (r.kind === 'refused' ? -1 : r.stan);

it('an owed slip of a settled batch prints as its own sale after the STAN wraps to it in the next batch', async () => {
  const rig = new EngineRig({ rules: [{ when: { amount: 777, mti: '0200' }, then: { action: 'decline', code: '05' } }] });
  const engine = await rig.start();
  await rig.run(engine.boot());
  rig.printer.working = false;
  const owed = await rig.run(engine.sale(2_500));
  expect(owed).toMatchObject({ kind: 'approved', receipt: 'pending' });
  const stan = stanOf(owed);
  // Settlement does not wait for the printer: the slip crosses into the next batch.
  await rig.run(new Settlement({ journal: rig.journal, link: rig.link, clock: rig.clock, identity: ID, storage: rig.disk }).settle());
  // A million allocations later (journaled at once here), the counter comes round to the owed slip's STAN.
  const allocated = (n: number) => ({ type: TerminalRecord.stanAllocated.name, payload: { stan: n, purpose: 'sign-on', at: new Date(rig.clock.now()).toISOString() } });
  await rig.journal.append([allocated(999_999), ...Array.from({ length: stan - 1 }, (_, i) => allocated(i + 1))], { durable: true });
  expect(await rig.run(engine.sale(777))).toMatchObject({ kind: 'declined', stan: stan + 1, batch: 2 });
  const next = await rig.run(engine.sale(1_200));
  expect(next).toMatchObject({ kind: 'approved', stan: stan + 2, batch: 2, receipt: 'pending' });
  expect(engine.health().pendingReceipts.sort()).toEqual([stan, stan + 2]);
  rig.printer.recover();
  await rig.idle(1_000);
  expect(rig.printer.jobs.slice(-2).sort()).toEqual([`slip-1-${stan}`, `slip-2-${stan + 2}`]);
  expect(engine.health().pendingReceipts).toEqual([]);
  expect(rig.violations()).toEqual([]);
});

// The acquirer totals the batch from its own approvals, so balanced means the terminal counted both sales.
it('an approved sale of the open batch keeps its STAN when the counter wraps round to it: the next sale skips it and settlement counts both', async () => {
  const rig = new EngineRig();
  const engine = await rig.start();
  await rig.run(engine.boot());
  const first = await rig.run(engine.sale(2_500));
  expect(first).toMatchObject({ kind: 'approved', receipt: 'printed', batch: 1 });
  const stan = stanOf(first);
  // The batch stays open while the counter comes round a million STANs later (journaled at once here).
  const allocated = (n: number) => ({ type: TerminalRecord.stanAllocated.name, payload: { stan: n, purpose: 'sign-on', at: new Date(rig.clock.now()).toISOString() } });
  await rig.journal.append([allocated(999_999), ...Array.from({ length: stan - 1 }, (_, i) => allocated(i + 1))], { durable: true });
  const second = await rig.run(engine.sale(1_200));
  expect(second).toMatchObject({ kind: 'approved', stan: stan + 1, batch: 1 });
  expect(rig.journal.state.totals).toMatchObject({ saleCount: 2, saleAmount: 3_700 });
  expect(Object.keys(rig.journal.state.batchEntries).map(Number).sort()).toEqual([stan, stan + 1]);
  const settled = await rig.run(new Settlement({ journal: rig.journal, link: rig.link, clock: rig.clock, identity: ID, storage: rig.disk }).settle());
  expect(settled).toMatchObject({ batch: 1, balanced: true });
  expect(rig.violations()).toEqual([]);
});
