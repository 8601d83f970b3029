// The simulated serial cable under the terminal's real ReconnectingPort, on the simulated clock: bytes
// cross after the latency, a pulled cable drops both ends until it is plugged back, and a device that
// stops reading makes the terminal's writes hang until the watchdog calls the line stalled and reopens it.
import { describe, expect, it } from 'vitest';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { silentLog } from '../../protocol/io/device-log.js';
import { SimClock } from '../../host-bridge/terminal-sim/sim-clock.js';
import { SimSerialLine } from '../../host-bridge/terminal-sim/sim-serial-line.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

async function runFor(clock: SimClock, ms: number): Promise<void> {
  const end = clock.now() + ms;
  for (;;) {
    await flush();
    const at = clock.nextAt();
    if (at === null || at > end) break;
    clock.runNext();
  }
  clock.skipTo(end);
  await flush();
}

function rig() {
  const clock = new SimClock();
  const line = new SimSerialLine(clock, '/dev/ttyS9');
  const port = (open: typeof line.terminal) => {
    const p = new ReconnectingPort({ path: line.path, baudRate: 115_200, clock, log: silentLog, backoffMs: 50, maxBackoffMs: 400, stallMs: 1000, openPort: open });
    p.start();
    return p;
  };
  const terminal = port(line.terminal);
  const device = port(line.device);
  const got: string[] = [];
  device.onData((b) => got.push(b.toString('latin1')));
  return { clock, line, terminal, device, got };
}

describe('SimSerialLine', () => {
  it('carries bytes between the ends on the simulated clock', async () => {
    const r = rig();
    await runFor(r.clock, 10);
    expect(r.terminal.health().state).toBe('open');
    const t0 = r.clock.now();
    const w = r.terminal.write(Buffer.from('hello'));
    await runFor(r.clock, 5);
    await w;
    expect(r.got).toEqual(['hello']);
    expect(r.clock.now() - t0).toBeGreaterThanOrEqual(1);
  });

  it('a pulled cable drops both ends; they reopen by themselves once it is plugged back', async () => {
    const r = rig();
    await runFor(r.clock, 10);
    r.line.unplug();
    await runFor(r.clock, 200);
    expect(r.terminal.health().state).toBe('disconnected');
    expect(r.device.health().state).toBe('disconnected');
    await expect(r.terminal.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'LINK_NOT_OPEN' });
    r.line.replug();
    await runFor(r.clock, 1_000);
    expect(r.terminal.health()).toMatchObject({ state: 'open', reconnects: 1 });
    expect(r.terminal.health().lastError).toBeUndefined();
  });

  it('a device that stops reading: the write hangs, the watchdog stalls and reopens the line; reading again clears it', async () => {
    const r = rig();
    await runFor(r.clock, 10);
    r.line.stopReading();
    const w = r.terminal.write(Buffer.from('frame\n')).catch((e: { code: string }) => e.code);
    await runFor(r.clock, 1_100);
    expect(await w).toBe('LINK_STALLED');
    expect(r.terminal.health().stalls).toBe(1);
    await runFor(r.clock, 500);
    expect(r.terminal.health().state).toBe('open');
    r.line.resumeReading();
    const w2 = r.terminal.write(Buffer.from('again\n'));
    await runFor(r.clock, 10);
    await w2;
    expect(r.got).toEqual(['again\n']);
    expect(r.terminal.health().lastError).toBeUndefined();
  });
});
