// The terminal of the simulated bench where socat is not installed (`npm ci && npm start` on a machine with
// only Node): one process holding the daemon with its real serial drivers (CardReader, PrinterDriver, each on
// a ReconnectingPort) and, on the far ends of in-process serial cables (SimSerialLine on the real clock), the
// same reader and printer simulators the pty bench runs as their own processes. The acquirer is still its
// own process over TCP. `node linked-terminal.js CONFIG RECEIPTS_DIR`; the daemon logs as `posj run` does on
// stderr; stdin takes `reader LINE` / `printer LINE` (a simulator control line, or unplug / replug of its
// cable), each answered `ok reader|printer LINE`; each receipt torn off is `receipt TXT SVG` on stdout.
import * as readline from 'node:readline';
import { systemClock } from '../../protocol/io/clock.js';
import { silentLog } from '../../protocol/io/device-log.js';
import { loadConfig } from '../../firmware-ts/daemon/config.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { startDaemon, type SimulatedParts } from '../../firmware-ts/daemon/daemon.js';
import { CardReader } from '../../firmware-ts/devices/card-reader/card-reader.js';
import { PrinterDriver } from '../../firmware-ts/devices/printer/printer-driver.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { parseSimCommand } from '../sim/printer-commands.js';
import { PrinterSimulator } from '../sim/printer-simulator.js';
import { ReaderSimulator } from '../sim/reader-simulator.js';
import { SimSerialLine } from '../terminal-sim/sim-serial-line.js';

const BAUD = 115_200;
const [configFile, receiptsDir] = process.argv.slice(2);
if (!configFile || !receiptsDir) {
  process.stderr.write('usage: linked-terminal.js CONFIG RECEIPTS_DIR\n');
  process.exit(2);
}
const clock = systemClock;
const log = lineLog((l) => process.stderr.write(l), clock);
const readerLine = new SimSerialLine(clock, 'in-process:reader');
const printerLine = new SimSerialLine(clock, 'in-process:printer');
const devicePort = (line: SimSerialLine) => new ReconnectingPort({ path: line.path, baudRate: BAUD, clock, log: silentLog, backoffMs: 50, maxBackoffMs: 500, openPort: line.device });
const reader = new ReaderSimulator({ path: readerLine.path, clock, openLink: () => devicePort(readerLine) });
reader.start();
const printer = new PrinterSimulator({ path: printerLine.path, outDir: receiptsDir, clock, openPort: printerLine.device, onReceipt: (w, r) => process.stdout.write(`receipt ${w.txt} ${w.svg}${r.incomplete ? ' INCOMPLETE' : ''}\n`) });
await printer.start();

const terminalPort = (line: SimSerialLine) => {
  const p = new ReconnectingPort({ path: line.path, baudRate: BAUD, clock, log: { info: (m) => log.event('serial', { detail: m }), warn: (m) => log.event('serial-warning', { detail: m }) }, openPort: line.terminal });
  p.start();
  return p;
};

/** The config's "simulated" reader and printer: the terminal's real drivers on the in-process cables. */
const parts: SimulatedParts = {
  acquirer() {
    throw new Error('the linked terminal talks to the acquirer simulator over TCP: give acquirer {host, port} in the config');
  },
  reader() {
    const driver = new CardReader({ link: terminalPort(readerLine), clock, log: silentLog });
    return {
      async readCard({ amount, currency, timeoutMs }) {
        const w = await driver.waitForCard({ timeoutMs });
        if (w.kind !== 'card') return { kind: 'no-card', detail: w.kind };
        return { kind: 'card', card: await driver.readCard({ amount, currency }) };
      },
      completeChip: (o) => driver.completeChip(o),
      enterPin: (o) => driver.requestOnlinePin(o),
      health: () => driver.health(),
    };
  },
  printer() {
    const driver = new PrinterDriver({ link: terminalPort(printerLine), clock, log: silentLog });
    return { print: (job, id) => driver.print(job, id), onReady: (l) => driver.onReady(() => l()), health: () => driver.health() };
  },
};

const daemon = await startDaemon({ config: loadConfig(configFile), log, simulated: parts });

readline.createInterface({ input: process.stdin }).on('line', (raw) => {
  const line = raw.trim();
  const [device, ...rest] = line.split(/\s+/);
  const cmd = rest.join(' ');
  const done = () => process.stdout.write(`ok ${line}\n`);
  const cable = device === 'reader' ? readerLine : printerLine;
  try {
    if (device !== 'reader' && device !== 'printer') throw new Error(`unknown device ${device}`);
    if (cmd === 'unplug') cable.unplug();
    else if (cmd === 'replug') cable.replug();
    else if (device === 'reader') reader.control(cmd);
    else return void printer.apply(parseSimCommand(cmd)).then(done);
    done();
  } catch (e) {
    process.stdout.write(`error ${line}: ${(e as Error).message}\n`);
  }
});

const stop = async () => {
  await daemon.shutdown('SIGTERM');
  await reader.stop();
  await printer.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
