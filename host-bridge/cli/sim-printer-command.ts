// `posj-bridge sim printer --port PATH --out DIR`: a receipt printer on a serial path for bench runs and
// end-to-end tests. Each receipt it tears off is written as DIR/receipt-NNNN.txt and .svg and announced on
// stdout. Faults come from a --faults file (applied at start) and from control lines on stdin, one per line:
//   paper-out | paper-near-end | paper-in | cover-open | cover-close | offline | online | cutter-error |
//   cutter-ok | no-reply | reply | garbage-replies | clean-replies | reset | garbage [N] | unplug | replug |
//   status
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { ExitCode, action } from '../../firmware-ts/cli/exit-codes.js';
import { stderrLog, type DeviceLog } from '../../protocol/io/device-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import { COMMAND_HELP, parseSimCommand, SimCommandError, type SimCommand } from '../sim/printer-commands.js';
import { PrinterSimulator } from '../sim/printer-simulator.js';
import { simCommand } from './sim-command.js';

export interface SimPrinterOptions {
  port: string;
  out: string;
  baud: number;
  faults?: string;
}

/** Parses a --faults file completely before anything is attached, naming the bad line. */
function readFaultsFile(file: string): SimCommand[] {
  const cmds: SimCommand[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      try {
        cmds.push(parseSimCommand(line));
      } catch (err) {
        if (err instanceof SimCommandError) throw new SimCommandError(`${file}:${i + 1}: ${err.message}`);
        throw err;
      }
    });
  return cmds;
}

/** Runs the simulator until `signal` aborts; control lines come from `control` (stdin in the CLI). */
export async function runSimPrinter(
  opts: SimPrinterOptions,
  io: { control: Readable; out: Writable; signal: AbortSignal; log: DeviceLog },
): Promise<number> {
  if (!Number.isInteger(opts.baud) || opts.baud <= 0) throw new Error(`--baud must be a positive integer, got ${opts.baud}`);
  const script = opts.faults ? readFaultsFile(opts.faults) : [];
  const sim = new PrinterSimulator({
    path: opts.port,
    outDir: opts.out,
    baudRate: opts.baud,
    log: io.log,
    onReceipt: (w, r) => io.out.write(`receipt ${w.txt} ${w.svg}${r.incomplete ? ' INCOMPLETE' : ''}\n`),
  });
  io.log.info(`printer sim: attaching to ${opts.port} at ${opts.baud} baud; receipts to ${opts.out}`);
  await sim.start();
  for (const c of script) await sim.apply(c);
  io.out.write(`ready ${opts.port}: ${sim.describe()}\n`);
  const rl = readline.createInterface({ input: io.control, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let cmd: SimCommand;
    try {
      cmd = parseSimCommand(line);
    } catch (err) {
      io.log.warn(`printer sim: ${(err as Error).message}`);
      return;
    }
    void sim.apply(cmd).then(() => io.out.write(`ok ${line.trim()}: ${sim.describe()}\n`));
  });
  // stdin ending (a script ran out, or </dev/null) does not stop the printer; a signal does.
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  rl.close();
  await sim.close();
  io.log.info('printer sim: stopped');
  return ExitCode.ok;
}

export function registerSimPrinterCommand(program: Command): void {
  simCommand(program)
    .command('printer')
    .description('simulate an ESC/POS receipt printer on a serial path; writes each receipt as DIR/receipt-NNNN.txt and .svg')
    .requiredOption('--port <path>', 'serial path to attach to (one end of a socat pty pair, or a USB-serial adapter)')
    .requiredOption('--out <dir>', 'directory for receipt-NNNN.txt / receipt-NNNN.svg (numbering continues after existing files)')
    .addOption(new Option('--baud <n>', 'baud rate').default(115_200).argParser((v) => Number.parseInt(v, 10)))
    .option('--faults <file>', 'fault commands applied at start, one per line (same words as stdin; # comments)')
    .addHelpText(
      'after',
      `\nControl lines on stdin, one per line: ${COMMAND_HELP}\n\nExample:\n  socat -d -d pty,raw,echo=0,link=/tmp/term pty,raw,echo=0,link=/tmp/printer &\n  (sleep 5; echo paper-out; sleep 10; echo paper-in) | posj-bridge sim printer --port /tmp/printer --out receipts/\n`,
    )
    .action(
      action(async (opts: SimPrinterOptions) => {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        return runSimPrinter(opts, { control: process.stdin, out: process.stdout, signal: stop.signal, log: stderrLog(systemClock) });
      }),
    );
}
