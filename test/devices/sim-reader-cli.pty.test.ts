// `posj-bridge sim reader`: the runner behind the CLI over a real pty (cards file, faults file, control lines
// on stdin), its refusal of bad input files, and the shared `sim` parent command.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { createPtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import { CardReader } from '../../firmware-ts/devices/card-reader/card-reader.js';
import { registerSimReaderCommand, runSimReader } from '../../host-bridge/cli/sim-reader-command.js';
import { simCommand } from '../../host-bridge/cli/sim-command.js';
import { DEFAULT_TEST_CARDS } from '../../host-bridge/sim/reader-cards.js';
import { cleanupsAfterEach } from '../helpers/wait.js';

const cleanups = cleanupsAfterEach();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('posj-bridge sim reader', () => {
  it('runs with a cards file, a faults file and control lines on stdin', async () => {
    const dir = tmpDir('sim-reader');
    const cards = path.join(dir, 'cards.json');
    fs.writeFileSync(cards, JSON.stringify([
      { name: 'up', pan: '6200000000000005', expiry: '3012', entryMode: 'chip', aid: 'A000000333010101', pin: 'online', pinDigits: '123456' },
      { name: 'visa-mag', pan: '4242424242424242', expiry: '2808', entryMode: 'magstripe', pin: 'none' },
    ]));
    const faults = path.join(dir, 'faults.txt');
    fs.writeFileSync(faults, '# first read goes out with a bad CRC\non READ bad-crc\n\n');
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const control = new PassThrough();
    const stop = new AbortController();
    const simLog = new MemoryLog(1000);
    const running = runSimReader({ port: pair.b, baud: 115200, cards, faults }, { control, signal: stop.signal, log: simLog });

    const port = new ReconnectingPort({ path: pair.a, baudRate: 115200, log: new MemoryLog(), backoffMs: 20 });
    port.start();
    cleanups.push(() => port.close());
    const reader = new CardReader({ link: port, clock: systemClock, ackTimeoutMs: 80, responseTimeoutMs: 600 });
    cleanups.push(() => reader.close());
    await port.waitOpen();

    const first = await reader.readCard({ amount: 1, currency: '156' });
    expect(first.maskedPan).toBe('620000******0005');
    expect(reader.health().frames.badCrc).toBe(1);

    control.write('card visa-mag\n');
    control.write('this is not a control line\n');
    await sleep(50);
    const second = await reader.readCard({ amount: 1, currency: '156' });
    expect(second).toMatchObject({ entryMode: 'magstripe', maskedPan: '424242******4242' });
    expect(simLog.lines.some((l) => l.includes('bad control line "this is not a control line"'))).toBe(true);
    expect(simLog.lines.some((l) => l.includes('cards up (620000******0005, chip), visa-mag (424242******4242, magstripe)'))).toBe(true);

    stop.abort();
    expect(await running).toBe(0);
    expect(simLog.lines.at(-1)).toContain('reader sim: stopped');
  });

  it('refuses a cards file with a PAN that is not a known test PAN, naming the card', async () => {
    const dir = tmpDir('sim-reader');
    const cards = path.join(dir, 'cards.json');
    // Luhn-valid, but not a published test number.
    fs.writeFileSync(cards, JSON.stringify([{ name: 'x', pan: '4111111111111129', expiry: '3012', entryMode: 'magstripe', pin: 'none' }]));
    const run = runSimReader({ port: '/nonexistent', baud: 115200, cards }, { control: new PassThrough(), signal: AbortSignal.abort(), log: new MemoryLog() });
    await expect(run).rejects.toMatchObject({ code: 'CARDS_FILE_INVALID', where: '[0].pan' });
  });

  it('refuses a faults file with a bad line, naming file and line', async () => {
    const dir = tmpDir('sim-reader');
    const faults = path.join(dir, 'faults.txt');
    fs.writeFileSync(faults, 'bad-crc\non READ explode\n');
    const run = runSimReader({ port: '/nonexistent', baud: 115200, faults }, { control: new PassThrough(), signal: AbortSignal.abort(), log: new MemoryLog() });
    await expect(run).rejects.toThrow(`${faults}:2`);
  });

  it('attaches to one shared sim parent, whichever simulator registers first, and documents the faults', () => {
    const program = new Command('posj-bridge');
    const sim = simCommand(program);
    registerSimReaderCommand(program);
    expect(simCommand(program)).toBe(sim);
    expect(program.commands.filter((c) => c.name() === 'sim')).toHaveLength(1);
    const reader = sim.commands.find((c) => c.name() === 'reader')!;
    let help = '';
    reader.configureOutput({ writeOut: (s) => (help += s) });
    reader.outputHelp();
    for (const word of ['--port', '--cards', '--faults', 'garbage', 'bad-crc', 'partial', 'oversize', 'no-reply', 'unplug', 'decline-ac2']) {
      expect(help).toContain(word);
    }
    expect(DEFAULT_TEST_CARDS.length).toBeGreaterThan(0);
  });
});
