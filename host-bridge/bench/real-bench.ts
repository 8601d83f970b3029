// A real bench from its bench file: the lab terminal over its service port with its power relay, the
// acquirer simulator (its own process) behind the network gate listening where the terminal dials, and the
// reader and printer simulators on the USB-serial ports wired to the terminal. The cables are not the
// runner's to pull here: reader or printer unplug/replug steps fail with a reason.
import * as fs from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import * as path from 'node:path';
import { AcquirerSim, DeviceSim, NetGate } from './bench-parts.js';
import { killAllGroups } from './bench-children.js';
import { BenchBundles } from './bench-bundles.js';
import type { BenchFile } from './bench-file.js';
import { BenchFileError } from './yaml-reader.js';
import { serialPathProblem } from '../service/serial-port-path.js';
import { ServicePortTerminal } from './service-terminal.js';
import type { Bench } from './sim-bench.js';

/**
 * The bench file's serial ports, checked before anything starts: a reader or printer adapter that is not
 * there would only show as a simulator that never attaches. The service port may be missing while the
 * terminal is off (a USB gadget of the terminal appears with its power), so only a path that exists and
 * is no terminal device is refused; a missing one is named if the terminal does not answer after power on.
 */
export function checkBenchPorts(b: BenchFile): void {
  for (const p of b.serialPorts) {
    const problem = serialPathProblem(p.path);
    if (!problem || (p.key === 'terminal.service-port' && problem.code === 'SERIAL_PORT_MISSING')) continue;
    throw new BenchFileError(b.file, p.line, p.key, `${p.path} ${problem.reason}`);
  }
}

export async function startRealBench(b: BenchFile, dir: string): Promise<Bench> {
  checkBenchPorts(b);
  const root = path.resolve(dir);
  const logs = path.join(root, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const privateKey = (file: string, where: string, what: string) => {
    try {
      return createPrivateKey(fs.readFileSync(file));
    } catch (e) {
      throw new Error(`${b.file}: ${where} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (${what}, PEM)`);
    }
  };
  const key = privateKey(b.terminal.keyFile, 'terminal.key', "the bench's paired Ed25519 private key");
  const signingKey = b.firmware ? privateKey(b.firmware.signingKey, 'firmware.signing-key', 'the Ed25519 private key the terminal trusts for firmware') : null;
  const bundles = new BenchBundles(path.join(root, 'firmware-build'), signingKey, `${b.file} names no firmware.signing-key`);
  // Whatever was opened is closed on every failure: a service port left open keeps retrying its open and the
  // process never exits (a CI job hangs); the simulators' process groups are killed.
  let terminal: ServicePortTerminal | null = null;
  try {
    const acquirer = await AcquirerSim.start({ ledgerFile: b.acquirer.ledger, port: 0, address: '127.0.0.1', logFile: path.join(logs, 'acquirer.log') });
    const gate = await NetGate.start({ upstreamPort: acquirer.port, listenHost: b.acquirer.listenHost, listenPort: b.acquirer.listenPort, logFile: path.join(logs, 'network-gate.log') });
    const reader = await DeviceSim.start('reader', { devicePath: b.reader.port, line: null, receiptsDir: b.printer.receipts, logFile: path.join(logs, 'reader.log') });
    const printer = await DeviceSim.start('printer', { devicePath: b.printer.port, line: null, receiptsDir: b.printer.receipts, logFile: path.join(logs, 'printer.log') });
    terminal = new ServicePortTerminal({ servicePort: b.terminal.servicePort, baud: b.terminal.baud, key, power: b.power, copyDir: path.join(root, 'journal-copy'), logFile: path.join(logs, 'power.log') });
    if (!(await terminal.probe())) await terminal.powerRestore();
    const t = terminal;
    return {
      description: [
        `real bench from ${b.file}: terminal ${t.terminalId} on its service port ${b.terminal.servicePort}`,
        `  power relay: on "${b.power.on}", off "${b.power.off}"`,
        `  acquirer simulator on 127.0.0.1:${acquirer.port} (ledger ${acquirer.ledgerFile}) behind the network gate on ${b.acquirer.listenHost}:${gate.port}`,
        `  card reader simulator on ${b.reader.port}; printer simulator on ${b.printer.port}, receipts to ${b.printer.receipts}`,
      ],
      terminal: t,
      acquirer,
      gate,
      reader,
      printer,
      receiptsDir: b.printer.receipts,
      dir: root,
      bundles,
      async close() {
        await t.close();
        killAllGroups();
      },
    };
  } catch (e) {
    await terminal?.close();
    killAllGroups();
    throw e;
  }
}
