// Real processes for power-cut tests of the terminal daemon: the acquirer simulator (`posj-bridge acquirer`),
// a TCP gate between terminal and acquirer (tcp-gate.mjs: hold bytes "in the network", stall a connect,
// SIGKILL the terminal the instant a reply is delivered), and `posj run --config` itself. Every child is
// tracked, and `killAll` (run it in cleanup) makes sure none outlives the test.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { listSegments } from '../../firmware-ts/journal/verify.js';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import { readLedgerFile, type LedgerEntry } from '../../host-bridge/acquirer/ledger.js';
import { readLines } from '../../host-bridge/bench/bench-children.js';
import { until } from './wait.js';

export const POSJ = path.resolve('dist/host-bridge/cli/posj-bench.js');
export const POSJ_BRIDGE = path.resolve('dist/host-bridge/cli/posj-bridge.js');
const GATE = path.resolve('test/helpers/tcp-gate.mjs');

/** The built CLIs are what runs on the terminal and the bench: `npm test` builds them first. */
export function requireDist(): void {
  for (const f of [POSJ, POSJ_BRIDGE]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build first (npm run build, or npm test which builds)`);
  }
}

const live = new Set<ChildProcess>();

/** A child whose stdout (or stderr) lines are collected; JSON lines are parsed. */
export class Child {
  readonly lines: string[] = [];
  readonly events: Array<Record<string, unknown>> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly proc: ChildProcess,
    stream: 'stdout' | 'stderr',
  ) {
    live.add(proc);
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        resolve({ code, signal });
      }),
    );
    readLines(proc[stream]!, (line, event) => {
      this.lines.push(line);
      if (event) this.events.push(event);
    });
    // Drain the other stream so the child never blocks on a full pipe.
    proc[stream === 'stdout' ? 'stderr' : 'stdout']?.on('data', () => undefined);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async waitEvent(pred: (e: Record<string, unknown>) => boolean, what: string, ms = 5000, from = 0): Promise<Record<string, unknown>> {
    let hit: Record<string, unknown> | undefined;
    await until(() => (hit = this.events.slice(from).find(pred)) !== undefined, `${what}\n${this.lines.slice(-10).join('\n')}`, ms, 2);
    return hit!;
  }

  async waitLine(re: RegExp, what: string, ms = 10_000): Promise<string> {
    let hit: string | undefined;
    await until(() => (hit = this.lines.find((l) => re.test(l))) !== undefined || this.proc.exitCode !== null, what, ms, 5);
    if (hit === undefined) throw new Error(`${what}: the process exited (${this.proc.exitCode})\n${this.lines.slice(-15).join('\n')}`);
    return hit;
  }
}

/** SIGKILLs every child still running (a stopped one is continued first) and waits for them. */
export async function killAll(): Promise<void> {
  const waits = [...live].map(
    (p) =>
      new Promise<void>((resolve) => {
        if (p.exitCode !== null || p.signalCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill('SIGCONT');
        p.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}

export async function startAcquirer(opts: { ledger: string; rules: string }): Promise<{ child: Child; port: number }> {
  const child = new Child(spawn(process.execPath, [POSJ_BRIDGE, 'acquirer', '--port', '0', '--ledger', opts.ledger, '--rules', opts.rules, '--json']), 'stdout');
  const ev = await child.waitEvent((e) => e.event === 'listening', 'the acquirer to listen');
  return { child, port: Number(ev.port) };
}

export class Gate {
  private constructor(
    readonly child: Child,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<Gate> {
    const child = new Child(spawn(process.execPath, [GATE, String(upstreamPort)], { stdio: ['pipe', 'pipe', 'pipe'] }), 'stdout');
    const ev = await child.waitEvent((e) => e.event === 'listening', 'the gate to listen');
    return new Gate(child, Number(ev.port));
  }

  async send(cmd: string): Promise<void> {
    const from = this.child.events.length;
    this.child.proc.stdin!.write(cmd + '\n');
    await this.child.waitEvent((e) => e.event === 'ok' && e.cmd === cmd.split(' ')[0], `gate ack of "${cmd}"`, 5000, from);
  }

  /**
   * Stops the gate process and fills its accept queue, so the next connect to it hangs (its SYN is dropped):
   * a terminal dialing the acquirer. `resume` continues it and lets the queued connections go.
   */
  async stall(): Promise<{ resume(): void }> {
    this.child.proc.kill('SIGSTOP');
    const fillers: net.Socket[] = [];
    for (let i = 0; i < 16; i++) {
      const s = net.connect(this.port, '127.0.0.1');
      s.on('error', () => undefined);
      fillers.push(s);
      const connected = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 150);
        s.once('connect', () => (clearTimeout(t), resolve(true)));
      });
      if (!connected) {
        return {
          resume: () => {
            for (const f of fillers) f.destroy();
            this.child.proc.kill('SIGCONT');
          },
        };
      }
    }
    this.child.proc.kill('SIGCONT');
    throw new Error('the gate accept queue never filled');
  }
}

export interface DaemonConfigOpts {
  dir: string;
  acquirerPort: number;
}

/** The terminal's config file: journal, socket and key under `dir`, the acquirer behind the gate. */
export function writeDaemonConfig(o: DaemonConfigOpts): { file: string; journalDir: string; keyFile: string; socketPath: string } {
  const journalDir = path.join(o.dir, 'journal');
  const cfg = {
    journalDir: 'journal',
    terminalId: '87654321',
    merchantId: '898310048990002',
    merchantName: 'KILL TEST MERCHANT',
    acquirer: { host: '127.0.0.1', port: o.acquirerPort, tmk: '0123456789ABCDEFFEDCBA9876543210' },
    reader: 'simulated',
    printer: 'simulated',
    socketPath: 'posj.sock',
    timeouts: { connectMs: 3000, responseMs: 8000, cardMs: 5000 },
  };
  const file = path.join(o.dir, 'posj.json');
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  return { file, journalDir, keyFile: `${journalDir}.key`, socketPath: path.join(o.dir, 'posj.sock') };
}

/** `posj run --config FILE`, up once it logs `listening`; its log (stderr) is kept in `child.lines`. */
export async function startDaemon(configFile: string): Promise<Child> {
  const child = spawnDaemon(configFile);
  await child.waitLine(/ listening /, 'the daemon to listen');
  return child;
}

/** `posj run --config FILE` without waiting for it (to kill it while it boots). */
export function spawnDaemon(configFile: string): Child {
  return new Child(spawn(process.execPath, [POSJ, 'run', '--config', configFile]), 'stderr');
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `posj` CLI without blocking the test's event loop. */
export const posj = (args: string[]): Promise<CliRun> => runBuilt(POSJ, args);

/** Runs the built `posj-bridge` CLI the same way. */
export const posjBridge = (args: string[]): Promise<CliRun> => runBuilt(POSJ_BRIDGE, args);

function runBuilt(cli: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args]);
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => {
      live.delete(child);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The terminal's records, read from the journal directory (also while the daemon writes it). */
export function journalRecords(journalDir: string): JournalRecord[] {
  if (!fs.existsSync(journalDir)) return [];
  return readTerminalRecords({ dir: journalDir, segmentNames: () => listSegments(nodeStorage, journalDir).map((s) => s.name) }, nodeStorage);
}

export function ledgerEntries(file: string): LedgerEntry[] {
  return fs.existsSync(file) ? readLedgerFile(nodeStorage, file) : [];
}
