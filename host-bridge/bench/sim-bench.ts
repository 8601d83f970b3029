// The simulated bench the runner builds when no bench file is given: every part its own process — the
// acquirer simulator on loopback TCP behind the network gate, the reader and printer simulators on socat pty
// pairs, and the terminal daemon (`posj run --config`) with its real serial drivers on the other ends.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AcquirerSim, DeviceSim, NetGate, PtyLine, socatPath, socatPresent } from './bench-parts.js';
import { killAllGroups } from './bench-children.js';
import { SimulatedTerminal, type TerminalUnderTest } from './terminal-under-test.js';

export interface Bench {
  /** What this bench is, for the first lines of the report. */
  description: string[];
  terminal: TerminalUnderTest;
  acquirer: AcquirerSim;
  gate: NetGate;
  reader: DeviceSim;
  printer: DeviceSim;
  /** Where the printer simulator writes receipt-NNNN.txt / .svg. */
  receiptsDir: string;
  /** Where the bench keeps its logs. */
  dir: string;
  close(): Promise<void>;
}

export const SIM_TERMINAL_ID = '12345678';

/** Builds the simulated bench under `dir` (state carries on when `dir` is reused: journal, ledger, receipts). */
export async function startSimulatedBench(dir: string): Promise<Bench> {
  if (!socatPresent()) throw new Error(`socat not found at ${socatPath()}: the simulated bench puts the reader and printer on socat pty pairs (apt-get install socat, or set SOCAT=/path/to/socat)`);
  const root = path.resolve(dir);
  const logs = path.join(root, 'logs');
  const lines = path.join(root, 'lines');
  const receiptsDir = path.join(root, 'receipts');
  for (const d of [logs, lines, receiptsDir]) fs.mkdirSync(d, { recursive: true });
  try {
    const acquirer = await AcquirerSim.start({ ledgerFile: path.join(root, 'acquirer', 'ledger.jsonl'), port: 0, address: '127.0.0.1', logFile: path.join(logs, 'acquirer.log') });
    const gate = await NetGate.start({ upstreamPort: acquirer.port, listenHost: '127.0.0.1', listenPort: 0, logFile: path.join(logs, 'network-gate.log') });
    const readerLine = new PtyLine(path.join(lines, 'reader-terminal'), path.join(lines, 'reader-device'));
    const printerLine = new PtyLine(path.join(lines, 'printer-terminal'), path.join(lines, 'printer-device'));
    await readerLine.plug();
    await printerLine.plug();
    const reader = await DeviceSim.start('reader', { devicePath: readerLine.deviceEnd, line: readerLine, receiptsDir, logFile: path.join(logs, 'reader.log') });
    const printer = await DeviceSim.start('printer', { devicePath: printerLine.deviceEnd, line: printerLine, receiptsDir, logFile: path.join(logs, 'printer.log') });
    const terminal = new SimulatedTerminal({ dir: path.join(root, 'terminal'), terminalId: SIM_TERMINAL_ID, acquirerPort: gate.port, readerPath: readerLine.terminalEnd, printerPath: printerLine.terminalEnd, logFile: path.join(logs, 'posj.log') });
    await terminal.powerRestore();
    return {
      description: [
        `simulated bench under ${root}: every part its own process`,
        `  acquirer simulator on 127.0.0.1:${acquirer.port} (ledger ${acquirer.ledgerFile}) behind the network gate on 127.0.0.1:${gate.port}`,
        `  card reader simulator on pty ${readerLine.deviceEnd} ↔ terminal ${readerLine.terminalEnd}; printer simulator on pty ${printerLine.deviceEnd} ↔ terminal ${printerLine.terminalEnd} (socat)`,
        `  terminal: posj run --config ${path.join(root, 'terminal', 'posj.json')} with its real serial drivers; power cut = SIGKILL`,
      ],
      terminal,
      acquirer,
      gate,
      reader,
      printer,
      receiptsDir,
      dir: root,
      async close() {
        await terminal.close();
        killAllGroups();
      },
    };
  } catch (e) {
    killAllGroups();
    throw e;
  }
}
