// What the printer driver answers when the printer or its line fails during a job — over the real
// ReconnectingPort on a simulated serial line with the emulated printer on the far end, on simulated
// time: the printer stops reading mid-job (the watchdog stalls the line), the cable is pulled after the
// first text, the printer answers nothing after the job. None is "printed"; each says whether paper may
// have moved, and the next job prints once the printer is sane again.
import { describe, expect, it } from 'vitest';
import { PrinterDriver } from '../../firmware-ts/devices/printer/printer-driver.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { renderReceipt } from '../../firmware-ts/receipts/render-receipt.js';
import { MemoryLog, silentLog } from '../../protocol/io/device-log.js';
import { sampleSale } from '../../host-bridge/examples/sample-receipts.js';
import { PrinterDevice, type SimReceipt } from '../../host-bridge/sim/printer-device.js';
import { SimClock } from '../../host-bridge/terminal-sim/sim-clock.js';
import { SimSerialLine } from '../../host-bridge/terminal-sim/sim-serial-line.js';

const job = renderReceipt(sampleSale('zh'), 'zh');

function rig() {
  const clock = new SimClock();
  const line = new SimSerialLine(clock, '/dev/ttyS2');
  const receipts: SimReceipt[] = [];
  let cutMidSlip = false;
  const device = new PrinterDevice({
    onReceipt: (r) => receipts.push(r),
    onJobStarted: () => {
      if (!cutMidSlip) return;
      cutMidSlip = false;
      line.unplug();
      clock.setTimer(2_000, () => line.replug());
      return 'line-cut';
    },
  });
  const devicePort = new ReconnectingPort({ path: line.path, baudRate: 115_200, clock, log: silentLog, backoffMs: 50, openPort: line.device });
  devicePort.onData((b) => {
    const reply = device.receive(b);
    if (reply.length) devicePort.write(reply).catch(() => undefined);
  });
  devicePort.onState((h) => h.state !== 'open' && device.resetLine());
  devicePort.start();
  const port = new ReconnectingPort({ path: line.path, baudRate: 115_200, clock, log: silentLog, backoffMs: 50, openPort: line.terminal });
  port.start();
  const log = new MemoryLog(500);
  const driver = new PrinterDriver({ link: port, clock, log });
  /** Runs `p` on simulated time. */
  const run = async <T>(p: Promise<T>, limitMs = 120_000): Promise<T> => {
    let out: { v: T } | undefined;
    void p.then((v) => (out = { v }));
    const end = clock.now() + limitMs;
    while (!out) {
      await new Promise((r) => setImmediate(r));
      if (out) break;
      const at = clock.nextAt();
      if (at === null || at > end) throw new Error('never finished');
      clock.runNext();
    }
    return out.v;
  };
  const idle = (ms: number) => run(new Promise((res) => clock.setTimer(ms, () => res(undefined))));
  return { clock, line, device, receipts, port, driver, log, run, idle, cutMidSlip: () => (cutMidSlip = true) };
}

describe('printer failures during printing (driver level)', () => {
  it('the printer stops reading before the job: no-reply before anything is sent, then the line is stalled; prints once it reads again', async () => {
    const r = rig();
    await r.idle(100);
    expect(await r.run(r.driver.checkStatus())).toMatchObject({ ok: true });
    r.line.stopReading();
    const result = await r.run(r.driver.print(job, 'J1'));
    // Stopped before the first DLE EOT got through: nothing is on paper.
    expect(result).toMatchObject({ printed: false, reason: 'no-reply', stage: 'before' });
    // The status timeout (1 s) answers first; the line watchdog (2 s) then calls the line stalled.
    await r.idle(3_000);
    expect(r.port.health().stalls).toBeGreaterThanOrEqual(1);
    expect(r.port.health().lastError).toContain('device stopped reading');
    r.line.resumeReading();
    const ok = await r.run(r.driver.print(job, 'J2'));
    expect(ok).toMatchObject({ printed: true });
    expect(r.receipts.filter((x) => !x.incomplete)).toHaveLength(1);
  });

  it('stops reading once the job bytes are going out: stage "sending" (may be partly printed)', async () => {
    const r = rig();
    await r.idle(100);
    expect(await r.run(r.driver.checkStatus())).toMatchObject({ ok: true });
    const printing = r.driver.print(job, 'J1');
    // The status before the job passes; the printer stops reading as the slip goes out.
    let stopped = false;
    // The job is the first write longer than a DLE EOT question.
    const origWrite = r.port.write.bind(r.port);
    r.port.write = (bytes: Buffer) => {
      if (!stopped && bytes.length > 64) {
        stopped = true;
        r.line.stopReading();
      }
      return origWrite(bytes);
    };
    const result = await r.run(printing);
    expect(result).toMatchObject({ printed: false, reason: 'write-failed', stage: 'sending' });
    expect(r.log.lines.some((l) => l.includes('reprint it as a duplicate'))).toBe(true);
  });

  it('the cable is pulled after the first text: not printed, a torn slip at the printer, the reprint prints whole', async () => {
    const r = rig();
    await r.idle(100);
    expect(await r.run(r.driver.checkStatus())).toMatchObject({ ok: true });
    r.cutMidSlip();
    const result = await r.run(r.driver.print(job, 'J1'));
    expect(result.printed).toBe(false);
    if (result.printed) return;
    expect(['sending', 'after']).toContain(result.stage);
    expect(r.receipts.some((x) => x.incomplete)).toBe(true);
    await r.idle(3_000);
    const again = await r.run(r.driver.print(job, 'J1-dup'));
    expect(again).toMatchObject({ printed: true });
    expect(r.receipts.at(-1)!.incomplete).toBe(false);
  });

  it('the printer answers nothing after the job: stage "after", reason no-reply', async () => {
    const r = rig();
    await r.idle(100);
    expect(await r.run(r.driver.checkStatus())).toMatchObject({ ok: true });
    const origReceive = r.device.receive.bind(r.device);
    let jobSeen = false;
    r.device.receive = (b: Buffer) => {
      const out = origReceive(b);
      if (b.length > 64) jobSeen = true;
      if (jobSeen && b.length <= 64) r.device.conditions.noReply = true;
      return out;
    };
    const result = await r.run(r.driver.print(job, 'J1'));
    expect(result).toMatchObject({ printed: false, reason: 'no-reply', stage: 'after' });
  });
});
