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
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { serviceRtoMs, SERVICE_WINDOW } from '../../firmware-ts/service/service-port.js';
import { pullJournal, type PullReport } from '../service/journal-pull.js';
import { ServiceClient, ServiceError } from '../service/service-client.js';
import { BenchChild } from './bench-children.js';
import { readJournalDir, type BootSeen, type JournalVerdict, type TerminalUnderTest } from './terminal-under-test.js';

/** Answers that mean the line or the terminal is gone, not that the terminal refused the request. */
const LINE_FAILURES = new Set(['SERVICE_LINK_TIMEOUT', 'SERVICE_TIMEOUT', 'SERVICE_LINK_CLOSED', 'SERVICE_LINK_FAILED', 'SERVICE_SESSION_RESET']);
const quiet = { info: () => undefined, warn: () => undefined };
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
  terminalId = '';
  readonly journalDir: string;
  readonly boots: BootSeen[] = [];
  readonly readableWhileOff = false;
  powered = false;
  private port: ReconnectingPort | null = null;
  private client: ServiceClient | null = null;
  private lastPull: PullReport | null = null;

  constructor(private readonly o: ServiceTerminalOptions) {
    this.journalDir = o.copyDir;
    fs.mkdirSync(o.copyDir, { recursive: true });
  }

  private async connect(helloMs = 5000): Promise<ServiceClient> {
    if (this.client) return this.client;
    if (!this.port) {
      this.port = new ReconnectingPort({ path: this.o.servicePort, baudRate: this.o.baud, clock: systemClock, log: quiet });
      this.port.start();
    }
    const client = new ServiceClient(this.port, systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(this.o.baud), maxRetries: 3 });
    try {
      const hello = await client.request({ op: 'hello' }, Buffer.alloc(0), helloMs);
      this.terminalId = String(hello.head.terminalId);
      await client.authenticate(this.o.key);
    } catch (e) {
      client.close();
      throw e;
    }
    this.client = client;
    return client;
  }

  private drop(): void {
    this.client?.close();
    this.client = null;
  }

  /** Whether the terminal answers on its service port now (at the start of a run its power state is unknown). */
  async probe(): Promise<boolean> {
    try {
      await this.connect(1500);
      this.powered = true;
    } catch {
      this.drop();
      this.powered = false;
    }
    return this.powered;
  }

  async call(req: ControlRequest, timeoutMs = 60_000): Promise<ControlResponse> {
    const client = await this.connect();
    try {
      const a = await client.request({ op: 'control', request: req }, Buffer.alloc(0), timeoutMs);
      return { ok: true, result: a.head.result };
    } catch (e) {
      if (e instanceof ServiceError && !LINE_FAILURES.has(e.code)) return { ok: false, error: { code: e.code, message: e.message } };
      this.drop();
      throw e;
    }
  }

  private async pull(): Promise<PullReport> {
    const r = await pullJournal({
      connect: async () => {
        const client = await this.connect();
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
    this.drop();
    await shell('off', this.o.power.off, this.o.logFile);
    this.powered = false;
  }

  async powerRestore(): Promise<void> {
    if (this.powered) return;
    await shell('on', this.o.power.on, this.o.logFile);
    const end = Date.now() + this.o.power.bootTimeoutMs;
    while (!(await this.probe())) {
      if (Date.now() > end) {
        this.boots.push({ ok: false, detail: `no answer on ${this.o.servicePort} within ${this.o.power.bootTimeoutMs} ms of power on` });
        throw new Error(`the terminal did not answer on its service port ${this.o.servicePort} within ${this.o.power.bootTimeoutMs} ms of power on`);
      }
      await sleep(200);
    }
    const st = await this.call({ op: 'status' });
    const s = (st.ok ? st.result : {}) as { stan?: number; batch?: number; pendingReversals?: unknown[] };
    this.boots.push({ ok: true, detail: `answering on ${this.o.servicePort}: stan ${s.stan} batch ${s.batch}, reversals owed ${JSON.stringify(s.pendingReversals)}` });
  }

  async close(): Promise<void> {
    this.drop();
    await this.port?.close();
    this.port = null;
  }
}
