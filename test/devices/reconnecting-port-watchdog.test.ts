// The reconnecting port's write queue and watchdog over a scripted raw port and a manual clock: a device
// that stops taking bytes is `stalled`, its writes fail, the line is reopened, and memory stays bounded;
// lastError goes away once the line works again.
import { describe, expect, it } from 'vitest';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import type { RawPort } from '../../firmware-ts/devices/raw-port.js';
import type { LinkHealth } from '../../protocol/io/byte-link.js';
import { ManualClock } from '../helpers/manual-clock.js';

const flush = () => new Promise((r) => setTimeout(r, 0));

/** A raw port whose writes complete only when the test says the device read them. */
class ScriptedPort implements RawPort {
  isOpen = false;
  readonly writes: Array<{ bytes: Buffer; cb: (err: Error | null | undefined) => void }> = [];
  closed = false;
  private closeListener: ((err?: Error & { disconnected?: boolean }) => void) | undefined;
  open(cb: (err: Error | null) => void): void {
    this.isOpen = true;
    queueMicrotask(() => cb(null));
  }
  write(bytes: Buffer, cb: (err: Error | null | undefined) => void): void {
    this.writes.push({ bytes, cb });
  }
  close(cb: (err: Error | null) => void): void {
    this.isOpen = false;
    this.closed = true;
    cb(null);
  }
  onData(): void {}
  onError(): void {}
  onClose(l: (err?: Error & { disconnected?: boolean }) => void): void {
    this.closeListener = l;
  }
  /** The device reads everything written so far. */
  drainAll(): void {
    for (const w of this.writes.splice(0)) w.cb(null);
  }
  unplug(): void {
    this.isOpen = false;
    this.closeListener?.(Object.assign(new Error('device gone'), { disconnected: true }));
  }
}

function rig(opts: { baudRate?: number; maxQueuedBytes?: number; stallMs?: number } = {}) {
  const clock = new ManualClock();
  const log = new MemoryLog(1000);
  const ports: ScriptedPort[] = [];
  const port = new ReconnectingPort({
    path: '/dev/ttyTEST',
    baudRate: opts.baudRate ?? 115_200,
    clock,
    log,
    backoffMs: 100,
    maxBackoffMs: 1000,
    ...(opts.maxQueuedBytes !== undefined ? { maxQueuedBytes: opts.maxQueuedBytes } : {}),
    ...(opts.stallMs !== undefined ? { stallMs: opts.stallMs } : {}),
    openPort: () => {
      const p = new ScriptedPort();
      ports.push(p);
      return p;
    },
  });
  const states: LinkHealth[] = [];
  port.onState((h) => states.push(h));
  return { clock, log, port, ports, states, last: () => ports.at(-1)! };
}

describe('ReconnectingPort write queue and watchdog', () => {
  it('a device that stops reading is stalled: writes fail LINK_STALLED, the line is reopened', async () => {
    const r = rig({ stallMs: 2000 });
    r.port.start();
    await r.port.waitOpen();
    const w1 = r.port.write(Buffer.alloc(100, 0x41));
    const w2 = r.port.write(Buffer.alloc(100, 0x42));
    const failed = Promise.allSettled([w1, w2]);
    expect(r.port.health().queuedBytes).toBe(200);
    // 2000 ms plus 200 bytes' transmit time at 115200 baud (35 ms with the slack).
    r.clock.advance(2030);
    expect(r.port.health().state).toBe('open');
    r.clock.advance(10);
    const [a, b] = await failed;
    expect(a).toMatchObject({ status: 'rejected', reason: { code: 'LINK_STALLED', queuedBytes: 200 } });
    expect(b).toMatchObject({ status: 'rejected', reason: { code: 'LINK_STALLED' } });
    expect(r.states.map((s) => s.state)).toContain('stalled');
    expect(r.ports[0]!.closed).toBe(true);
    expect(r.port.health()).toMatchObject({ state: 'stalled', stalls: 1, queuedBytes: 0, lastError: expect.stringContaining('device stopped reading') });
    r.clock.advance(100);
    await r.port.waitOpen();
    expect(r.ports).toHaveLength(2);
    // Reopened, but the stall is not cured until the device takes bytes again.
    expect(r.port.health()).toMatchObject({ state: 'open', reconnects: 1, lastError: expect.stringContaining('stopped reading') });
    const w3 = r.port.write(Buffer.from('ok'));
    r.last().drainAll();
    await w3;
    expect(r.port.health().lastError).toBeUndefined();
    expect(r.log.lines.some((l) => l.includes('reading again'))).toBe(true);
  });

  it('progress keeps the watchdog quiet: a slow device that keeps reading is never stalled', async () => {
    const r = rig({ stallMs: 2000 });
    r.port.start();
    await r.port.waitOpen();
    for (let i = 0; i < 10; i++) {
      const w = r.port.write(Buffer.from(`line ${i}\n`));
      r.clock.advance(1500);
      r.last().drainAll();
      await w;
    }
    expect(r.port.health()).toMatchObject({ state: 'open', stalls: 0 });
  });

  it('gives queued bytes their transmit time at the line baud rate before calling it a stall', async () => {
    // 9600 baud: 4800 bytes take 5 s on the wire (10 bits a byte), 10 s with the slack.
    const r = rig({ baudRate: 9600, stallMs: 2000 });
    r.port.start();
    await r.port.waitOpen();
    const w = r.port.write(Buffer.alloc(4800)).catch((e: Error) => e);
    r.clock.advance(11_000);
    expect(r.port.health().state).toBe('open');
    r.clock.advance(1_000);
    expect(r.port.health().state).toBe('stalled');
    expect(await w).toMatchObject({ code: 'LINK_STALLED' });
  });

  it('the write queue is bounded: past maxQueuedBytes a write is refused, not buffered', async () => {
    const r = rig({ maxQueuedBytes: 1000 });
    r.port.start();
    await r.port.waitOpen();
    const held = [r.port.write(Buffer.alloc(600)), r.port.write(Buffer.alloc(400))];
    await expect(r.port.write(Buffer.alloc(1))).rejects.toMatchObject({ code: 'LINK_QUEUE_FULL', queuedBytes: 1000, limit: 1000 });
    expect(r.port.health().queuedBytes).toBe(1000);
    expect(r.last().writes).toHaveLength(2);
    // A thousand more refused writes log one line, not a thousand.
    for (let i = 0; i < 1000; i++) await r.port.write(Buffer.alloc(10)).catch(() => undefined);
    expect(r.log.lines.filter((l) => l.includes('write refused'))).toHaveLength(1);
    r.last().drainAll();
    await Promise.all(held);
    // Drained: room again.
    void r.port.write(Buffer.alloc(1000)).catch(() => undefined);
    expect(r.port.health().queuedBytes).toBe(1000);
    await r.port.close();
  });

  it('lastError is cleared after a good reconnect (not stale from the last unplug)', async () => {
    const r = rig();
    r.port.start();
    await r.port.waitOpen();
    const pending = r.port.write(Buffer.from('x')).catch((e: Error) => e);
    r.ports[0]!.unplug();
    expect(await pending).toMatchObject({ code: 'LINK_NOT_OPEN' });
    expect(r.port.health()).toMatchObject({ state: 'disconnected', lastError: 'device gone', queuedBytes: 0 });
    r.clock.advance(100);
    await r.port.waitOpen();
    expect(r.port.health().lastError).toBeUndefined();
    expect(r.port.health().reconnects).toBe(1);
    await flush();
  });
});
