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
import { ServicePortTerminal } from './service-terminal.js';
import type { Bench } from './sim-bench.js';

export async function startRealBench(b: BenchFile, dir: string): Promise<Bench> {
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
  try {
    const acquirer = await AcquirerSim.start({ ledgerFile: b.acquirer.ledger, port: 0, address: '127.0.0.1', logFile: path.join(logs, 'acquirer.log') });
    const gate = await NetGate.start({ upstreamPort: acquirer.port, listenHost: b.acquirer.listenHost, listenPort: b.acquirer.listenPort, logFile: path.join(logs, 'network-gate.log') });
    const reader = await DeviceSim.start('reader', { devicePath: b.reader.port, line: null, receiptsDir: b.printer.receipts, logFile: path.join(logs, 'reader.log') });
    const printer = await DeviceSim.start('printer', { devicePath: b.printer.port, line: null, receiptsDir: b.printer.receipts, logFile: path.join(logs, 'printer.log') });
    const terminal = new ServicePortTerminal({ servicePort: b.terminal.servicePort, baud: b.terminal.baud, key, power: b.power, copyDir: path.join(root, 'journal-copy'), logFile: path.join(logs, 'power.log') });
    if (!(await terminal.probe())) await terminal.powerRestore();
    return {
      description: [
        `real bench from ${b.file}: terminal ${terminal.terminalId} on its service port ${b.terminal.servicePort}`,
        `  power relay: on "${b.power.on}", off "${b.power.off}"`,
        `  acquirer simulator on 127.0.0.1:${acquirer.port} (ledger ${acquirer.ledgerFile}) behind the network gate on ${b.acquirer.listenHost}:${gate.port}`,
        `  card reader simulator on ${b.reader.port}; printer simulator on ${b.printer.port}, receipts to ${b.printer.receipts}`,
      ],
      terminal,
      acquirer,
      gate,
      reader,
      printer,
      receiptsDir: b.printer.receipts,
      dir: root,
      bundles,
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
