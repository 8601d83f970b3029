// `posj-bridge sim reader --port PATH`: a card reader on a serial path, steered by control lines.
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import { Command, Option } from 'commander';
import { ExitCode, action } from '../../firmware-ts/cli/exit-codes.js';
import { stderrLog, type DeviceLog } from '../../protocol/io/device-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import { maskPan } from '../../firmware-ts/pci/card-data.js';
import { SecretKey } from '../../protocol/iso8583/index.js';
import { DEFAULT_TEST_CARDS, loadCardsFile, type TestCard } from '../sim/reader-cards.js';
import { CONTROL_HELP, ControlLineError, parseControlLine } from '../sim/reader-faults.js';
import { ReaderSimulator } from '../sim/reader-simulator.js';
import { simCommand } from './sim-command.js';

export interface SimReaderOptions {
  port: string;
  baud: number;
  cards?: string;
  present?: string;
  faults?: string;
  /** The PIN pad's terminal master key (32 hex digits): the terminal's, which wraps the PIN key. */
  tmk?: string;
}

/** Checks a --faults file completely before anything is attached, naming the bad line. */
function readFaultsFile(file: string): string[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    try {
      parseControlLine(line);
    } catch (err) {
      if (err instanceof ControlLineError) throw new ControlLineError(line, `${file}:${i + 1}: ${err.message}`);
      throw err;
    }
  });
  return lines;
}

/** Runs the simulator until `signal` aborts; control lines come from `control` (stdin in the CLI). */
export async function runSimReader(opts: SimReaderOptions, io: { control: Readable; signal: AbortSignal; log: DeviceLog }): Promise<number> {
  const cards: readonly TestCard[] = opts.cards ? loadCardsFile(opts.cards) : DEFAULT_TEST_CARDS;
  const script = opts.faults ? readFaultsFile(opts.faults) : [];
  const present = opts.present === 'none' ? null : opts.present;
  const sim = new ReaderSimulator({ path: opts.port, baudRate: opts.baud, cards, present, clock: systemClock, log: io.log, ...(opts.tmk ? { tmk: SecretKey.fromHex(opts.tmk) } : {}) });
  io.log.info(`reader sim: cards ${cards.map((c) => `${c.name} (${maskPan(c.pan)}, ${c.entryMode})`).join(', ')}`);
  io.log.info(`reader sim: presented ${sim.presentedCard ?? 'no card'}; attaching to ${opts.port} at ${opts.baud} baud`);
  sim.start();
  for (const line of script) sim.control(line);
  const rl = readline.createInterface({ input: io.control, crlfDelay: Infinity });
  rl.on('line', (line) => {
    try {
      const done = sim.control(line);
      if (done) io.log.info(`reader sim: control ${line.trim()}`);
    } catch (err) {
      io.log.warn(`reader sim: ${(err as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  rl.close();
  await sim.stop();
  io.log.info('reader sim: stopped');
  return ExitCode.ok;
}

export function registerSimReaderCommand(program: Command): void {
  simCommand(program)
    .command('reader')
    .description('simulate a card reader (PIN pad / contactless reader) on a serial path')
    .requiredOption('--port <path>', 'serial path to attach to (one end of a socat pty pair, or a USB-serial adapter)')
    .addOption(new Option('--baud <n>', 'baud rate').default(115_200).argParser((v) => Number.parseInt(v, 10)))
    .option('--cards <file>', 'JSON array of test cards (test PANs only); default: the built-in test cards')
    .option('--present <name>', "card presented at start ('none' for no card); default: the first card")
    .option('--faults <file>', 'control lines applied at start, one per line (same language as stdin)')
    .option('--tmk <hex>', "the PIN pad's terminal master key, 32 hex digits, which unwraps the PIN key of each PIN command (test key by default)")
    .addHelpText(
      'after',
      `\n${CONTROL_HELP}\n\nExample:\n  socat -d -d pty,raw,echo=0,link=/tmp/term pty,raw,echo=0,link=/tmp/reader &\n  (sleep 5; echo 'on READ bad-crc'; sleep 5; echo 'on GEN_AC2 decline-ac2') | posj-bridge sim reader --port /tmp/reader\n`,
    )
    .action(
      action(async (opts: SimReaderOptions) => {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        return runSimReader(opts, { control: process.stdin, signal: stop.signal, log: stderrLog(systemClock) });
      }),
    );
}
