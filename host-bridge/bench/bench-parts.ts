// The parts of a bench every run has, simulated or real: the acquirer simulator (`posj-bridge acquirer`, its
// own process, durable ledger, rules replaced live on its stdin), the network gate between the terminal and
// it (net-gate.ts), and the reader and printer simulators (`posj-bridge sim reader|printer`, own processes,
// control lines on stdin) on serial lines — socat pty pairs on the simulated bench, USB-serial adapters on a
// real one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLedgerFile, type LedgerEntry } from '../acquirer/ledger.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { BenchChild } from './bench-children.js';
import type { DeviceAction, NetworkAction } from './scenario.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The built CLIs beside this file in dist/. */
export const POSJ_BRIDGE = path.resolve(here, '../cli/posj-bridge.js');
export const POSJ = path.resolve(here, '../../firmware-ts/cli/posj.js');
const NET_GATE = path.resolve(here, 'net-gate.js');
export const LINKED_TERMINAL = path.resolve(here, 'linked-terminal.js');

/** The socat binary: $SOCAT, else /usr/bin/socat. */
export function socatPath(): string {
  return process.env.SOCAT ?? '/usr/bin/socat';
}

export function socatPresent(): boolean {
  try {
    fs.accessSync(socatPath(), fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A socat pty pair at fixed link paths: closing it is pulling the cable, making it again at the same paths is the replug. */
export class PtyLine {
  private socat: BenchChild | null = null;

  constructor(
    readonly terminalEnd: string,
    readonly deviceEnd: string,
  ) {}

  async plug(): Promise<void> {
    if (this.socat?.running) return;
    for (const p of [this.terminalEnd, this.deviceEnd]) fs.rmSync(p, { force: true });
    const socat = new BenchChild(`socat ${path.basename(this.deviceEnd)}`, socatPath(), ['-d', '-d', `pty,raw,echo=0,link=${this.terminalEnd}`, `pty,raw,echo=0,link=${this.deviceEnd}`]);
    this.socat = socat;
    await socat.waitLine(/starting data transfer loop/, 'socat to make the pty pair', 5000);
  }

  async unplug(): Promise<void> {
    await this.socat?.kill('SIGTERM');
    this.socat = null;
  }
}

export interface ReceiptSeen {
  txt: string;
  svg: string;
  incomplete: boolean;
  duplicate: boolean;
  /** What the slip is, from its text: copy, transaction type and amount (消费 12.50元 商户存根). */
  label: string;
}

/** A receipt's own words for what it is: the copy, the transaction type and the amount, or its title. */
function receiptLabel(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const field = (name: string) => lines.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
  const copy = lines.find((l) => /存根|COPY/.test(l));
  const kind = field('交易类型') ?? field('TYPE');
  const amount = field('金额') ?? field('AMOUNT');
  const parts = kind ? [kind, amount, copy] : [lines[0], lines[1]];
  return [lines.some((l) => /^(重打印|DUPLICATE)/.test(l)) ? '重打印' : undefined, ...parts].filter(Boolean).join(' ');
}

export class AcquirerSim {
  private constructor(
    readonly child: BenchChild,
    readonly port: number,
    readonly ledgerFile: string,
  ) {}

  static async start(o: { ledgerFile: string; port: number; address: string; logFile: string }): Promise<AcquirerSim> {
    fs.mkdirSync(path.dirname(o.ledgerFile), { recursive: true });
    const child = new BenchChild('acquirer', process.execPath, [POSJ_BRIDGE, 'acquirer', '--port', String(o.port), '--address', o.address, '--ledger', o.ledgerFile, '--json', '--control'], { stdin: true, logFile: o.logFile });
    const line = await child.waitLine(/"event":"listening"/, 'the acquirer simulator to listen', 10_000);
    return new AcquirerSim(child, Number((JSON.parse(line) as { port: number }).port), o.ledgerFile);
  }

  async rules(rules: unknown): Promise<void> {
    const from = this.child.events.length;
    this.child.send(JSON.stringify(rules));
    await this.child.waitLine(/"event":"rules(-error)?"/, 'the acquirer to take the rules', 5000);
    const ev = this.child.events.slice(from).find((e) => e.event === 'rules' || e.event === 'rules-error');
    if (ev?.event === 'rules-error') throw new Error(`acquirer refused the rules: ${String(ev.message)}`);
  }

  ledger(): LedgerEntry[] {
    return fs.existsSync(this.ledgerFile) ? readLedgerFile(nodeStorage, this.ledgerFile) : [];
  }
}

export class NetGate {
  private constructor(
    readonly child: BenchChild,
    readonly port: number,
  ) {}

  static async start(o: { upstreamPort: number; listenHost: string; listenPort: number; logFile: string }): Promise<NetGate> {
    const child = new BenchChild('network gate', process.execPath, [NET_GATE, '127.0.0.1', String(o.upstreamPort), o.listenHost, String(o.listenPort)], { stdin: true, logFile: o.logFile });
    const line = await child.waitLine(/"event":"listening"/, 'the network gate to listen', 5000);
    return new NetGate(child, Number((JSON.parse(line) as { port: number }).port));
  }

  async apply(a: NetworkAction): Promise<void> {
    const cmd = a.kind === 'delay' ? `delay ${a.ms}` : a.kind;
    const from = this.child.lines.length;
    this.child.send(cmd);
    await this.child.waitLine(new RegExp(`"cmd":"${a.kind}"`), `the gate to ${cmd}`, 5000);
    if (this.child.lines.slice(from).some((l) => l.includes('"event":"error"'))) throw new Error(`network gate refused ${cmd}`);
  }
}

/** What a scenario does to the reader or the printer, and the receipts the printer tore off. */
export interface BenchDevice {
  /** Whether the bench can pull and replug this device's cable. */
  readonly pluggable: boolean;
  apply(a: DeviceAction): Promise<void>;
  receiptsSeen(): ReceiptSeen[];
}

const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Receipts announced as `receipt TXT SVG [INCOMPLETE]` lines, each judged for its duplicate mark. */
function receiptsIn(lines: readonly string[]): ReceiptSeen[] {
  const out: ReceiptSeen[] = [];
  for (const l of lines) {
    const m = /^receipt (\S+) (\S+)( INCOMPLETE)?$/.exec(l);
    if (!m) continue;
    let text = '';
    try {
      text = fs.readFileSync(m[1]!, 'utf8');
    } catch {
      // removed since: counted, not judged for a duplicate mark
    }
    out.push({ txt: m[1]!, svg: m[2]!, incomplete: Boolean(m[3]), duplicate: /重打印|DUPLICATE/.test(text), label: receiptLabel(text) });
  }
  return out;
}

/** A device simulator inside the linked terminal process (no socat): control lines go to that process. */
export class LinkedDevice implements BenchDevice {
  readonly pluggable = true;

  constructor(
    readonly kind: 'reader' | 'printer',
    private readonly terminal: { process: BenchChild | null; lines(): string[] },
  ) {}

  async apply(a: DeviceAction): Promise<void> {
    const p = this.terminal.process;
    if (!p) throw new Error(`the ${this.kind} is inside the terminal process, which is off`);
    for (const cmd of a.kind === 'control' ? a.lines : [a.kind]) {
      const line = `${this.kind} ${cmd}`;
      const done = p.waitLine(new RegExp(`^(ok|error) ${quote(line)}`), `the ${this.kind} to apply ${cmd}`, 5000);
      p.send(line);
      const answer = await done;
      if (answer.startsWith('error')) throw new Error(answer);
    }
  }

  receiptsSeen(): ReceiptSeen[] {
    return this.kind === 'printer' ? receiptsIn(this.terminal.lines()) : [];
  }
}

/** A device simulator process on the device end of a serial line. */
export class DeviceSim implements BenchDevice {
  readonly receipts: ReceiptSeen[] = [];

  private constructor(
    readonly kind: 'reader' | 'printer',
    readonly child: BenchChild,
    readonly line: PtyLine | null,
  ) {}

  get pluggable(): boolean {
    return this.line !== null;
  }

  static async start(kind: 'reader' | 'printer', o: { devicePath: string; line: PtyLine | null; receiptsDir: string; logFile: string }): Promise<DeviceSim> {
    const args = kind === 'reader' ? [POSJ_BRIDGE, 'sim', 'reader', '--port', o.devicePath] : [POSJ_BRIDGE, 'sim', 'printer', '--port', o.devicePath, '--out', o.receiptsDir];
    const child = new BenchChild(`${kind} simulator`, process.execPath, args, { stdin: true, logFile: o.logFile });
    const sim = new DeviceSim(kind, child, o.line);
    if (kind === 'printer') {
      await child.waitLine(/^ready /, 'the printer simulator to attach', 10_000, { seen: true });
    } else {
      await child.waitLine(/attaching to/, 'the reader simulator to attach', 10_000, { seen: true });
    }
    return sim;
  }

  /** Receipts the printer simulator tore off so far (it announces each on stdout). */
  receiptsSeen(): ReceiptSeen[] {
    return receiptsIn(this.child.lines);
  }

  async apply(a: DeviceAction): Promise<void> {
    if (a.kind === 'control') {
      for (const line of a.lines) {
        const quoted = quote(line);
        const applied = this.kind === 'printer' ? new RegExp(`^ok ${quoted}:`) : new RegExp(`control ${quoted}$`);
        const done = this.child.waitLine(applied, `the ${this.kind} simulator to apply ${line}`, 5000);
        this.child.send(line);
        await done;
      }
      return;
    }
    if (!this.line) throw new Error(`${a.kind} of the ${this.kind} needs a pty line this bench controls (on a real bench, unplug the cable by hand or a USB switch)`);
    if (a.kind === 'unplug') await this.line.unplug();
    else await this.line.plug();
  }
}
