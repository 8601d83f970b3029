// The terminal a bench drives. On the simulated bench it is `posj run --config` as its own process with its
// real serial drivers on pty lines, its power is the process (power cut = SIGKILL), and its journal is read
// from its directory. On a real bench (bench-file.ts) it is a lab terminal reached over its service port.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import type { ControlRequest, ControlResponse } from '../../firmware-ts/daemon/control-protocol.js';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { listSegments } from '../../firmware-ts/journal/verify.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import { BenchChild } from './bench-children.js';
import { POSJ } from './bench-parts.js';

/** What `posj journal verify` said, in one line, and whether it found corruption or tampering. */
export interface JournalVerdict {
  clean: boolean;
  summary: string;
}

/** One boot of the terminal as the bench saw it (money invariant 6: it reopens without an operator). */
export interface BootSeen {
  ok: boolean;
  detail: string;
}

export interface TerminalUnderTest {
  readonly terminalId: string;
  /** Where the journal copy the checks read lives (the journal itself on the simulated bench). */
  readonly journalDir: string;
  call(req: ControlRequest, timeoutMs?: number): Promise<ControlResponse>;
  records(): Promise<JournalRecord[]>;
  verify(): Promise<JournalVerdict>;
  powerCut(): Promise<void>;
  powerRestore(): Promise<void>;
  readonly powered: boolean;
  readonly boots: BootSeen[];
  close(): Promise<void>;
}

export interface SimTerminalOptions {
  dir: string;
  terminalId: string;
  acquirerPort: number;
  readerPath: string;
  printerPath: string;
  logFile: string;
}

export function readJournalDir(dir: string): JournalRecord[] {
  if (!fs.existsSync(dir)) return [];
  return readTerminalRecords({ dir, segmentNames: () => listSegments(nodeStorage, dir).map((s) => s.name) }, nodeStorage);
}

/** Runs the built `posj` CLI and collects its output. */
export function runPosj(args: string[]): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [POSJ, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stdout += c));
    child.on('close', (status) => resolve({ status, stdout }));
  });
}

export async function verifyJournalDir(dir: string, keyFile: string): Promise<JournalVerdict> {
  const r = await runPosj(['journal', 'verify', dir, '--key-file', keyFile, '--json']);
  try {
    const v = JSON.parse(r.stdout) as { records: number; segments: number; corrupt: unknown; tampered: unknown; tornTail: unknown; chainChecked: boolean };
    const clean = r.status === 0 && v.corrupt === null && v.tampered === null;
    return { clean, summary: `posj journal verify: ${v.records} records in ${v.segments} segments, MAC chain ${v.chainChecked ? 'checked' : 'NOT checked'}, corrupt ${JSON.stringify(v.corrupt)}, tampered ${JSON.stringify(v.tampered)}${v.tornTail ? `, torn tail ${JSON.stringify(v.tornTail)}` : ''} (exit ${r.status})` };
  } catch {
    return { clean: false, summary: `posj journal verify exited ${r.status}: ${r.stdout.trim().slice(0, 500)}` };
  }
}

/** `posj run --config` on the simulated bench. */
export class SimulatedTerminal implements TerminalUnderTest {
  readonly terminalId: string;
  readonly journalDir: string;
  readonly boots: BootSeen[] = [];
  private readonly configFile: string;
  private readonly socketPath: string;
  private daemon: BenchChild | null = null;

  constructor(private readonly o: SimTerminalOptions) {
    this.terminalId = o.terminalId;
    this.journalDir = path.join(o.dir, 'journal');
    this.socketPath = path.join(o.dir, 'posj.sock');
    this.configFile = path.join(o.dir, 'posj.json');
    fs.mkdirSync(o.dir, { recursive: true });
    const config = {
      journalDir: 'journal',
      terminalId: o.terminalId,
      merchantId: '898310048990001',
      merchantName: 'POSJ BENCH MERCHANT',
      acquirer: { host: '127.0.0.1', port: o.acquirerPort, tmk: '0123456789ABCDEFFEDCBA9876543210' },
      reader: { path: o.readerPath, baud: 115200 },
      printer: { path: o.printerPath, baud: 115200 },
      socketPath: 'posj.sock',
      // A lost reply is given up on in 1.5 s, reversals spaced 0.3 s: a scenario's faults cost seconds, not minutes.
      timeouts: { connectMs: 2000, responseMs: 1500, cardMs: 3000 },
      reversal: { attemptsPerRound: 3, attemptSpacingMs: 300, backoffMs: 1000, maxBackoffMs: 5000, preSaleBudgetMs: 3000 },
    };
    fs.writeFileSync(this.configFile, JSON.stringify(config, null, 2) + '\n');
  }

  get powered(): boolean {
    return this.daemon?.running ?? false;
  }

  call(req: ControlRequest, timeoutMs = 60_000): Promise<ControlResponse> {
    return controlCall(this.socketPath, req, timeoutMs);
  }

  async records(): Promise<JournalRecord[]> {
    return readJournalDir(this.journalDir);
  }

  verify(): Promise<JournalVerdict> {
    return verifyJournalDir(this.journalDir, `${this.journalDir}.key`);
  }

  async powerCut(): Promise<void> {
    await this.daemon?.kill('SIGKILL');
    this.daemon = null;
  }

  async powerRestore(): Promise<void> {
    if (this.powered) return;
    const d = new BenchChild('terminal daemon', process.execPath, [POSJ, 'run', '--config', this.configFile], { logFile: this.o.logFile });
    this.daemon = d;
    try {
      await d.waitLine(/ listening /, 'the terminal daemon to listen', 30_000);
      const boot = d.lines.find((l) => / boot /.test(l)) ?? '';
      this.boots.push({ ok: true, detail: boot.replace(/^\S+ /, '').trim() });
    } catch (e) {
      this.boots.push({ ok: false, detail: (e as Error).message });
      throw e;
    }
  }

  async close(): Promise<void> {
    if (!this.daemon?.running) return;
    await this.daemon.kill('SIGTERM');
    this.daemon = null;
  }
}
