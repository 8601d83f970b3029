// Driver unit tests: a fake ByteLink whose far end is the simulator's emulated printer, on a manual clock.
import { describe, expect, it } from 'vitest';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { PrinterDriver } from '../../firmware-ts/devices/printer/printer-driver.js';
import type { PrintResult } from '../../firmware-ts/devices/printer/print-result.js';
import { renderReceipt } from '../../firmware-ts/receipts/render-receipt.js';
import { sampleSale } from '../../host-bridge/examples/sample-receipts.js';
import { PrinterDevice, type SimReceipt } from '../../host-bridge/sim/printer-device.js';
import { receiptText } from '../../protocol/escpos/page-text.js';
import { FakeByteLink } from '../helpers/fake-byte-link.js';
import { ManualClock } from '../helpers/manual-clock.js';

const STATUS_TIMEOUT = 100;
const BACKOFF = { initialMs: 500, maxMs: 4000 };

function rig() {
  const clock = new ManualClock();
  const link = new FakeByteLink('/dev/ttyFAKE0');
  const receipts: SimReceipt[] = [];
  const device = new PrinterDevice({ onReceipt: (r) => receipts.push(r) });
  const writes: Buffer[] = [];
  link.onWrite = (bytes) => {
    writes.push(bytes);
    const reply = device.receive(bytes);
    if (reply.length > 0) queueMicrotask(() => link.receive(reply));
  };
  const log = new MemoryLog();
  const driver = new PrinterDriver({ link, clock, log, statusTimeoutMs: STATUS_TIMEOUT, recoveryBackoff: BACKOFF });
  return { clock, link, device, receipts, writes, log, driver };
}

/** Lets queued replies and promise continuations run (no time passes). */
const settle = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

const job = renderReceipt(sampleSale('zh'), 'zh');

describe('printer driver', () => {
  it('prints a job framed by DLE EOT 1..4 before and after', async () => {
    const r = rig();
    const result = await r.driver.print(job, 'J1');
    expect(result).toMatchObject({ printed: true, jobId: 'J1' });
    const all = Buffer.concat(r.writes).toString('hex');
    expect(all.startsWith('100401' + '100402' + '100403' + '100404')).toBe(true);
    expect(all.endsWith('100401' + '100402' + '100403' + '100404')).toBe(true);
    expect(r.receipts).toHaveLength(1);
    expect(receiptText(r.receipts[0]!)).toContain('123.45元');
    expect(r.driver.health()).toMatchObject({ state: 'ready', jobsPrinted: 1, jobsFailed: 0, waitingForRecovery: false });
    expect(r.log.lines.some((l) => l.includes('job J1 printed'))).toBe(true);
  });

  it('paper out after an approval: not printed, receipt kept, printed once paper is back', async () => {
    const r = rig();
    r.device.conditions.paperEnd = true;
    const pending = new Map([['J7', job]]);
    const outcomes: PrintResult[] = [];
    // The caller's side: on ready, print whatever is still pending; mark printed only on printed: true.
    r.driver.onReady(() => {
      for (const [id, bytes] of pending) {
        void r.driver.print(bytes, id).then((res) => {
          outcomes.push(res);
          if (res.printed) pending.delete(id);
        });
      }
    });

    const first = await r.driver.print(job, 'J7');
    expect(first).toMatchObject({ printed: false, reason: 'paper-end', stage: 'before' });
    expect(r.receipts).toHaveLength(0);
    expect(r.driver.health()).toMatchObject({ state: 'not-ready', problem: 'paper-end', jobsFailed: 1, waitingForRecovery: true });
    expect(r.log.lines.some((l) => l.startsWith('WARN') && l.includes('job J7 NOT printed: paper-end'))).toBe(true);

    // Still no paper at the first polls: nothing printed, polling backs off.
    r.clock.advance(BACKOFF.initialMs);
    await settle();
    r.clock.advance(BACKOFF.initialMs * 2);
    await settle();
    expect(r.receipts).toHaveLength(0);
    expect(pending.size).toBe(1);

    r.device.conditions.paperEnd = false;
    r.clock.advance(BACKOFF.initialMs * 4);
    await settle();
    expect(outcomes).toEqual([expect.objectContaining({ printed: true, jobId: 'J7' })]);
    expect(pending.size).toBe(0);
    expect(r.receipts).toHaveLength(1);
    expect(r.driver.health()).toMatchObject({ state: 'ready', jobsPrinted: 1, jobsFailed: 1, waitingForRecovery: false });
    expect(r.log.lines.some((l) => l.includes('ready again'))).toBe(true);
  });

  it('names cover open, offline and cutter error; prints on near end with a warning', async () => {
    const cases = [
      [{ coverOpen: true }, 'cover-open'],
      [{ offline: true }, 'offline'],
      [{ autoCutterError: true }, 'auto-cutter-error'],
    ] as const;
    for (const [cond, reason] of cases) {
      const r = rig();
      Object.assign(r.device.conditions, cond);
      expect(await r.driver.print(job, 'J')).toMatchObject({ printed: false, reason, stage: 'before' });
      expect(r.receipts).toHaveLength(0);
    }
    const r = rig();
    r.device.conditions.paperNearEnd = true;
    expect(await r.driver.print(job, 'J')).toMatchObject({ printed: true });
    expect(r.driver.health().paperNearEnd).toBe(true);
    expect(r.log.lines.some((l) => l.startsWith('WARN') && l.includes('paper near end'))).toBe(true);
  });

  it('no reply within the timeout: not printed, nothing sent', async () => {
    const r = rig();
    r.device.conditions.noReply = true;
    const p = r.driver.print(job, 'J2');
    await settle();
    r.clock.advance(STATUS_TIMEOUT);
    expect(await p).toMatchObject({ printed: false, reason: 'no-reply', stage: 'before' });
    expect(Buffer.concat(r.writes).toString('hex')).toBe('100401');
    expect(r.driver.health()).toMatchObject({ state: 'not-answering', problem: 'no-reply' });
  });

  it('garbage instead of a status byte: garbled-reply, and the noise is counted, not read as status', async () => {
    const r = rig();
    r.device.conditions.garbageReplies = true;
    expect(await r.driver.print(job, 'J3')).toMatchObject({ printed: false, reason: 'garbled-reply', stage: 'before' });
    r.link.receive(Buffer.from([0x12, 0x12]));
    expect(r.driver.health().strayBytes).toBe(4);
    r.device.conditions.garbageReplies = false;
    expect(await r.driver.print(job, 'J3')).toMatchObject({ printed: true });
  });

  it('paper runs out mid-slip: not printed (stage after), the torn slip is visible on the simulator', async () => {
    const r = rig();
    const device = new PrinterDevice({
      onReceipt: (x) => r.receipts.push(x),
      onJobStarted: () => void (device.conditions.paperEnd = true),
    });
    r.link.onWrite = (bytes) => {
      const reply = device.receive(bytes);
      if (reply.length > 0) queueMicrotask(() => r.link.receive(reply));
    };
    expect(await r.driver.print(job, 'J4')).toMatchObject({ printed: false, reason: 'paper-end', stage: 'after' });
    expect(r.receipts).toHaveLength(1);
    expect(r.receipts[0]!.incomplete).toBe(true);
  });

  it('checkStatus reads DLE EOT for posj status and logs only changes', async () => {
    const r = rig();
    r.device.conditions.paperNearEnd = true;
    expect(await r.driver.checkStatus()).toMatchObject({ ok: true, status: { paperNearEnd: true, paperEnd: false } });
    await r.driver.checkStatus();
    expect(r.driver.health()).toMatchObject({ state: 'ready', paperNearEnd: true, lastStatusAt: r.clock.now() });
    expect(r.log.lines.filter((l) => l.includes('status: paper near end'))).toHaveLength(1);
  });

  it('line down: link-down at once; when the line reopens the driver checks status and reports ready', async () => {
    const r = rig();
    let ready = 0;
    r.driver.onReady(() => ready++);
    r.link.setState('disconnected');
    r.link.setState('connecting');
    r.link.setState('disconnected');
    expect(r.driver.health()).toMatchObject({ state: 'link-down', waitingForRecovery: true });
    expect(r.log.lines.filter((l) => l.includes('serial line'))).toHaveLength(1);
    expect(await r.driver.print(job, 'J5')).toMatchObject({ printed: false, reason: 'link-down', stage: 'before' });
    r.clock.advance(BACKOFF.initialMs);
    await settle();
    expect(ready).toBe(0);
    r.link.setState('open');
    await settle();
    expect(ready).toBe(1);
    expect(r.driver.health()).toMatchObject({ state: 'ready', waitingForRecovery: false });
  });

  it('a write that fails mid-job is write-failed at stage sending', async () => {
    const r = rig();
    const real = r.link.onWrite;
    r.link.onWrite = (bytes) => {
      if (bytes.length > 3) throw new Error('EIO');
      real(bytes);
    };
    expect(await r.driver.print(job, 'J6')).toMatchObject({ printed: false, reason: 'write-failed', stage: 'sending' });
  });

  it('close stops polling and timers', async () => {
    const r = rig();
    r.device.conditions.coverOpen = true;
    await r.driver.print(job, 'J8');
    expect(r.clock.pendingTimers).toBe(1);
    r.driver.close();
    expect(r.clock.pendingTimers).toBe(0);
    expect(r.driver.health().state).toBe('closed');
  });

  it('a job that prints after a failure tells onReady listeners at once, before any poll (found by posj sim)', async () => {
    const r = rig();
    let ready = 0;
    r.driver.onReady(() => ready++);
    r.device.conditions.paperEnd = true;
    expect(await r.driver.print(job, 'J1')).toMatchObject({ printed: false, reason: 'paper-end' });
    expect(r.driver.health().waitingForRecovery).toBe(true);
    r.device.conditions.paperEnd = false;
    // No clock advance: the recovery poll has not run, the next job itself finds the printer ready.
    expect(await r.driver.print(job, 'J2')).toMatchObject({ printed: true });
    expect(ready).toBe(1);
    expect(r.driver.health().waitingForRecovery).toBe(false);
    expect(await r.driver.print(job, 'J3')).toMatchObject({ printed: true });
    expect(ready).toBe(1);
  });
});
