// The reconnecting port over a real pty pair: bytes pass both ways binary-safe, pulling the "cable"
// (killing socat) is seen as a lost line, and a new pty at the same path is picked up again.
import { describe, expect, it } from 'vitest';
import { SerialPort } from 'serialport';
import { createPtyPair, type PtyPair } from '../helpers/pty-pair.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import type { LinkState } from '../../protocol/io/byte-link.js';
import { cleanupsAfterEach, until } from '../helpers/wait.js';

const cleanups = cleanupsAfterEach();

function openPeer(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
    p.on('error', () => {});
    cleanups.push(() => new Promise((r) => (p.isOpen ? p.close(() => r()) : r())));
  });
}

function waitState(port: ReconnectingPort, state: LinkState): Promise<void> {
  if (port.health().state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const off = port.onState((h) => {
      if (h.state === state) {
        off();
        resolve();
      }
    });
  });
}

function collect(port: ReconnectingPort): Buffer[] {
  const got: Buffer[] = [];
  port.onData((b) => got.push(b));
  return got;
}

describe('ReconnectingPort over a pty pair', () => {
  it('passes every byte value both ways', async () => {
    const pair: PtyPair = await createPtyPair();
    cleanups.push(() => pair.close());
    const log = new MemoryLog();
    const port = new ReconnectingPort({ path: pair.a, baudRate: 115200, log, backoffMs: 20 });
    cleanups.push(() => port.close());
    port.start();
    await port.waitOpen();
    const peer = await openPeer(pair.b);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const fromPeer: Buffer[] = [];
    peer.on('data', (b: Buffer) => fromPeer.push(b));
    await port.write(all);
    await until(() => Buffer.concat(fromPeer).length >= 256, 'bytes at the peer');
    expect(Buffer.concat(fromPeer)).toEqual(all);
    const got = collect(port);
    peer.write(all);
    await until(() => Buffer.concat(got).length >= 256, 'bytes at the port');
    expect(Buffer.concat(got)).toEqual(all);
    expect(log.lines.some((l) => l.includes(`serial ${pair.a}: open at 115200 baud`))).toBe(true);
  });

  it('sees an unplug, keeps retrying, and reopens at the same path', async () => {
    const first = await createPtyPair();
    const log = new MemoryLog();
    const port = new ReconnectingPort({ path: first.a, baudRate: 115200, log, backoffMs: 20, maxBackoffMs: 80 });
    cleanups.push(() => port.close());
    port.start();
    await port.waitOpen();
    const got = collect(port);

    await first.close();
    await waitState(port, 'disconnected');
    expect(port.health().lastError).toBeDefined();
    await expect(port.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'LINK_NOT_OPEN' });
    // While the path is gone the port keeps trying (the open failures are logged).
    await until(() => log.lines.some((l) => l.includes('cannot open')), 'a failed reopen');

    const second = await createPtyPair({ a: first.a, b: first.b });
    cleanups.push(() => second.close());
    await waitState(port, 'open');
    expect(port.health()).toMatchObject({ state: 'open', reconnects: 1 });
    const peer = await openPeer(second.b);
    peer.write(Buffer.from('after replug\n', 'latin1'));
    await until(() => Buffer.concat(got).includes('after replug'), 'bytes after replug');
    expect(log.lines.some((l) => l.includes('line lost'))).toBe(true);
  });

  it('close() stops reconnecting for good', async () => {
    const pair = await createPtyPair();
    const port = new ReconnectingPort({ path: pair.a, baudRate: 115200, log: new MemoryLog(), backoffMs: 10 });
    port.start();
    await port.waitOpen();
    await port.close();
    expect(port.health().state).toBe('closed');
    await pair.close();
    const again = await createPtyPair({ a: pair.a, b: pair.b });
    cleanups.push(() => again.close());
    await new Promise((r) => setTimeout(r, 100));
    expect(port.health().state).toBe('closed');
  });
});

describe('createPtyPair', () => {
  it('fails loudly, naming the fix, when socat is missing (pty tests must not pass silently)', async () => {
    const saved = process.env.SOCAT;
    process.env.SOCAT = '/nonexistent/socat';
    try {
      await expect(createPtyPair()).rejects.toThrow(/socat not found at \/nonexistent\/socat.*apt-get install socat/);
    } finally {
      if (saved === undefined) delete process.env.SOCAT;
      else process.env.SOCAT = saved;
    }
  });
});
