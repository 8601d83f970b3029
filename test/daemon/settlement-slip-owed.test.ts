// The settlement slip (结算单) owed is a journal record (DESIGN rule 1), not memory: a slip the printer could
// not print is printed after a restart on the same journal, exactly once; a power cut between the job and
// its `printed` record reprints it once more, marked 重打印 / DUPLICATE; and the daemon prints what is owed
// when it boots. The settlement itself is real (the engine rig's acquirer simulator), and the printed jobs
// are read back through the printer simulator's ESC/POS decoder.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { SettlementSlips } from '../../firmware-ts/daemon/settlement-slip.js';
import type { PrintResult } from '../../firmware-ts/devices/printer/print-result.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { TerminalRecord, type SettlementSlip } from '../../firmware-ts/txn/records.js';
import type { ReceiptPrinter } from '../../firmware-ts/txn/engine-devices.js';
import { STATUS_OK } from '../../protocol/escpos/status.js';
import { systemClock } from '../../protocol/io/clock.js';
import { PrinterDevice, type SimReceipt } from '../../host-bridge/sim/printer-device.js';
import { receiptText } from '../../protocol/escpos/page-text.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { embeddedConfig, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { EngineRig } from '../txn/engine-rig.js';
import { tmpDir } from '../helpers/tmp.js';

const merchant = { name: 'Test Shop', merchantId: '898310048990001', terminalId: '12345678' };

/** A slip printer whose every job is kept as bytes; `out` = paper out before the job, `then` runs after a job printed. */
class SlipPrinter implements ReceiptPrinter {
  jobs: Buffer[] = [];
  out = false;
  then: (() => void) | null = null;
  private ready = new Set<() => void>();
  async print(job: Buffer, jobId: string): Promise<PrintResult> {
    if (this.out) return { printed: false, jobId, reason: 'paper-end', stage: 'before', detail: 'out of paper' };
    this.jobs.push(job);
    this.then?.();
    return { printed: true, jobId, status: STATUS_OK };
  }
  onReady(l: () => void): () => void {
    this.ready.add(l);
    return () => this.ready.delete(l);
  }
  recover(): void {
    this.out = false;
    for (const l of this.ready) l();
  }
  /** The jobs as the printer simulator renders them. */
  texts(): string[] {
    const out: SimReceipt[] = [];
    new PrinterDevice({ onReceipt: (r) => out.push(r) }).receive(Buffer.concat(this.jobs));
    return out.map((r) => receiptText(r));
  }
}

/** A rig that has settled one batch with one sale in it. */
async function settledRig(): Promise<EngineRig> {
  const rig = new EngineRig();
  const engine = await rig.start();
  await rig.run(engine.boot());
  expect(await rig.run(engine.sale(4_730))).toMatchObject({ kind: 'approved' });
  expect(await rig.run(rig.settlement.settle())).toMatchObject({ batch: 1, balanced: true });
  return rig;
}

const slipsFor = (rig: EngineRig, printer: SlipPrinter) => new SettlementSlips({ journal: rig.journal, printer, clock: rig.clock, log: lineLog(() => undefined, systemClock), merchant });
const slipEvents = (rig: EngineRig) => rig.records(TerminalRecord.settlementSlip.name).map((r) => (r.payload as SettlementSlip).event);

/** A clean restart: the engine stops, the journal closes, both start again on the same disk. */
async function restart(rig: EngineRig): Promise<void> {
  rig.engine.stop();
  rig.link.close();
  await rig.journal.close();
  await rig.start();
}

describe('the settlement slip owed is a journal record', () => {
  it('paper out at settlement: owed in the journal, printed once after a restart, never again after the next', async () => {
    const rig = await settledRig();
    const printer = new SlipPrinter();
    printer.out = true;
    const slips = slipsFor(rig, printer);
    expect(await rig.run(slips.printNew(1))).toMatchObject({ printed: false, mayBeOnPaper: false, willRetry: true });
    expect(rig.journal.state.slipsOwed).toMatchObject([{ batch: 1, duplicate: false, printing: false }]);
    slips.close();

    await restart(rig);
    expect(rig.journal.state.slipsOwed.map((o) => o.batch)).toEqual([1]);
    printer.out = false;
    const after = slipsFor(rig, printer);
    expect(await rig.run(after.printOwed())).toMatchObject([{ printed: true, duplicate: false, batch: 1 }]);
    expect(printer.texts()).toHaveLength(1);
    expect(printer.texts()[0]).toContain('结算单');
    expect(printer.texts()[0]).not.toContain('重打印');
    expect(slipEvents(rig)).toEqual(['printing', 'not-printed', 'printing', 'printed']);
    after.close();

    await restart(rig);
    expect(rig.journal.state.slipsOwed).toEqual([]);
    expect(await rig.run(slipsFor(rig, printer).printOwed())).toEqual([]);
    expect(printer.jobs).toHaveLength(1);
  });

  it('a power cut between the print and its printed record: reprinted once after the reboot, marked 重打印', async () => {
    const rig = await settledRig();
    const printer = new SlipPrinter();
    // The job reaches the paper, then the power goes before `printed` is written.
    printer.then = () => {
      printer.then = null;
      rig.disk.crash(createRng(11), 'drop');
    };
    expect(await rig.run(slipsFor(rig, printer).printNew(1))).toMatchObject({ printed: false, reason: 'journal-failed' });
    expect(printer.jobs).toHaveLength(1);

    rig.engine.stop();
    rig.link.close();
    await rig.start();
    // The `printing` record was durable before the job left; no result follows it.
    expect(slipEvents(rig)).toEqual(['printing']);
    expect(rig.journal.state.slipsOwed).toMatchObject([{ batch: 1, printing: true }]);
    expect(await rig.run(slipsFor(rig, printer).printOwed())).toMatchObject([{ printed: true, duplicate: true }]);
    const [first, second] = printer.texts();
    expect(first).not.toContain('重打印');
    expect(second).toContain('重打印');
    expect(second).toContain('结算单');

    await restart(rig);
    expect(await rig.run(slipsFor(rig, printer).printOwed())).toEqual([]);
    expect(printer.jobs).toHaveLength(2);
  });

  it('a job cut off mid-way is owed as a duplicate and printed marked when the printer is ready again', async () => {
    const rig = await settledRig();
    let calls = 0;
    const printer = new SlipPrinter();
    const inner = printer.print.bind(printer);
    printer.print = async (job, jobId) => (++calls === 1 ? (printer.jobs.push(job.subarray(0, job.length >> 1)), { printed: false, jobId, reason: 'write-failed', stage: 'sending', detail: 'line dropped' }) : inner(job, jobId));
    const slips = slipsFor(rig, printer);
    expect(await rig.run(slips.printNew(1))).toMatchObject({ printed: false, mayBeOnPaper: true });
    expect(rig.journal.state.slipsOwed).toMatchObject([{ batch: 1, duplicate: true, printing: false }]);
    printer.recover();
    await rig.idle(2_000);
    expect(rig.journal.state.slipsOwed).toEqual([]);
    const texts = printer.texts();
    expect(texts).toHaveLength(2);
    expect(texts[1]).toContain('重打印');
    // Owed no more: a later "ready" prints nothing.
    printer.recover();
    await rig.idle(2_000);
    expect(printer.jobs).toHaveLength(2);
  });

  it('the daemon prints the slip owed from before its restart when it boots, and journals it printed', async () => {
    const dir = tmpDir('slip-owed');
    const journalDir = path.join(dir, 'terminal', 'journal');
    const rig = new EngineRig();
    const engine = await rig.start({ journal: { dir: journalDir, storage: nodeStorage } });
    await rig.run(engine.boot());
    await rig.run(engine.sale(1_250));
    await rig.run(rig.settlement.settle());
    const printer = new SlipPrinter();
    printer.out = true;
    await rig.run(slipsFor(rig, printer).printNew(1));
    rig.engine.stop();
    rig.link.close();
    await rig.journal.close();
    fs.writeFileSync(`${journalDir}.key`, rig.deviceKey.toString('hex') + '\n', { mode: 0o600 });

    const config = { ...embeddedConfig(dir), journalDir, deviceKeyFile: `${journalDir}.key`, socketPath: path.join(dir, 'posj.sock') };
    const events: string[] = [];
    const sim = await startSimulatedDaemon({ config, log: lineLog((l) => events.push(l), systemClock) });
    try {
      expect(sim.daemon.journal.state.slipsOwed).toEqual([]);
      const printed = sim.daemon.journal.state.lastSettlement;
      expect(printed?.batch).toBe(1);
      expect(events.some((l) => l.includes('settlement-slip-printed'))).toBe(true);
      const status = (await controlCall(config.socketPath, { op: 'status' })) as { result: { devices: { printer: { jobsPrinted: number } } } };
      expect(status.result.devices.printer.jobsPrinted).toBe(1);
    } finally {
      await sim.daemon.stop();
    }
  });
});
