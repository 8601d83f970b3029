// The deterministic simulator (issue 5): the real engine, journal, settlement and acquirer link run on
// simulated time (SimClock), a simulated disk that loses power (SimDisk), a simulated network with faults
// in front of the acquirer host logic with its own reference ledger, and simulated reader and printer.
// A seeded workload drives it; the power is cut at random I/O steps (a sync of the journal, or the moment a
// request is on the wire) and the terminal reboots on the crashed disk — new journal, new link, new engine,
// the same acquirer. The money invariants are checked after every reboot and, after a quiesce in which the
// faults stop and everything owed is sent, at the end. Everything random comes from the one seed.
// The terminal is built as `posj run` builds it (terminal/build-terminal.ts) and the cashier's operations go
// through the control operations (daemon/control-ops.ts) as the daemon runs a parsed request from its socket:
// request checking, turn-taking, settlement slips and result shaping run on every seed.
import type { AcquirerLink } from '../../firmware-ts/acquirer/link.js';
import { AcquirerHost } from '../acquirer/host.js';
import { SecretKey } from '../../protocol/iso8583/index.js';
import { JournalClosedError, JournalError } from '../../firmware-ts/journal/errors.js';
import type { ReversalPolicy, SupervisorVerifier, TxnResult } from '../../firmware-ts/txn/engine-api.js';
import { runControlRequest, type ControlConfig, type ControlParts, type SupervisorControl } from '../../firmware-ts/daemon/control-ops.js';
import { parseRequest, type ControlRequest } from '../../firmware-ts/daemon/control-protocol.js';
import type { DaemonLog } from '../../firmware-ts/daemon/daemon-log.js';
import { SupervisorError } from '../../firmware-ts/txn/supervisor.js';
import type { ToldCashier } from '../../firmware-ts/txn/money-invariants.js';
import type { PlantedBugs } from '../../firmware-ts/txn/planted-bugs.js';
import { SettlementError, type Settlement } from '../../firmware-ts/txn/settlement.js';
import type { TerminalEngine } from '../../firmware-ts/txn/terminal-engine.js';
import { buildControl, buildTerminal } from '../../firmware-ts/terminal/build-terminal.js';
import { openTerminalJournal, type TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { readTerminalRecords, viewsByKey } from '../../firmware-ts/txn/txn-history.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { createRng, type Rng } from './rng.js';
import { checkWorld, DiskScan, type SimViolation } from './sim-checks.js';
import { SimClock } from './sim-clock.js';
import { DEFAULT_DEVICE_FAULTS, SIM_CARDS, SimReader, SimPrinter } from './sim-devices.js';
import { DEFAULT_TEST_CARDS } from '../sim/reader-cards.js';
import { DEFAULT_LINE_FAULTS, RealDevices } from './sim-real-devices.js';
import { PowerCutError, SimDisk, type CrashMode } from './sim-disk.js';
import { DEFAULT_NET_FAULTS, SimNetwork } from './sim-network.js';
import { SimTrace } from './sim-trace.js';
import { describeOp, nextOp, type Op } from './sim-workload.js';

const JOURNAL_DIR = '/terminal/journal';
const IDENTITY = { terminalId: '12345678', merchantId: '898310048990001' };
const TMK = SecretKey.fromHex('0123456789ABCDEFFEDCBA9876543210');
const PASSWORD = 'Sim-Sup-1';
const RESPONSE_TIMEOUT_MS = 30_000;
const CRASH_MODES: CrashMode[] = ['keep', 'drop', 'tear', 'garbage', 'random'];

export interface SimOptions {
  /** Workload operations per seed. Default 30. */
  ops?: number;
  /** Chance per operation of arming a power cut. Default 0.15. */
  crashRate?: number;
  /** Events kept for the failure report. Default 40. */
  traceSize?: number;
  /** Multiplies every network and device fault rate (1 = the defaults). */
  faultScale?: number;
  /**
   * `ideal`: the simulated reader and printer stand in for the drivers (sim-devices.ts). `real`: the real
   * drivers over simulated serial lines with the device simulators on the far end (sim-real-devices.ts).
   */
  devices?: 'ideal' | 'real';
  /** Test-only: known bugs the simulator must catch. The CLI never sets this. */
  plantedBugs?: PlantedBugs;
}

export interface SeedResult {
  seed: number;
  steps: number;
  crashes: number;
  violations: SimViolation[];
  /** Where the failing check ran: `after reboot N` or `at the end`. */
  failedAt?: string;
  /** The last events before the end (or the failure), oldest first. */
  trace: string[];
  /** SHA-256 over every event of the run: equal for equal runs. */
  traceHash: string;
  events: number;
}

/**
 * The simulator's supervisor: one password, set before the first boot. The real one (txn/supervisor.ts) hashes
 * with scrypt on libuv's thread pool and salts from the OS, neither of which runs on simulated time.
 */
const supervisor: SupervisorVerifier & SupervisorControl = {
  async verify(password) {
    return password === PASSWORD ? { ok: true } : { ok: false, reason: 'wrong-password', detail: 'wrong supervisor password' };
  },
  status: () => ({ set: true, failures: 0, lockedForMs: 0 }),
  async setPassword() {
    throw new SupervisorError('SUPERVISOR_ALREADY_SET', "the simulator's supervisor password is fixed");
  },
};

/** What the control operations read of the config (the daemon's comes from its config file). */
const CONTROL_CONFIG: ControlConfig = { ...IDENTITY, merchantName: 'Sim Shop', timeouts: { cardMs: 30_000 } };

/** Lets every promise continuation that is ready run (nothing here waits on real I/O). */
const flush = () => new Promise<void>((r) => setImmediate(r));

type Driven<T> = { kind: 'done'; value: T } | { kind: 'error'; error: unknown } | { kind: 'crashed' } | { kind: 'stall' };

class CheckFailed extends Error {
  constructor(
    readonly violations: SimViolation[],
    readonly where: string,
  ) {
    super(`${violations.length} violations ${where}`);
  }
}

class World {
  readonly rng: Rng;
  readonly clock = new SimClock();
  readonly trace: SimTrace;
  readonly disk = new SimDisk();
  readonly host: AcquirerHost;
  readonly net: SimNetwork;
  readonly reader: SimReader;
  readonly printer: SimPrinter;
  /** Set with `devices: 'real'`: the drivers, the lines and the device simulators. */
  readonly realDevices: RealDevices | undefined;
  readonly deviceKey: Buffer;
  /** The card-data scan of the terminal's disk, kept between checks. */
  private readonly diskScan = new DiskScan();
  journal!: TerminalJournal;
  link: AcquirerLink | undefined;
  engine: TerminalEngine | undefined;
  settlement!: Settlement;
  /** The control operations' parts of the running terminal (built after its boot, as the daemon does). */
  control: ControlParts | undefined;
  /** The daemon's log lines, into the trace. */
  private readonly daemonLog: DaemonLog = {
    event: (name, fields = {}) => this.log(`daemon: ${name}${Object.entries(fields).map(([k, v]) => (v === undefined || v === null ? '' : ` ${k}=${v}`)).join('')}`),
  };
  /** batch|STAN of every transaction the cashier was told was approved (balance inquiries left out). */
  readonly reportedApproved = new Set<string>();
  /** Every answer the cashier heard, by request id (invariant 8). */
  readonly told: ToldCashier[] = [];
  /** Money operations whose answer the cashier never heard (the power failed): asked again after the reboot. */
  readonly unheard: { requestId: string; op: Op }[] = [];
  private nextRequest = 1;
  /** The last answer the cashier heard. */
  private lastHeard: TxnResult | undefined;
  crashed = false;
  crashes = 0;
  reboots = 0;
  private armed = false;
  /** Armed: the next file sync fails with EIO; the crash mode of the reboot that follows. */
  private fsyncFails: CrashMode | null = null;

  constructor(
    readonly seed: number,
    readonly opts: SimOptions,
  ) {
    this.rng = createRng(seed);
    this.trace = new SimTrace(() => this.clock.now(), this.clock.now(), opts.traceSize ?? 40);
    const log = (line: string) => this.trace.add(line);
    const hostRng = createRng(seed ^ 0x5eed5eed);
    this.host = AcquirerHost.open({
      storage: new SimDisk(),
      ledgerPath: '/acquirer/ledger.jsonl',
      tmk: TMK,
      clock: this.clock,
      // The PINs of the simulator's cards and of the reader simulator's (with --devices real).
      cards: [...DEFAULT_TEST_CARDS, ...SIM_CARDS],
      random: (n) => Buffer.from(hostRng.fill(new Uint8Array(n))),
      onEvent: (e) => log(`host: ${e.mti} stan ${e.stan ?? '-'} ${e.action}${e.responseCode ? ` ${e.responseCode}` : ''}${e.detail ? ` (${e.detail})` : ''}`),
    });
    const k = opts.faultScale ?? 1;
    const scaled = <T extends object>(rates: T): T => Object.fromEntries(Object.entries(rates).map(([n, p]) => [n, Math.min(0.5, (p as number) * k)])) as T;
    this.net = new SimNetwork({ host: this.host, clock: this.clock, rng: this.rng, responseTimeoutMs: RESPONSE_TIMEOUT_MS, trace: log, rates: scaled(DEFAULT_NET_FAULTS) });
    // PIN sales draw from a stream of their own: the main stream's draws are what they were before them.
    this.reader = new SimReader(this.rng, this.clock, log, scaled(DEFAULT_DEVICE_FAULTS), { rng: createRng(seed ^ 0x9157_0b1c), tmk: TMK });
    this.printer = new SimPrinter(this.rng, this.clock, log, scaled(DEFAULT_DEVICE_FAULTS), createRng(seed ^ 0x51_1b_9a_9e));
    // The chip's cryptograms come from a stream of their own too (they only go on the wire, inside field 55):
    // before, the reader simulator drew them from the OS, so two replays of a seed sent different bytes.
    this.realDevices = opts.devices === 'real' ? new RealDevices(this.clock, this.rng, log, scaled(DEFAULT_LINE_FAULTS), createRng(seed ^ 0x0c41_9a26)) : undefined;
    this.deviceKey = Buffer.from(this.rng.fill(new Uint8Array(32)));
    // Each seed runs its own reversal policy (the config keys a deployment may set).
    this.policy = {
      attemptsPerRound: 1 + this.rng.int(4),
      attemptSpacingMs: 500 + this.rng.int(5_000),
      backoffMs: 5_000 + this.rng.int(60_000),
      maxBackoffMs: 5 * 60_000 + this.rng.int(10 * 60_000),
      jitter: this.rng.float() * 0.5,
      preSaleBudgetMs: 1_000 + this.rng.int(10_000),
      refuseSalesWhileStuck: this.rng.chance(0.8),
    };
  }

  private readonly policy: ReversalPolicy;

  log(line: string): void {
    this.trace.add(line);
  }

  // --- power ---------------------------------------------------------------------------------------------

  /** Maybe arms a power cut at a coming journal sync or at the next request on the wire. */
  maybeArmCrash(): void {
    const roll = this.rng.float();
    if (this.armed || roll >= (this.opts.crashRate ?? 0.15)) return;
    this.armed = true;
    const mode = CRASH_MODES[this.rng.int(CRASH_MODES.length)]!;
    const kind = this.rng.float();
    if (kind < 0.1) {
      // fsync EIO: the journal must refuse every later write (DESIGN rule 8); the terminal then reboots and
      // recovers from what is on the platter (modelled as a power cut: a watchdog reboot drops the page cache).
      this.fsyncFails = mode;
      this.disk.failNextSync();
      return;
    }
    if (kind < 0.75) {
      const count = this.disk.stats.syncs + 1 + this.rng.int(8);
      const phase = this.rng.chance(0.5) ? 'before' : 'after';
      this.disk.onSync((e) => {
        if (e.count !== count || e.phase !== phase) return;
        this.disk.onSync(null);
        this.powerCut(mode, `${phase} sync #${count} (${e.kind} ${e.path.split('/').pop()})`);
      });
    } else {
      this.net.cut = { at: this.rng.chance(0.5) ? 'before-host' : 'after-host', fire: () => this.powerCut(mode, 'a request on the wire') };
    }
  }

  disarm(): void {
    this.armed = false;
    this.fsyncFails = null;
    this.disk.clearFaults();
    this.disk.onSync(null);
    this.net.cut = null;
  }

  /**
   * The journal refused writes after the planned fsync EIO (the operation either threw, or — inside an
   * authorization, which never throws — answered from what it knew): reboot.
   */
  rebootAfterFsyncFailure(r: Driven<unknown>): boolean {
    if (this.fsyncFails === null) return false;
    const threw = r.kind === 'error' && r.error instanceof JournalClosedError;
    if (!threw && this.journal.failed === null) return false;
    const mode = this.fsyncFails;
    this.fsyncFails = null;
    this.disk.clearFaults();
    this.log(`journal refused writes after fsync EIO (${String(this.journal.failed ?? (r.kind === 'error' ? r.error : '')).slice(0, 60)}...)`);
    this.powerCut(mode, 'the reboot after fsync EIO');
    return true;
  }

  private powerCut(mode: CrashMode, where: string): void {
    this.log(`POWER CUT at ${where}, unsynced sectors: ${mode}`);
    this.disk.crash(this.rng, mode);
    this.crashed = true;
    this.crashes++;
    this.armed = false;
    // The dead process's timers, listeners and socket go with it.
    this.engine?.stop();
    this.link?.close();
    this.control?.slips.close();
    this.control = undefined;
    this.realDevices?.powerCut();
  }

  // --- driving the real code on simulated time ------------------------------------------------------------

  /** Runs `p` to its end, firing timers one at a time in (time, sequence) order. */
  async drive<T>(p: Promise<T>, limitMs = 6 * 3600_000): Promise<Driven<T>> {
    let settled: Driven<T> | undefined;
    p.then(
      (value) => void (settled = { kind: 'done', value }),
      (error: unknown) => void (settled = { kind: 'error', error }),
    );
    const deadline = this.clock.now() + limitMs;
    for (;;) {
      await flush();
      if (this.crashed) return { kind: 'crashed' };
      if (settled) return settled;
      const at = this.clock.nextAt();
      if (at === null || at > deadline) return { kind: 'stall' };
      this.clock.runNext();
    }
  }

  /** Lets simulated time pass: background reversal rounds, late replies, printer retries. */
  async idle(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    for (;;) {
      await flush();
      if (this.crashed) return;
      const at = this.clock.nextAt();
      if (at === null || at > end) break;
      this.clock.runNext();
    }
    this.clock.skipTo(end);
    await flush();
  }

  // --- boot -------------------------------------------------------------------------------------------------

  /** Before the first boot: a journal whose last STAN is `stan` (a sign-on long ago). */
  async nearStanWrap(stan: number): Promise<void> {
    const j = await openTerminalJournal({ dir: JOURNAL_DIR, deviceKey: this.deviceKey, storage: this.disk, segmentBytes: 64 * 1024 });
    await j.append([{ type: TerminalRecord.stanAllocated.name, payload: { stan, purpose: 'sign-on', at: new Date(this.clock.now()).toISOString() } }], { durable: true });
    await j.close();
    this.log(`journal starts at STAN ${stan}`);
  }

  /** Starts the terminal on its disk, as after power-on; tries again if the power fails during boot. */
  async boot(): Promise<void> {
    for (;;) {
      this.crashed = false;
      this.reboots++;
      try {
        this.journal = await openTerminalJournal({ dir: JOURNAL_DIR, deviceKey: this.deviceKey, storage: this.disk, segmentBytes: 64 * 1024 });
      } catch (e) {
        if (this.crashed || e instanceof PowerCutError) continue;
        if (this.fsyncFails !== null && (e as NodeJS.ErrnoException).code === 'EIO') {
          const mode = this.fsyncFails;
          this.fsyncFails = null;
          this.disk.clearFaults();
          this.powerCut(mode, 'the reboot after fsync EIO during open');
          continue;
        }
        throw new CheckFailed([{ invariant: 'journal-reopens', detail: `open after a power cut threw: ${(e as Error).message}` }], `at reboot ${this.reboots}`);
      }
      const rep = this.journal.openReport;
      this.log(`boot #${this.reboots}: journal open, ${rep.recordsReplayed} records replayed${rep.tornTailBytes ? `, ${rep.tornTailBytes} torn bytes cut` : ''}; stan ${this.journal.state.stan} batch ${this.journal.state.batch}`);
      const devices = this.realDevices?.boot() ?? { reader: this.reader, printer: this.printer };
      const t = buildTerminal({
        journal: this.journal,
        storage: this.disk,
        connector: this.net.connector(),
        clock: this.clock,
        ...devices,
        supervisor,
        identity: IDENTITY,
        tmk: TMK,
        merchantName: 'Sim Shop',
        reversal: this.policy,
        timeouts: { connectMs: 5_000, responseMs: RESPONSE_TIMEOUT_MS },
        onLinkEvent: (e) => e.type !== 'connected' && this.log(`link: ${e.type}${'reason' in e ? ` ${e.reason}` : ''}${'mti' in e ? ` ${e.mti} stan ${e.stan ?? '-'}` : ''}${'detail' in e ? ` ${e.detail}` : ''}`),
        random: () => this.rng.float(),
        onEngineEvent: (e) => this.log(`engine: ${Object.values(e).join(' ')}`),
        ...(this.opts.plantedBugs ? { plantedBugs: this.opts.plantedBugs } : {}),
      });
      this.link = t.link;
      this.engine = t.engine;
      this.settlement = t.settlement;
      const booted = await this.drive(this.engine.boot());
      if (booted.kind === 'crashed' || this.rebootAfterFsyncFailure(booted)) continue;
      this.expectDone(booted, 'boot');
      if (booted.kind === 'done') {
        const b = booted.value;
        this.log(`boot #${this.reboots}: signed on ${b.signedOn}, reversals raised [${b.reversalsRaised}] cleared [${b.reversalsCleared}] stuck [${b.reversalsStuck}], receipts printed [${b.receiptsPrinted}]`);
      }
      const printer = () => (this.realDevices ?? this.printer).problem ?? 'ready';
      this.control = buildControl(t, { journal: this.journal, clock: this.clock, printer: devices.printer, supervisor, devices: { health: () => ({ reader: 'simulated', printer: printer() }) }, config: CONTROL_CONFIG, log: this.daemonLog });
      // As the daemon does: a settlement the power cut interrupted is finished first, then slips owed are printed.
      if (this.settlement.pending) {
        const resumed = await this.drive(this.settle());
        if (resumed.kind === 'crashed' || this.rebootAfterFsyncFailure(resumed)) continue;
        this.expectDone(resumed, 'settlement resume');
      }
      if (this.journal.state.slipsOwed.length > 0) {
        const slips = await this.drive(this.control.slips.printOwed());
        if (slips.kind === 'crashed' || this.rebootAfterFsyncFailure(slips)) continue;
        this.expectDone(slips, 'settlement slips owed');
      }
      return;
    }
  }

  /** An operation must end with an answer: an exception the engine did not turn into one, or a hang, is a bug. */
  expectDone(r: Driven<unknown>, what: string): void {
    if (r.kind === 'stall') throw new CheckFailed([{ invariant: 'liveness', detail: `${what} never finished` }], `during ${what}`);
    if (r.kind === 'error' && !(r.error instanceof SettlementError)) {
      const e = r.error as Error;
      // A journal that refuses writes after a failed sync is fatal by design (DESIGN rule 8), but the simulator
      // only fails syncs by cutting the power, which it handles above.
      const detail = `${what} threw ${e?.name ?? 'error'}: ${e?.message ?? String(e)}`;
      throw new CheckFailed([{ invariant: e instanceof JournalError ? 'journal-reopens' : 'engine-error', detail }], `during ${what}`);
    }
  }

  // --- the workload ---------------------------------------------------------------------------------------

  /**
   * A request as the cashier's client sends it: JSON through the control protocol's parser, run as the
   * daemon runs one from its socket, and the answer read back as the JSON the client receives.
   */
  async request(req: ControlRequest): Promise<unknown> {
    const result = await runControlRequest(this.control!, parseRequest(JSON.stringify(req)));
    return JSON.parse(JSON.stringify(result)) as unknown;
  }

  /** `posj settle`: owed reversals first, sign-on if the keys were lost, settlement, the slip. */
  async settle(): Promise<string> {
    try {
      const r = (await this.request({ op: 'settle' })) as { batch: number; balanced: boolean; uploaded: number; slip: { printed: boolean; reason?: string } };
      return `settled batch ${r.batch} (${r.balanced ? 'balanced' : `unbalanced, ${r.uploaded} uploaded`}), slip ${r.slip.printed ? 'printed' : `not printed (${r.slip.reason})`}`;
    } catch (e) {
      if (e instanceof SettlementError) return `settlement stopped: ${e.code}`;
      throw e;
    }
  }

  /** The control request of a money operation (without its request id); undefined for the world's moves. */
  private requestFor(op: Op): ControlRequest | undefined {
    switch (op.kind) {
      case 'sale':
      case 'preauth':
        return { op: op.kind, amount: op.amount };
      case 'balance':
        return { op: 'balance' };
      case 'completion':
        return { op: 'completion', stan: op.stan, batch: op.batch, amount: op.amount };
      case 'preauth-void':
        return { op: 'preauth-void', stan: op.stan, batch: op.batch, password: PASSWORD };
      case 'void':
        return { op: 'void', stan: op.stan, password: PASSWORD };
      case 'refund':
        return { op: 'refund', rrn: op.rrn, date: op.date, amount: op.amount, password: PASSWORD };
      default:
        return undefined;
    }
  }

  /** Asks the terminal, as the cashier's client does, and remembers what the cashier heard (or that nothing came). */
  async ask(requestId: string, op: Op, req: ControlRequest): Promise<Driven<string>> {
    this.log(`  request id ${requestId}`);
    // A dead process answers nobody: what its promises do after the power cut is never heard.
    const life = this.reboots;
    const r = await this.drive(this.request({ ...req, requestId }).then((t) => (this.crashed || this.reboots !== life ? 'unheard' : this.hear(requestId, t as TxnResult))));
    if (r.kind === 'crashed') this.unheard.push({ requestId, op });
    if (r.kind !== 'error') return r;
    // An error reply is a "failed" to the cashier; one the daemon gives by design (a settlement half done
    // refuses new transactions) is an answer, anything else an engine error to the simulator.
    this.told.push({ said: 'failed', requestId });
    return r.error instanceof SettlementError ? { kind: 'done', value: `refused: ${r.error.code} (${r.error.message})` } : r;
  }

  private hear(requestId: string, r: TxnResult): string {
    this.lastHeard = r;
    if (r.kind === 'approved' && r.txn !== 'balance') this.reportedApproved.add(`${r.batch}|${r.stan}`);
    const said = r.kind === 'approved' ? 'approved' : r.kind === 'unknown' ? 'unknown' : 'failed';
    this.told.push({ said, requestId, ...(r.kind !== 'refused' ? { batch: r.batch, stan: r.stan } : {}) });
    return describeResult(r) + (r.kind !== 'refused' && r.replayed ? ' (replayed: the first outcome of this request id)' : '');
  }

  /** After a reboot the cashier who heard nothing asks again with the same request id (most of the time). */
  async askAgain(): Promise<Driven<string> | undefined> {
    const next = this.unheard.shift();
    if (!next || !this.rng.chance(0.7) || this.settlement.pending) return undefined;
    const req = this.requestFor(next.op);
    if (!req) return undefined;
    // `posj status --request-id` first (heard nothing? ask this): what the journal knows of the request.
    const known = (await this.request({ op: 'status', requestId: next.requestId })) as { found: boolean; state?: string; stan?: number };
    this.log(`cashier asks status of request id ${next.requestId}: ${known.found ? `${known.state} stan ${known.stan}` : 'not found'}`);
    this.log(`cashier asks again: ${describeOp(next.op)} with request id ${next.requestId}`);
    this.lastHeard = undefined;
    const again = await this.ask(next.requestId, next.op, req);
    // Invariant 8's lookup: what status found by the request id is what the repeated request answers from.
    const heard = this.lastHeard as TxnResult | undefined;
    const replayed = heard !== undefined && heard.kind !== 'refused' && heard.replayed === true;
    if (again.kind === 'done' && heard && replayed !== known.found) {
      const detail = `status --request-id ${next.requestId} said ${known.found ? `found (${known.state})` : 'not found'}, the repeated request ${replayed ? 'was answered from the journal' : `was run anew (${heard.kind})`}`;
      throw new CheckFailed([{ invariant: 'request-once', detail }], 'during the repeated request');
    }
    return again;
  }

  async runOp(op: Op): Promise<Driven<string>> {
    const req = this.requestFor(op);
    if (req) return this.ask(`sim-${this.nextRequest++}`, op, req);
    switch (op.kind) {
      case 'settle':
        return this.drive(this.settle());
      case 'send-reversals':
        return this.drive(this.sendReversals());
      case 'idle':
        await this.idle(op.ms);
        return this.crashed ? { kind: 'crashed' } : { kind: 'done', value: 'idle' };
      case 'outage':
        this.net.setDown(op.down);
        return { kind: 'done', value: op.down ? 'network down' : 'network up' };
      case 'outage-later':
        this.net.scheduleOutage(op.inMs, op.forMs);
        return { kind: 'done', value: 'outage scheduled' };
      case 'printer':
        if (op.fix) (this.realDevices ?? this.printer).fix();
        else (this.realDevices ?? this.printer).breakDown();
        await flush();
        return this.crashed ? { kind: 'crashed' } : { kind: 'done', value: 'printer' };
      default:
        throw new Error(`no way to run ${describeOp(op)}`);
    }
  }

  /** `posj reversals --send`. */
  async sendReversals(): Promise<string> {
    const r = (await this.request({ op: 'send-reversals' })) as { cleared: number[]; stuck: number[] };
    return `reversals cleared [${r.cleared}] stuck [${r.stuck}]`;
  }

  check(final: boolean, where: string): void {
    const violations = checkWorld({
      records: readTerminalRecords(this.journal, this.disk),
      host: this.host,
      disk: this.disk,
      terminalId: IDENTITY.terminalId,
      wire: this.net.wire,
      reportedApproved: this.reportedApproved,
      told: this.told,
      pinBlocks: [...this.reader.pinBlocks, ...(this.realDevices?.pinBlocks ?? [])],
      onPaper: this.printer.onPaper,
      final,
      diskScan: this.diskScan,
    });
    if (violations.length) throw new CheckFailed(violations, where);
  }

  /** Faults stop, the network heals, the printer is fixed; everything owed must now go through. */
  async quiesce(): Promise<void> {
    if (this.journal.failed !== null && this.fsyncFails !== null) {
      // A background write hit the planned fsync EIO after the last operation: reboot first.
      this.powerCut(this.fsyncFails, 'the reboot after fsync EIO');
      this.fsyncFails = null;
      this.disk.clearFaults();
      await this.boot();
    }
    this.disarm();
    this.net.faultsOn = false;
    this.reader.faultsOn = false;
    this.printer.faultsOn = false;
    this.net.setDown(false);
    this.printer.fix();
    if (this.realDevices) {
      this.realDevices.faultsOn = false;
      this.realDevices.fix();
    }
    // Late replies and requests still on the wire land within this.
    await this.idle(5 * 60_000);
    for (let i = 0; i < 3 && Object.keys(this.journal.state.reversals).length > 0; i++) {
      const r = await this.drive(this.sendReversals());
      this.expectDone(r, 'final reversal round');
    }
    const owed = Object.keys(this.journal.state.reversals);
    if (owed.length) throw new CheckFailed([{ invariant: 'liveness', detail: `reversals still owed on a healthy network: STAN ${owed.join(', ')}` }], 'at the end');
    const settled = await this.drive(this.settle());
    this.expectDone(settled, 'final settlement');
    if (settled.kind === 'done') this.log(`final: ${settled.value}`);
    if (settled.kind === 'done' && !settled.value.startsWith('settled')) {
      throw new CheckFailed([{ invariant: 'liveness', detail: `final settlement on a healthy network: ${settled.value}` }], 'at the end');
    }
    await this.idle(1_000);
    const receipts = Object.keys(this.journal.state.pendingReceipts);
    if (receipts.length) throw new CheckFailed([{ invariant: 'liveness', detail: `receipts still pending with a working printer: STAN ${receipts.join(', ')}` }], 'at the end');
    const slips = this.journal.state.slipsOwed.map((o) => o.batch);
    if (slips.length) throw new CheckFailed([{ invariant: 'liveness', detail: `settlement slips still owed with a working printer: batch ${slips.join(', ')}` }], 'at the end');
  }
}

function describeResult(r: TxnResult): string {
  switch (r.kind) {
    case 'approved':
      return `approved ${r.txn} stan ${r.stan} rrn ${r.rrn} receipt ${r.receipt}`;
    case 'declined':
      return `declined ${r.txn} stan ${r.stan} (${r.responseCode})`;
    case 'reversed':
      return `reversed ${r.txn} stan ${r.stan} (${r.reason}, reversal ${r.reversal})`;
    case 'not-sent':
      return `not sent ${r.txn} stan ${r.stan}`;
    case 'unknown':
      return `unknown ${r.txn} stan ${r.stan}: ${r.detail}`;
    case 'refused':
      return `refused ${r.txn}: ${r.reason}`;
  }
}

/** Runs one seed to its end (or its first failed check). */
export async function runSeed(seed: number, opts: SimOptions = {}): Promise<SeedResult> {
  const w = new World(seed >>> 0, opts);
  const ops = opts.ops ?? 30;
  let steps = 0;
  const result = (violations: SimViolation[], failedAt?: string): SeedResult => ({
    seed: seed >>> 0,
    steps,
    crashes: w.crashes,
    violations,
    ...(failedAt ? { failedAt } : {}),
    trace: w.trace.tail(),
    traceHash: w.trace.digest(),
    events: w.trace.events,
  });
  try {
    // One seed in five starts just below the STAN wrap (999999 → 1), as a terminal in service for years does.
    if (w.rng.chance(0.2)) await w.nearStanWrap(999_980 + w.rng.int(19));
    await w.boot();
    for (; steps < ops; steps++) {
      // A settlement left half done blocks new transactions (as in the daemon): the cashier retries it.
      const op: Op = w.settlement.pending && w.rng.chance(0.6) ? { kind: 'settle' } : nextOp(w.rng, () => [...viewsByKey(w.journal.state).values()], w.journal.state.batch, w.net.down, (w.realDevices ?? w.printer).problem !== null);
      w.maybeArmCrash();
      w.log(`op ${steps + 1}: ${describeOp(op)}`);
      const r = await w.runOp(op);
      if (r.kind === 'done') w.log(`  → ${r.value}`);
      if (r.kind === 'crashed' || w.rebootAfterFsyncFailure(r)) {
        await w.boot();
        w.check(false, `after reboot ${w.reboots - 1}`);
        const again = await w.askAgain();
        if (again?.kind === 'done') w.log(`  → ${again.value}`);
        if (again && (again.kind === 'crashed' || w.rebootAfterFsyncFailure(again))) {
          await w.boot();
          w.check(false, `after reboot ${w.reboots - 1}`);
        } else if (again) w.expectDone(again, 'the repeated request');
        continue;
      }
      w.expectDone(r, describeOp(op));
    }
    await w.quiesce();
    w.check(true, 'at the end');
    return result([]);
  } catch (e) {
    if (e instanceof CheckFailed) {
      w.log(`VIOLATION ${e.where}: ${e.violations.map((v) => v.invariant).join(', ')}`);
      return result(e.violations, e.where);
    }
    throw e;
  }
}
