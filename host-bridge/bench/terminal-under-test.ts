// The terminal a bench drives. On the simulated bench it is `posj run --config` as its own process with its
// real serial drivers on pty lines, its power is the process (power cut = SIGKILL), and its journal is read
// from its directory; for a run that flashes, `posj boot` starts it from firmware slots with its service
// port on a pty pair, as a lab terminal (power cut = SIGKILL of the launcher's process group). On a real
// bench (bench-file.ts) it is a lab terminal reached over its service port.
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
import { LINKED_TERMINAL, POSJ } from './bench-parts.js';
import { BenchServiceLine } from './service-line.js';
import type { SimFirmware } from './sim-firmware.js';

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
  /** Whether the journal can be read with the power off (a directory on the simulated bench; a lab terminal's only over its service port). */
  readonly readableWhileOff: boolean;
  readonly boots: BootSeen[];
  /** The terminal's service port as the bench reaches it (hello, flash), or null where it has none. */
  readonly service: BenchServiceLine | null;
  /** A mark taken before the terminal is asked to reboot. */
  rebootMark(): number;
  /** Until the terminal rebooted since `mark` and serves again from `slot`. */
  rebooted(mark: number, slot: string): Promise<void>;
  close(): Promise<void>;
}

export interface SimTerminalOptions {
  dir: string;
  terminalId: string;
  acquirerPort: number;
  /** Serial paths of the pty lines, or `linked`: the drivers and the device simulators share one process on in-process cables (linked-terminal.ts). */
  devices: { readerPath: string; printerPath: string } | { linked: { receiptsDir: string } };
  logFile: string;
  /** Run from firmware slots under `posj boot`, the service port on `servicePath` (the bench's end: `benchServicePath`). */
  firmware?: { fw: SimFirmware; servicePath: string; benchServicePath: string };
}

/** Boots of a slot under test before `posj boot` rolls back by itself. */
const MAX_BOOTS = 3;
const BAUD = 115_200;

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

/** `posj run --config` on the simulated bench (or, without socat, linked-terminal.js with the same config). */
export class SimulatedTerminal implements TerminalUnderTest {
  readonly terminalId: string;
  readonly journalDir: string;
  readonly boots: BootSeen[] = [];
  readonly readableWhileOff = true;
  /** Output lines of earlier boots (power cuts end a process; its receipts stay counted). */
  private readonly pastLines: string[] = [];
  private readonly configFile: string;
  private readonly socketPath: string;
  private daemon: BenchChild | null = null;
  readonly service: BenchServiceLine | null;

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
      reader: 'linked' in o.devices ? 'simulated' : { path: o.devices.readerPath, baud: 115200 },
      printer: 'linked' in o.devices ? 'simulated' : { path: o.devices.printerPath, baud: 115200 },
      socketPath: 'posj.sock',
      // A lost reply is given up on in 1.5 s, reversals spaced 0.3 s: a scenario's faults cost seconds, not minutes.
      timeouts: { connectMs: 2000, responseMs: 1500, cardMs: 3000 },
      reversal: { attemptsPerRound: 3, attemptSpacingMs: 300, backoffMs: 1000, maxBackoffMs: 5000, preSaleBudgetMs: 3000 },
      ...(o.firmware
        ? {
            servicePort: { path: o.firmware.servicePath, baud: BAUD, pairedKeysFile: o.firmware.fw.pairedKeysFile },
            firmware: { slotsDir: o.firmware.fw.slotsDir, trustedKeysFile: o.firmware.fw.trustedKeysFile },
          }
        : {}),
    };
    fs.writeFileSync(this.configFile, JSON.stringify(config, null, 2) + '\n');
    this.service = o.firmware ? new BenchServiceLine(o.firmware.benchServicePath, BAUD, o.firmware.fw.benchKey) : null;
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
    this.service?.drop();
    await this.daemon?.kill('SIGKILL');
    this.pastLines.push(...(this.daemon?.lines ?? []));
    this.daemon = null;
  }

  /** Every output line of every boot so far (the linked terminal's receipts and acks). */
  lines(): string[] {
    return [...this.pastLines, ...(this.daemon?.lines ?? [])];
  }

  /** The running process, for control lines to the linked terminal's devices. */
  get process(): BenchChild | null {
    return this.daemon;
  }

  private args(): string[] {
    if ('linked' in this.o.devices) return [LINKED_TERMINAL, this.configFile, this.o.devices.linked.receiptsDir];
    const run = ['run', '--config', this.configFile];
    return this.o.firmware ? [POSJ, 'boot', '--slots', this.o.firmware.fw.slotsDir, '--max-boots', String(MAX_BOOTS), '--', ...run] : [POSJ, ...run];
  }

  /** The boot the daemon (and the launcher, from slots) logged among `lines`. */
  private bootSeen(lines: readonly string[]): BootSeen {
    const detail = (re: RegExp) => [...lines].reverse().find((l) => re.test(l))?.replace(/^\S+ /, '').trim();
    return { ok: true, detail: [detail(/ boot slot=/), detail(/ boot signedOn=/) ?? detail(/ boot /)].filter(Boolean).join('; ') };
  }

  async powerRestore(): Promise<void> {
    if (this.powered) return;
    const d = new BenchChild(this.o.firmware ? 'terminal launcher (posj boot)' : 'terminal daemon', process.execPath, this.args(), { logFile: this.o.logFile, stdin: 'linked' in this.o.devices });
    this.daemon = d;
    try {
      await d.waitLine(/ listening /, 'the terminal daemon to listen', 30_000);
      this.boots.push(this.bootSeen(d.lines));
    } catch (e) {
      this.boots.push({ ok: false, detail: (e as Error).message });
      throw e;
    }
  }

  rebootMark(): number {
    return this.daemon?.seen ?? 0;
  }

  /** The launcher logs the daemon's exit for the reboot, starts it from `slot`, and it listens again. */
  async rebooted(mark: number, slot: string): Promise<void> {
    const d = this.daemon;
    if (!d || !this.o.firmware) throw new Error('this terminal does not run from firmware slots: nothing reboots it');
    const end = Date.now() + 60_000;
    for (;;) {
      const since = d.linesSince(mark);
      const exit = since.findIndex((l) => / daemon-exit .*code=75/.test(l));
      const after = exit < 0 ? [] : since.slice(exit);
      if (after.some((l) => / listening /.test(l))) {
        if (!after.some((l) => new RegExp(` boot slot=${slot} `).test(l))) throw new Error(`the launcher rebooted into another slot than ${slot}: ${after.filter((l) => / boot(-rollback)? /.test(l)).join(' | ')}`);
        this.boots.push(this.bootSeen(after));
        return;
      }
      if (!d.running) throw new Error(`the launcher exited while rebooting into slot ${slot}\n${since.slice(-8).join('\n')}`);
      if (Date.now() > end) throw new Error(`timed out after 60000 ms waiting for the reboot into slot ${slot}\n${since.slice(-8).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    await this.service?.close();
    if (!this.daemon?.running) return;
    const stopped = this.daemon.kill('SIGTERM');
    // A daemon that does not stop within its shutdown bound is cut: the journal makes that safe.
    const timer = setTimeout(() => void this.daemon?.kill('SIGKILL'), 15_000);
    await stopped;
    clearTimeout(timer);
    this.pastLines.push(...this.daemon.lines);
    this.daemon = null;
  }
}
