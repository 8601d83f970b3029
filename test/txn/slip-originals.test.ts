// A sale's slip reaches the customer unmarked once (found by the simulator's one-original-slip check): a
// job that reached the paper and was cut off by the power before `receipt.printed` was journaled must make
// every later job of that slip 重打印 / DUPLICATE — also when a job in between was refused before any paper
// moved, and also when the job cut off was a retry of a slip whose every earlier job had been refused.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { jobPaperText } from '../../protocol/escpos/page-text.js';
import { TerminalRecord, type ReceiptNotPrinted } from '../../firmware-ts/txn/records.js';
import type { TerminalEngine } from '../../firmware-ts/txn/terminal-engine.js';
import { EngineRig } from './engine-rig.js';

/** The jobs of one slip that reached the paper, and whether each carries the duplicate mark. */
const slipsOnPaper = (rig: EngineRig, stan: number) =>
  rig.printer.jobs.flatMap((id, i) => (id.startsWith(`slip-1-${stan}`) ? [jobPaperText(rig.printer.printedBytes[i]!).join('\n').includes('重打印')] : []));

/** Power off the moment the next job is on paper: the driver never answers, nothing more is journaled, and
 *  what was written but not synced is lost (so a write-ahead that was not durable is missed at boot). */
function cutWhenOnPaper(rig: EngineRig, engine: TerminalEngine): void {
  rig.printer.onPaper = () => {
    rig.printer.onPaper = undefined;
    rig.disk.crash(createRng(7), 'drop');
    rig.link.close();
    engine.stop();
  };
}

describe('a slip cut off by the power mid-job', () => {
  it('stays owed as a duplicate when the next job is refused before any paper moved', async () => {
    const rig = new EngineRig();
    const first = await rig.start();
    await rig.run(first.boot());
    cutWhenOnPaper(rig, first);
    const sale = await rig.run(first.sale(2_300));
    const stan = sale.kind === 'approved' ? sale.stan : -1;
    expect(slipsOnPaper(rig, stan)).toEqual([false]);

    // Back on with the cover open: the boot's job is refused before paper moved; that says nothing of the first.
    rig.printer.working = false;
    const second = await rig.start();
    await rig.run(second.boot());
    const notPrinted = rig.records(TerminalRecord.receiptNotPrinted.name).map((r) => r.payload as ReceiptNotPrinted).filter((p) => p.stan === stan);
    expect(notPrinted.map((p) => [p.reason, p.mayBeOnPaper])).toEqual([['paper-end', true]]);
    rig.printer.recover();
    await rig.idle(1_000);
    expect(second.health().pendingReceipts).toEqual([]);
    expect(slipsOnPaper(rig, stan)).toEqual([false, true]);
  });

  it('a retry of a slip whose every job was refused writes ahead, so a cut during it is known at boot', async () => {
    const rig = new EngineRig();
    const first = await rig.start();
    await rig.run(first.boot());
    rig.printer.working = false;
    const sale = await rig.run(first.sale(2_400));
    const stan = sale.kind === 'approved' ? sale.stan : -1;
    expect(slipsOnPaper(rig, stan)).toEqual([]);

    // The printer is back; the owed slip prints unmarked (nothing of it is on paper) and the power goes mid-job.
    cutWhenOnPaper(rig, first);
    rig.printer.recover();
    await rig.idle(1_000);
    expect(slipsOnPaper(rig, stan)).toEqual([false]);
    const reasons = rig.records(TerminalRecord.receiptNotPrinted.name).map((r) => r.payload as ReceiptNotPrinted).filter((p) => p.stan === stan).map((p) => p.reason);
    expect(reasons).toEqual(['paper-end', 'job-started']);

    const second = await rig.start();
    await rig.run(second.boot());
    expect(second.health().pendingReceipts).toEqual([]);
    expect(slipsOnPaper(rig, stan)).toEqual([false, true]);
  });
});
