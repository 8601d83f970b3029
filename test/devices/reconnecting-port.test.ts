// Reopen backoff of the reconnecting port runs on the injected Clock: nothing is retried until the clock
// says so, and the delay doubles up to its cap.
import { describe, expect, it } from 'vitest';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { tmpDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

describe('ReconnectingPort backoff', () => {
  it('retries a failed open only when the clock reaches the backoff, doubling to the cap', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog();
    const path = `${tmpDir('no-port')}/ttyUSB9`;
    const port = new ReconnectingPort({ path, baudRate: 9600, clock, log, backoffMs: 100, maxBackoffMs: 300 });
    port.start();
    const failures = () => log.lines.filter((l) => l.includes('cannot open')).length;
    await until(() => failures() === 1, 'the first failed open');
    expect(log.lines[0]).toContain(`serial ${path}: cannot open`);
    expect(log.lines[0]).toContain('retry in 100 ms');
    expect(port.health()).toMatchObject({ state: 'disconnected', reconnects: 0 });
    expect(port.health().lastError).toBeDefined();

    clock.advance(99);
    await new Promise((r) => setTimeout(r, 30));
    expect(failures()).toBe(1);
    clock.advance(1);
    await until(() => failures() === 2, 'the second failed open');
    expect(log.lines.at(-1)).toContain('retry in 200 ms');
    clock.advance(200);
    await until(() => failures() === 3, 'the third failed open');
    expect(log.lines.at(-1)).toContain('retry in 300 ms');
    clock.advance(300);
    await until(() => failures() === 4, 'the fourth failed open');
    expect(log.lines.at(-1)).toContain('retry in 300 ms');

    await port.close();
    expect(clock.pendingTimers).toBe(0);
    await expect(port.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'LINK_NOT_OPEN', state: 'closed' });
  });
});
