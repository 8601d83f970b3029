// A device that stops reading, over a real socat pty pair: the terminal's writes pile up in the tty and
// socat buffers until the kernel stops taking them; the port's watchdog then calls the line `stalled`,
// fails the writes, reopens the port (bounded memory, no replug), and once the device reads again the
// next write goes through and the stall is no longer reported.
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { describe, expect, it } from 'vitest';
import { createPtyPair } from '../helpers/pty-pair.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { cleanupsAfterEach, until } from '../helpers/wait.js';

const cleanups = cleanupsAfterEach();

describe('a serial device that stops reading (real pty)', () => {
  it('is reported stalled, the port reopens by itself, and the line works again once the device reads', async () => {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    // The device end is open (so the line is up) but nobody reads it.
    const deviceFd = fs.openSync(pair.b, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    cleanups.push(() => fs.closeSync(deviceFd));
    const log = new MemoryLog(1000);
    // At 921600 baud the 64 KiB queue gets 1.4 s of transmit time (with slack) before the stall counts.
    const port = new ReconnectingPort({ path: pair.a, baudRate: 921_600, log, backoffMs: 50, maxBackoffMs: 200, stallMs: 300, maxQueuedBytes: 64 * 1024 });
    port.start();
    cleanups.push(() => port.close());
    await port.waitOpen();

    const chunk = Buffer.alloc(16 * 1024, 0x55);
    const results: Array<Promise<unknown>> = [];
    let refused = 0;
    // Far more than the tty and socat buffers hold; the queue limit refuses what goes beyond it.
    for (let i = 0; i < 32; i++) results.push(port.write(chunk).catch((e: { code?: string }) => (e.code === 'LINK_QUEUE_FULL' ? refused++ : e.code)));
    await until(() => (port.health().stalls ?? 0) >= 1, 'the watchdog to call the line stalled', 10_000);
    const settled = await Promise.all(results);
    expect(settled).toContain('LINK_STALLED');
    expect(refused).toBeGreaterThan(0);
    expect(port.health().lastError).toContain('device stopped reading');
    expect(log.lines.some((l) => l.includes('device stopped reading'))).toBe(true);
    await until(() => port.health().state === 'open', 'the port to reopen without a replug', 5000);
    expect(port.health().reconnects).toBeGreaterThanOrEqual(1);

    // The device reads again: the backlog drains and a new write completes and clears the stall.
    const reader = new tty.ReadStream(fs.openSync(pair.b, fs.constants.O_RDWR | fs.constants.O_NOCTTY));
    reader.on('data', () => undefined);
    cleanups.push(() => void reader.destroy());
    await until(() => port.health().state === 'open', 'open', 5000);
    await port.write(Buffer.from('hello\n'));
    expect(port.health().lastError).toBeUndefined();
    expect(log.lines.some((l) => l.includes('reading again'))).toBe(true);
  });
});
