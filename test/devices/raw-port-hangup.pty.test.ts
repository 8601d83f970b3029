// A serial line that hangs up while no read is waiting on the poller: the next read returns end of file,
// and node-serialport's own Unix read retries that forever (a thread-pool spin, the line never reported
// lost). Here the hang-up happens between open and the first read, which makes that window certain.
import { describe, expect, it } from 'vitest';
import { createPtyPair } from '../helpers/pty-pair.js';
import { openSerialPort, type RawPort } from '../../firmware-ts/devices/raw-port.js';
import { cleanupsAfterEach } from '../helpers/wait.js';

const cleanups = cleanupsAfterEach();

function opened(path: string): Promise<RawPort> {
  const port = openSerialPort(path, 115200);
  port.onError(() => undefined);
  cleanups.push(() => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())));
  return new Promise((resolve, reject) => port.open((err) => (err ? reject(err) : resolve(port))));
}

describe('a raw serial port on a line that hung up', () => {
  it('closes as disconnected on the end-of-file read instead of reading again forever', async () => {
    const pair = await createPtyPair();
    const port = await opened(pair.b);
    await pair.close(); // the far end is gone before anything reads: the tty is hung up
    const closed = new Promise<(Error & { disconnected?: boolean }) | undefined>((resolve) => port.onClose(resolve));
    const timeout = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 3000).unref());
    port.onData(() => undefined); // starts the first read
    const cpu = process.cpuUsage();
    const outcome = await Promise.race([closed, timeout]);
    expect(outcome).not.toBe('still open');
    expect((outcome as { disconnected?: boolean } | undefined)?.disconnected).toBe(true);
    expect(String((outcome as Error).message)).toMatch(/hung up/);
    expect(port.isOpen).toBe(false);
    // The close came from the first read, not after a spin of reads: far under the 3 s a spin would burn.
    const used = process.cpuUsage(cpu);
    expect((used.user + used.system) / 1000).toBeLessThan(1000);
  });

  it('still reads what the far end wrote before it hung up', async () => {
    const pair = await createPtyPair();
    const port = await opened(pair.b);
    const got: Buffer[] = [];
    const closed = new Promise<void>((resolve) => port.onClose(() => resolve()));
    port.onData((b) => got.push(b));
    const peer = await opened(pair.a);
    await new Promise<void>((resolve, reject) => peer.write(Buffer.from('STATUS 1\n'), (err) => (err ? reject(err) : resolve())));
    while (Buffer.concat(got).length < 9) await new Promise((r) => setTimeout(r, 10));
    await pair.close();
    await closed;
    expect(Buffer.concat(got).toString()).toBe('STATUS 1\n');
  });
});
