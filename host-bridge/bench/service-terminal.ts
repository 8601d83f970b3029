// A lab terminal as the bench runner drives it: money operations and status as control requests over its
// service port (SERVICE_PORT.md `control`, after proving the bench's paired key), its journal pulled over the
// same line into a local copy for the checks (the terminal verifies its MAC chain, the bench the copy), and
// its power through the relay's shell commands. Power restored means the service port answers `hello` again
// (the daemon serves it only after its boot, reversals included).
import * as fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { systemClock } from '../../protocol/io/clock.js';
import type { ControlRequest, ControlResponse } from '../../firmware-ts/daemon/control-protocol.js';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { pullJournal, type PullReport } from '../service/journal-pull.js';
import { ServiceError } from '../service/service-client.js';
import { serialPathProblem } from '../service/serial-port-path.js';
import { BenchChild } from './bench-children.js';
import { BenchServiceLine } from './service-line.js';
import { readJournalDir, type BootSeen, type JournalVerdict, type TerminalUnderTest } from './terminal-under-test.js';

/** Answers that mean the line or the terminal is gone, not that the terminal refused the request. */
const LINE_FAILURES = new Set(['SERVICE_LINK_TIMEOUT', 'SERVICE_TIMEOUT', 'SERVICE_LINK_CLOSED', 'SERVICE_LINK_FAILED', 'SERVICE_SESSION_RESET']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ServiceTerminalOptions {
  servicePort: string;
  baud: number;
  key: KeyObject;
  power: { on: string; off: string; bootTimeoutMs: number };
  /** Where the pulled journal copy lives. */
  copyDir: string;
  logFile: string;
}

/** Runs a power relay command; it must exit 0. */
async function shell(what: string, command: string, logFile: string): Promise<void> {
  const c = new BenchChild(`power ${what}`, '/bin/sh', ['-c', command], { logFile, keepGroupAfterExit: true });
  const exit = await c.exited;
  if (exit.code !== 0) throw new Error(`power ${what} command failed (exit ${exit.code ?? exit.signal}): ${command}\n${c.lines.slice(-5).join('\n')}`);
}

export class ServicePortTerminal implements TerminalUnderTest {
  readonly journalDir: string;
  readonly boots: BootSeen[] = [];
  readonly readableWhileOff = false;
  powered = false;
  readonly service: BenchServiceLine;
  private lastPull: PullReport | null = null;

  constructor(private readonly o: ServiceTerminalOptions) {
    this.journalDir = o.copyDir;
    fs.mkdirSync(o.copyDir, { recursive: true });
    this.service = new BenchServiceLine(o.servicePort, o.baud, o.key);
  }

  get terminalId(): string {
    return this.service.terminalId;
  }

  /** Whether the terminal answers on its service port now (at the start of a run its power state is unknown). */
  async probe(): Promise<boolean> {
    try {
      await this.service.connect(1500);
      this.powered = true;
    } catch {
      this.service.drop();
      this.powered = false;
    }
    return this.powered;
  }

  async call(req: ControlRequest, timeoutMs = 60_000): Promise<ControlResponse> {
    const client = await this.service.connect();
    try {
      const a = await client.request({ op: 'control', request: req }, Buffer.alloc(0), timeoutMs);
      return { ok: true, result: a.head.result };
    } catch (e) {
      if (e instanceof ServiceError && !LINE_FAILURES.has(e.code)) return { ok: false, error: { code: e.code, message: e.message } };
      this.service.drop();
      throw e;
    }
  }

  private async pull(): Promise<PullReport> {
    const r = await pullJournal({
      connect: async () => {
        const client = await this.service.connect();
        return { client, close: async () => undefined };
      },
      key: this.o.key,
      outDir: this.o.copyDir,
      clock: systemClock,
      retryForMs: 30_000,
    });
    this.lastPull = r;
    return r;
  }

  async records(): Promise<JournalRecord[]> {
    await this.pull();
    return readJournalDir(this.o.copyDir);
  }

  async verify(): Promise<JournalVerdict> {
    const r = this.lastPull ?? (await this.pull());
    this.lastPull = null;
    const bad = (v: PullReport['terminal']) => v.corrupt !== null || v.tampered !== null;
    return {
      clean: !bad(r.terminal) && !bad(r.bench) && r.terminal.chainChecked,
      summary: `journal pulled over the service port: terminal's check ${r.terminal.records} records, MAC chain ${r.terminal.chainChecked ? 'checked' : 'NOT checked'}, corrupt ${JSON.stringify(r.terminal.corrupt)}, tampered ${JSON.stringify(r.terminal.tampered)}; bench's check of the copy: corrupt ${JSON.stringify(r.bench.corrupt)}`,
    };
  }

  async powerCut(): Promise<void> {
    this.service.drop();
    await shell('off', this.o.power.off, this.o.logFile);
    // A relay command that exits 0 without cutting would let every power-cut judgement pass on a terminal
    // that never went down (the journal read at restore, before the survivor wrote what it was doing).
    if (await this.probe()) {
      this.service.drop();
      throw new Error(`power off: "${this.o.power.off}" exited 0, but the terminal still answers on its service port ${this.o.servicePort}: the power was not cut`);
    }
  }

  async powerRestore(): Promise<void> {
    if (this.powered) return;
    await shell('on', this.o.power.on, this.o.logFile);
    await this.answering('of power on', () => this.probe());
  }

  /** Until the service port answers (`ready`), within the boot timeout; the boot is recorded. */
  private async answering(since: string, ready: () => Promise<boolean>): Promise<void> {
    const end = Date.now() + this.o.power.bootTimeoutMs;
    while (!(await ready())) {
      if (Date.now() > end) {
        // A path that never appeared is most likely the bench file's mistake, not a slow boot: say which.
        const problem = serialPathProblem(this.o.servicePort);
        const why = problem ? ` (the path ${problem.reason}: check terminal.service-port in the bench file)` : '';
        this.boots.push({ ok: false, detail: `no answer on ${this.o.servicePort} within ${this.o.power.bootTimeoutMs} ms ${since}${why}` });
        throw new Error(`the terminal did not answer on its service port ${this.o.servicePort} within ${this.o.power.bootTimeoutMs} ms ${since}${why}`);
      }
      await sleep(200);
    }
    const st = await this.call({ op: 'status' });
    const s = (st.ok ? st.result : {}) as { stan?: number; batch?: number; pendingReversals?: unknown[] };
    this.boots.push({ ok: true, detail: `answering on ${this.o.servicePort}: stan ${s.stan} batch ${s.batch}, reversals owed ${JSON.stringify(s.pendingReversals)}` });
  }

  rebootMark(): number {
    return 0;
  }

  /** A lab terminal reboots by itself after a flash: until its service port answers from `slot`. */
  async rebooted(_mark: number, slot: string): Promise<void> {
    this.service.drop();
    await this.answering(`of the reboot into slot ${slot}`, async () => {
      try {
        const fw = await this.service.firmware(1500);
        if (fw.runningSlot === slot) return (this.powered = true);
      } catch {
        // still rebooting
      }
      this.service.drop();
      return false;
    });
  }

  async close(): Promise<void> {
    await this.service.close();
  }
}
