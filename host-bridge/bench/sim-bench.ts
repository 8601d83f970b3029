// The simulated bench the runner builds when no bench file is given: every part its own process — the
// acquirer simulator on loopback TCP behind the network gate, the reader and printer simulators on socat pty
// pairs, and the terminal daemon (`posj run --config`) with its real serial drivers on the other ends.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AcquirerSim, DeviceSim, LinkedDevice, NetGate, PtyLine, socatPath, socatPresent, type BenchDevice } from './bench-parts.js';
import { killAllGroups } from './bench-children.js';
import { BenchBundles } from './bench-bundles.js';
import { installFactorySlot, simFirmwareKeys } from './sim-firmware.js';
import { SimulatedTerminal, type TerminalUnderTest } from './terminal-under-test.js';

export interface Bench {
  /** What this bench is, for the first lines of the report. */
  description: string[];
  terminal: TerminalUnderTest;
  acquirer: AcquirerSim;
  gate: NetGate;
  reader: BenchDevice;
  printer: BenchDevice;
  /** Where the printer simulator writes receipt-NNNN.txt / .svg. */
  receiptsDir: string;
  /** Where the bench keeps its logs. */
  dir: string;
  /** The bundles flash steps send (this checkout's build, signed with the key the terminal trusts, where the bench has it). */
  bundles: BenchBundles;
  close(): Promise<void>;
}

export const SIM_TERMINAL_ID = '12345678';

export interface SimBenchOptions {
  receiptsDir?: string;
  /** `pty`: socat pty pairs and a simulator process per device; `in-process`: the drivers and the simulators in the terminal's process. Default: pty where socat is installed. */
  lines?: 'pty' | 'in-process';
  /** Run the terminal from firmware slots under `posj boot`, with its service port on a pty pair (what flash steps need). */
  firmware?: boolean;
}

/** Builds the simulated bench under `dir` (state carries on when `dir` is reused: journal, ledger, receipts). */
export async function startSimulatedBench(dir: string, opts: SimBenchOptions = {}): Promise<Bench> {
  const lines = opts.lines ?? (socatPresent() ? 'pty' : 'in-process');
  if (lines === 'pty' && !socatPresent()) throw new Error(`socat not found at ${socatPath()}: the pty bench puts the reader and printer on socat pty pairs (apt-get install socat, or set SOCAT=/path/to/socat)`);
  if (opts.firmware && lines !== 'pty') throw new Error(`flash steps need the terminal's service port on a socat pty pair, and socat is not found at ${socatPath()} (apt-get install socat, or set SOCAT=/path/to/socat)`);
  const root = path.resolve(dir);
  const logs = path.join(root, 'logs');
  const receiptsDir = path.resolve(opts.receiptsDir ?? path.join(root, 'receipts'));
  for (const d of [logs, receiptsDir]) fs.mkdirSync(d, { recursive: true });
  // Closed on a failure too: a terminal on firmware slots holds its service port open (see real-bench.ts).
  let opened: SimulatedTerminal | null = null;
  try {
    const acquirer = await AcquirerSim.start({ ledgerFile: path.join(root, 'acquirer', 'ledger.jsonl'), port: 0, address: '127.0.0.1', logFile: path.join(logs, 'acquirer.log') });
    const gate = await NetGate.start({ upstreamPort: acquirer.port, listenHost: '127.0.0.1', listenPort: 0, logFile: path.join(logs, 'network-gate.log') });
    const net = `  acquirer simulator on 127.0.0.1:${acquirer.port} (ledger ${acquirer.ledgerFile}) behind the network gate on 127.0.0.1:${gate.port}`;
    const terminalDir = path.join(root, 'terminal');
    const fw = opts.firmware ? simFirmwareKeys(path.join(root, 'firmware')) : null;
    const bundles = new BenchBundles(path.join(root, 'firmware', 'build'), fw?.signingKey ?? null, 'this simulated bench runs the terminal without firmware slots');
    let parts: { terminal: SimulatedTerminal; reader: BenchDevice; printer: BenchDevice; description: string[] };
    if (lines === 'pty') {
      const ptys = path.join(root, 'lines');
      fs.mkdirSync(ptys, { recursive: true });
      const readerLine = new PtyLine(path.join(ptys, 'reader-terminal'), path.join(ptys, 'reader-device'));
      const printerLine = new PtyLine(path.join(ptys, 'printer-terminal'), path.join(ptys, 'printer-device'));
      const serviceLine = fw ? new PtyLine(path.join(ptys, 'service-terminal'), path.join(ptys, 'service-bench')) : null;
      await readerLine.plug();
      await printerLine.plug();
      await serviceLine?.plug();
      const installed = fw ? await installFactorySlot(fw, bundles) : false;
      const reader = await DeviceSim.start('reader', { devicePath: readerLine.deviceEnd, line: readerLine, receiptsDir, logFile: path.join(logs, 'reader.log') });
      const printer = await DeviceSim.start('printer', { devicePath: printerLine.deviceEnd, line: printerLine, receiptsDir, logFile: path.join(logs, 'printer.log') });
      const terminal = new SimulatedTerminal({
        dir: terminalDir,
        terminalId: SIM_TERMINAL_ID,
        acquirerPort: gate.port,
        devices: { readerPath: readerLine.terminalEnd, printerPath: printerLine.terminalEnd },
        logFile: path.join(logs, 'posj.log'),
        ...(fw && serviceLine ? { firmware: { fw, servicePath: serviceLine.terminalEnd, benchServicePath: serviceLine.deviceEnd } } : {}),
      });
      parts = {
        terminal,
        reader,
        printer,
        description: [
          `simulated bench, reader and printer on socat pty pairs, every part its own process (under ${root})`,
          net,
          `  card reader simulator (posj-bridge sim reader) on pty ${readerLine.deviceEnd} ↔ terminal ${readerLine.terminalEnd}`,
          `  printer simulator (posj-bridge sim printer) on pty ${printerLine.deviceEnd} ↔ terminal ${printerLine.terminalEnd}, receipts to ${receiptsDir}`,
          fw && serviceLine
            ? `  terminal: posj boot --slots ${fw.slotsDir} (${installed ? "this checkout's build just installed in slot a, as from the factory" : 'slots carried on from an earlier run'}) -- run --config ${path.join(terminalDir, 'posj.json')} with its real serial drivers and its service port on pty ${serviceLine.terminalEnd} ↔ bench ${serviceLine.deviceEnd}; power cut = SIGKILL of the launcher and the daemon`
            : `  terminal: posj run --config ${path.join(terminalDir, 'posj.json')} with its real serial drivers; power cut = SIGKILL`,
        ],
      };
    } else {
      const terminal = new SimulatedTerminal({ dir: terminalDir, terminalId: SIM_TERMINAL_ID, acquirerPort: gate.port, devices: { linked: { receiptsDir } }, logFile: path.join(logs, 'posj.log') });
      parts = {
        terminal,
        reader: new LinkedDevice('reader', terminal),
        printer: new LinkedDevice('printer', terminal),
        description: [
          `simulated bench, reader and printer over in-process byte links (socat not found at ${socatPath()}); acquirer and terminal their own processes (under ${root})`,
          net,
          `  terminal: the daemon with its real serial drivers (CardReader, PrinterDriver on ReconnectingPort) and, on in-process cables, the reader and printer simulators — one process; power cut = SIGKILL`,
          `  receipts to ${receiptsDir}`,
        ],
      };
    }
    opened = parts.terminal;
    await parts.terminal.powerRestore();
    const { terminal } = parts;
    return {
      description: parts.description,
      terminal,
      acquirer,
      gate,
      reader: parts.reader,
      printer: parts.printer,
      receiptsDir,
      dir: root,
      bundles,
      async close() {
        await terminal.close();
        killAllGroups();
      },
    };
  } catch (e) {
    await opened?.close();
    killAllGroups();
    throw e;
  }
}
