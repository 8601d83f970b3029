// The bench file of a real bench (labgrid's environment, in YAML): where the lab terminal's service port is
// (by /dev/serial/by-id/..., stable across replugs), the power relay's on and off commands (any shell
// command, as labgrid's external power driver), the address the terminal dials for its acquirer (the runner
// listens there with its network gate in front of the acquirer simulator), and the serial ports of the
// reader and printer simulators wired to the terminal, and (optional) the firmware signing key the terminal
// trusts, for flash steps that send this checkout's build. Checked as strictly as scenarios.
import * as path from 'node:path';
import { readYamlFile, type YNode } from './yaml-reader.js';

export interface BenchFile {
  file: string;
  terminal: { servicePort: string; baud: number; keyFile: string };
  power: { on: string; off: string; bootTimeoutMs: number };
  acquirer: { listenHost: string; listenPort: number; ledger: string };
  reader: { port: string };
  printer: { port: string; receipts: string };
  /** The Ed25519 private key whose public half the lab terminal trusts for firmware (`flash: build`). */
  firmware?: { signingKey: string };
  /** Each serial port the file names, with its key and line, for errors that point into the file. */
  serialPorts: Array<{ key: 'terminal.service-port' | 'reader.port' | 'printer.port'; line: number; path: string }>;
}

function seconds(n: YNode): number {
  const m = /^(\d{1,5})\s*s$/.exec(n.str());
  if (!m) n.fail('a time in seconds, e.g. "60 s"');
  return Number(m[1]) * 1000;
}

export function parseBenchFile(root: YNode): BenchFile {
  const base = path.dirname(path.resolve(root.file));
  const at = (n: YNode) => path.resolve(base, n.str());
  const m = root.map(['terminal', 'power', 'acquirer', 'reader', 'printer', 'firmware']);
  const t = m.need('terminal').map(['service-port', 'baud', 'key']);
  const p = m.need('power').map(['on', 'off', 'boot-timeout']);
  const a = m.need('acquirer').map(['listen', 'ledger']);
  const listen = a.need('listen');
  const hp = /^([0-9A-Za-z.:-]+):(\d{1,5})$/.exec(listen.str());
  if (!hp || Number(hp[2]) < 1 || Number(hp[2]) > 65535) return listen.fail('HOST:PORT the terminal dials for its acquirer, e.g. 0.0.0.0:5000');
  const r = m.need('reader').map(['port']);
  const pr = m.need('printer').map(['port', 'receipts']);
  const fw = m.get('firmware')?.map(['signing-key']);
  const port = (key: BenchFile['serialPorts'][number]['key'], n: YNode) => ({ key, line: n.line, path: at(n) });
  return {
    file: root.file,
    terminal: { servicePort: at(t.need('service-port')), baud: t.get('baud')?.int(1200, 4_000_000) ?? 115_200, keyFile: at(t.need('key')) },
    power: { on: p.need('on').str(), off: p.need('off').str(), bootTimeoutMs: p.get('boot-timeout') ? seconds(p.get('boot-timeout')!) : 60_000 },
    acquirer: { listenHost: hp[1]!, listenPort: Number(hp[2]), ledger: at(a.need('ledger')) },
    reader: { port: at(r.need('port')) },
    printer: { port: at(pr.need('port')), receipts: at(pr.need('receipts')) },
    ...(fw ? { firmware: { signingKey: at(fw.need('signing-key')) } } : {}),
    serialPorts: [port('terminal.service-port', t.need('service-port')), port('reader.port', r.need('port')), port('printer.port', pr.need('port'))],
  };
}

export function loadBenchFile(file: string): BenchFile {
  return parseBenchFile(readYamlFile(file));
}
