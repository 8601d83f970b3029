// The settlement slip (结算单, issue 10 item 5): printed when a batch settles and on `posj reprint
// --settlement` (what is owed across a failure or restart: settlement-slip-owed.test.ts); the printer
// simulator turns a slip cut off mid-job into its own incomplete receipt instead of merging it with the
// reprint that follows. Rendering goes through the real ESC/POS layout and the simulator's real decoder.
import { describe, expect, it } from 'vitest';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import type { SettlementReport } from '../../firmware-ts/receipts/receipt-model.js';
import { renderReceipt } from '../../firmware-ts/receipts/render-receipt.js';
import { systemClock } from '../../protocol/io/clock.js';
import { PrinterDevice, type SimReceipt } from '../../host-bridge/sim/printer-device.js';
import { receiptText } from '../../protocol/escpos/page-text.js';
import { embeddedConfig, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { tmpDir } from '../helpers/tmp.js';

const report: SettlementReport = {
  kind: 'settlement',
  merchant: { name: 'POSJ TEST MERCHANT', merchantId: '898310048990001', terminalId: '12345678' },
  batch: 7,
  localTime: '2026-12-01 10:00:00',
  rows: [
    { type: 'sale', count: 2, amountMinor: 4730 },
    { type: 'refund', count: 0, amountMinor: 0 },
  ],
  acquirerTotals: { count: 2, netAmountMinor: 4730 },
};

/** What a sim printer makes of some bytes: its torn-off receipts as text. */
function printOn(device: PrinterDevice, out: SimReceipt[], bytes: Buffer): string[] {
  device.receive(bytes);
  return out.map((r) => receiptText(r));
}

describe('settlement slip', () => {
  it('the printer simulator gives a slip cut off mid-job its own incomplete receipt, apart from the reprint', () => {
    const out: SimReceipt[] = [];
    const device = new PrinterDevice({ onReceipt: (r) => out.push(r) });
    const job = renderReceipt(report, 'zh');
    const torn = job.subarray(0, Math.floor(job.length * 0.6));
    const texts = printOn(device, out, Buffer.concat([torn, renderReceipt({ ...report, reprint: true }, 'zh')]));
    expect(out.map((r) => r.incomplete)).toEqual([true, false]);
    expect(texts[0]).toContain('结算单');
    expect(texts[0]).not.toContain('重打印');
    expect(texts[1]!.match(/结算单/g)).toHaveLength(1);
    expect(texts[1]).toContain('重打印');
  });

  it('over the daemon: settle prints the slip; posj reprint --settlement prints it again, marked duplicate', async () => {
    const config = { ...embeddedConfig(tmpDir('slip')), timeouts: { connectMs: 1000, responseMs: 2000, cardMs: 5000 } };
    const sim = await startSimulatedDaemon({ config, log: lineLog(() => undefined, systemClock) });
    try {
      const sock = sim.daemon.socketPath;
      expect(await controlCall(sock, { op: 'reprint', settlement: true })).toMatchObject({ ok: true, result: { kind: 'not-found' } });
      expect((await controlCall(sock, { op: 'sale', amount: 1250 })).ok).toBe(true);
      const jobsBefore = ((await controlCall(sock, { op: 'status' })) as { result: { devices: { printer: { jobsPrinted: number } } } }).result.devices.printer.jobsPrinted;
      const settled = await controlCall(sock, { op: 'settle' });
      expect(settled).toMatchObject({ ok: true, result: { batch: 1, balanced: true, slip: { printed: true, duplicate: false } } });
      const again = await controlCall(sock, { op: 'reprint', settlement: true });
      expect(again).toMatchObject({ ok: true, result: { kind: 'printed', batch: 1, duplicate: true } });
      const jobsAfter = ((await controlCall(sock, { op: 'status' })) as { result: { devices: { printer: { jobsPrinted: number } } } }).result.devices.printer.jobsPrinted;
      expect(jobsAfter - jobsBefore).toBe(2);
    } finally {
      await sim.daemon.stop();
    }
  });
});
