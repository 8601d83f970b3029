// The `posj-bridge sim printer` runner over a real pty pair: a --faults file at start, control lines as on
// stdin, receipts announced on stdout, a clean stop on the abort signal.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { PrinterDriver } from '../../firmware-ts/devices/printer/printer-driver.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { systemClock } from '../../protocol/io/clock.js';
import { renderReceipt } from '../../firmware-ts/receipts/render-receipt.js';
import { runSimPrinter } from '../../host-bridge/cli/sim-printer-command.js';
import { sampleSale } from '../../host-bridge/examples/sample-receipts.js';
import { SimCommandError } from '../../host-bridge/sim/printer-commands.js';
import { createPtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { cleanupsAfterEach, until } from '../helpers/wait.js';

const cleanups = cleanupsAfterEach();

describe('posj-bridge sim printer', () => {
  it('starts with a --faults file, takes control lines, announces receipts and stops on signal', async () => {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const dir = tmpDir('sim-printer-cli');
    const faults = path.join(dir, 'faults.txt');
    fs.writeFileSync(faults, '# start with the cover open\ncover-open\n');
    const control = new PassThrough();
    const out = new PassThrough();
    let stdout = '';
    out.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    const stop = new AbortController();
    const run = runSimPrinter({ port: pair.b, out: path.join(dir, 'out'), baud: 115200, faults }, { control, out, signal: stop.signal, log: new MemoryLog() });
    await until(() => stdout.includes('ready'), 'the simulator to attach');

    const link = new ReconnectingPort({ path: pair.a, baudRate: 115200, log: new MemoryLog(), backoffMs: 20 });
    cleanups.push(() => link.close());
    link.start();
    await link.waitOpen();
    const driver = new PrinterDriver({ link, clock: systemClock, log: new MemoryLog(), statusTimeoutMs: 300 });
    cleanups.push(() => driver.close());
    const job = renderReceipt(sampleSale('en'), 'en');

    expect(await driver.print(job, 'J1')).toMatchObject({ printed: false, reason: 'cover-open' });
    control.write('cover-close\n');
    await until(() => stdout.includes('ok cover-close'), 'the control line to apply');
    control.write('paper-out\n');
    await until(() => stdout.includes('ok paper-out'), 'the control line to apply');
    expect(await driver.print(job, 'J1')).toMatchObject({ printed: false, reason: 'paper-end' });
    control.write('no-such-fault\npaper-in\n');
    await until(() => stdout.includes('ok paper-in'), 'the control line to apply');
    expect(await driver.print(job, 'J1')).toMatchObject({ printed: true });
    expect(stdout).toMatch(/receipt \S+receipt-0001\.txt \S+receipt-0001\.svg\n/);
    expect(fs.readFileSync(path.join(dir, 'out', 'receipt-0001.txt'), 'utf8')).toContain('CNY 123.45');

    stop.abort();
    expect(await run).toBe(0);
  });

  it('refuses a bad --faults file before attaching, naming the line', async () => {
    const dir = tmpDir('sim-printer-cli');
    const faults = path.join(dir, 'faults.txt');
    fs.writeFileSync(faults, 'paper-out\npaper-sideways\n');
    const run = runSimPrinter(
      { port: path.join(dir, 'no-such-port'), out: dir, baud: 115200, faults },
      { control: new PassThrough(), out: new PassThrough(), signal: new AbortController().signal, log: new MemoryLog() },
    );
    await expect(run).rejects.toThrow(SimCommandError);
    await expect(run).rejects.toThrow(/faults\.txt:2: unknown printer simulator command "paper-sideways"/);
  });
});
