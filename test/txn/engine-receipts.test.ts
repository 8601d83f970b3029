// The sales slip, record by record: what each way the printer fails leaves in the journal (its words, and
// whether part of the job may be on paper), the write-ahead record before an owed slip that nothing of is
// on paper yet, and the printed record and event of an original and of a duplicate.
import { describe, expect, it } from 'vitest';
import { RECEIPT_JOB_STARTED, TerminalRecord } from '../../firmware-ts/txn/records.js';
import { DEVICE_TIMEOUTS } from '../../firmware-ts/txn/engine-devices.js';
import type { TxnResult } from '../../firmware-ts/txn/engine-api.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { EngineRig, type CallFault } from './engine-rig.js';

const stanOf = (r: TxnResult) => (r.kind === 'refused' ? -1 : r.stan);
const iso = (rig: EngineRig) => new Date(rig.clock.now()).toISOString();

async function booted() {
  const rig = new EngineRig();
  const engine = await rig.start();
  await rig.run(engine.boot());
  return { rig, engine };
}

/** The receipt records of one STAN, in order, as [type, payload without its time]. */
function receiptRecords(rig: EngineRig, stan: number) {
  return rig
    .records()
    .filter((r) => (r.type === TerminalRecord.receiptNotPrinted.name || r.type === TerminalRecord.receiptPrinted.name) && (r.payload as { stan: number }).stan === stan)
    .map((r) => {
      const { at: _at, ...rest } = r.payload as { at?: string };
      return [r.type === TerminalRecord.receiptPrinted.name ? 'printed' : 'not-printed', rest];
    });
}

describe('a slip the printer does not print right after the approval', () => {
  const cases: [string, (rig: EngineRig) => void, string, boolean][] = [
    ['out of paper (refused before paper moved)', (rig) => void (rig.printer.working = false), 'paper-end', false],
    ['the line dropped mid-job', (rig) => void (rig.printer.torn = true), 'write-failed', true],
    ['the driver threw', (rig) => void (rig.printer.fail = 'throw' satisfies CallFault), 'print: device error (test)', true],
    ['the driver never answered', (rig) => void (rig.printer.fail = 'silent' satisfies CallFault), `no answer within ${DEVICE_TIMEOUTS.printMs} ms`, true],
  ];
  for (const [name, fail, reason, mayBeOnPaper] of cases) {
    it(`${name}: pending, its words journaled, on paper ${mayBeOnPaper ? 'maybe' : 'not'}`, async () => {
      const { rig, engine } = await booted();
      fail(rig);
      const sale = await rig.run(engine.sale(2_500));
      const stan = stanOf(sale);
      expect(sale).toMatchObject({ kind: 'approved', receipt: 'pending' });
      expect(receiptRecords(rig, stan)).toEqual([['not-printed', { stan, reason, mayBeOnPaper }]]);
      expect(rig.events.filter((e) => e.type === 'receipt-pending')).toEqual([{ type: 'receipt-pending', stan, reason }]);
      rig.printer.recover();
      await rig.idle(1_000);
      // Back: an owed slip of which nothing is on paper writes ahead and prints as the original; otherwise a duplicate.
      expect(receiptRecords(rig, stan).slice(1)).toEqual(
        mayBeOnPaper
          ? [['printed', { stan, copies: 'both', duplicate: true }]]
          : [
              ['not-printed', { stan, reason: RECEIPT_JOB_STARTED, mayBeOnPaper: true }],
              ['printed', { stan, copies: 'both' }],
            ],
      );
      expect(rig.printer.jobs.at(-1)).toBe(`slip-1-${stan}${mayBeOnPaper ? '-dup' : ''}`);
      expect(rig.events.filter((e) => e.type === 'receipt-printed')).toEqual([{ type: 'receipt-printed', stan, duplicate: mayBeOnPaper }]);
      expect(engine.status({ stan })).toMatchObject({ receipt: 'printed' });
    });
  }

  it('printed at once: one record, no write-ahead, the original', async () => {
    const { rig, engine } = await booted();
    const stan = stanOf(await rig.run(engine.sale(2_600)));
    expect(receiptRecords(rig, stan)).toEqual([['printed', { stan, copies: 'both' }]]);
    expect(rig.events.filter((e) => e.type === 'receipt-printed')).toEqual([{ type: 'receipt-printed', stan, duplicate: false }]);
    expect(rig.printer.jobs).toEqual([`slip-1-${stan}`]);
  });

  it('the printed record is durable: a power cut right after the sale prints nothing again at boot', async () => {
    const { rig, engine } = await booted();
    const stan = stanOf(await rig.run(engine.sale(2_650)));
    rig.disk.crash(createRng(7), 'drop');
    rig.link.close();
    engine.stop();
    const again = await rig.start();
    expect(await rig.run(again.boot())).toMatchObject({ receiptsPrinted: [] });
    expect(again.status({ stan })).toMatchObject({ state: 'approved', receipt: 'printed' });
    expect(rig.printer.jobs).toEqual([`slip-1-${stan}`]);
  });

  it('refused again after the write-ahead: still nothing on paper, and the next try writes ahead again', async () => {
    const { rig, engine } = await booted();
    rig.printer.working = false;
    const stan = stanOf(await rig.run(engine.sale(2_700)));
    const at = iso(rig);
    expect(rig.records(TerminalRecord.receiptNotPrinted.name).at(-1)!.payload).toEqual({ stan, reason: 'paper-end', mayBeOnPaper: false, at });
    // A reprint asked for now is marked and leaves the owed slip as it was.
    expect(await rig.run(engine.reprint({ stan }))).toEqual({ kind: 'not-printed', stan, reason: 'paper-end' });
    expect(receiptRecords(rig, stan)).toHaveLength(2);
    expect(receiptRecords(rig, stan)[1]).toEqual(['not-printed', { stan, reason: 'paper-end', mayBeOnPaper: false }]);
    rig.printer.recover();
    rig.printer.working = false;
    await rig.idle(1_000);
    expect(receiptRecords(rig, stan).slice(2)).toEqual([
      ['not-printed', { stan, reason: RECEIPT_JOB_STARTED, mayBeOnPaper: true }],
      ['not-printed', { stan, reason: 'paper-end', mayBeOnPaper: false }],
    ]);
    rig.printer.recover();
    await rig.idle(1_000);
    expect(receiptRecords(rig, stan).slice(4)).toEqual([
      ['not-printed', { stan, reason: RECEIPT_JOB_STARTED, mayBeOnPaper: true }],
      ['printed', { stan, copies: 'both' }],
    ]);
    expect(rig.printer.jobs).toEqual([`slip-1-${stan}`]);
  });

  it('a stopped engine prints nothing when the printer comes back', async () => {
    const { rig, engine } = await booted();
    rig.printer.working = false;
    const stan = stanOf(await rig.run(engine.sale(2_800)));
    engine.stop();
    rig.printer.recover();
    await rig.idle(1_000);
    expect(rig.printer.jobs).toEqual([]);
    expect(engine.health().pendingReceipts).toEqual([stan]);
  });
});
