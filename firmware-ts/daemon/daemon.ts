// `posj run`: the terminal. Checks that no other daemon serves its socket, opens the journal, boots the
// engine (owed reversals go out before anything else), resumes a settlement a power cut interrupted, then
// serves the local control API: JSON lines on a Unix socket, read-only requests at once, money operations
// one at a time. A graceful shutdown lets the operation in flight reach its durable outcome first.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { tcpConnector } from '../acquirer/index.js';
import type { ByteLink } from '../../protocol/io/byte-link.js';
import { systemClock, type Clock } from '../../protocol/io/clock.js';
import { nodeStorage } from '../io/node-storage.js';
import { journalExists, loadOrCreateDeviceKey } from '../journal/device-key.js';
import { refuseDamagedJournal } from '../journal/boot-check.js';
import { JournalError } from '../journal/errors.js';
import { foreignOpenWork, foreignWorkReason } from '../txn/journal-identity.js';
import { journalRecordTypes } from '../txn/terminal-journal.js';
import { SecretKey } from '../../protocol/iso8583/index.js';
import { buildControl, buildTerminal } from '../terminal/build-terminal.js';
import { Supervisor } from '../txn/supervisor.js';
import { openTerminalJournal, type TerminalJournal } from '../txn/terminal-journal.js';
import { ConfigError, type AcquirerTarget, type TerminalConfig } from './config.js';
import { checkConfigFiles } from './config-files.js';
import { runControlRequest, type DaemonParts } from './control-ops.js';
import { ControlServer, type ControlLimits } from './control-server.js';
import type { RunningOperation } from './operation-queue.js';
import type { DaemonLog } from './daemon-log.js';
import { ReversalReasons } from './reversal-reasons.js';
import { openDevices, type SimulatedDevices } from './devices.js';
import { confirmHealthySlot, startServicePort } from '../service/start-service.js';

export interface RunningDaemon {
  readonly socketPath: string;
  readonly journal: TerminalJournal;
  /** Resolves when a bench asked for a reboot over the service port. */
  readonly rebootRequested: Promise<void>;
  /** Resolves a moment after the journal failed a write or sync (status answers the failure meanwhile). */
  readonly journalFailed: Promise<void>;
  /** Closes everything now (the journal makes that safe); an operation in flight is cut. */
  stop(): Promise<void>;
  /**
   * SIGTERM/SIGINT: takes no new work, ends a wait for a card, lets the money operation in flight reach its
   * outcome and answer its client (at most `shutdownBoundMs`), logs a shutdown line, then closes. When the
   * bound passes nothing is closed and `graceful` is false: the caller exits at once.
   */
  shutdown(signal: string): Promise<ShutdownReport>;
  readonly shutdownBoundMs: number;
}

export interface ShutdownReport {
  graceful: boolean;
  /** The money operation that was running when the signal came. */
  inFlight: RunningOperation | null;
  waitedMs: number;
}

/** Slack for the slip after an approval; a printer that takes longer leaves the receipt pending (printed at boot). */
const SHUTDOWN_PRINT_MS = 3000;

/** The operation in flight gets its own request's time plus one reversal attempt, as issue 8 bounds it. */
/** How long a daemon whose journal failed keeps answering status before it exits for a restart. */
export const JOURNAL_FAILED_GRACE_MS = 2_000;

export function shutdownBound(t: TerminalConfig['timeouts']): number {
  return 2 * (t.connectMs + t.responseMs) + SHUTDOWN_PRINT_MS;
}

/**
 * What stands in for the config value `"simulated"`. The terminal carries no simulator: the bench side
 * (host-bridge/terminal/simulated-parts.ts) supplies these, and without them `"simulated"` is a config error.
 */
export interface SimulatedParts extends SimulatedDevices {
  /** Starts an acquirer host for this terminal and says where to reach it. */
  acquirer(config: TerminalConfig, clock: Clock, log: DaemonLog): Promise<{ target: AcquirerTarget; close(): Promise<void> }>;
}

export interface DaemonOptions {
  config: TerminalConfig;
  log: DaemonLog;
  clock?: Clock;
  /** Bench-side stand-ins for `"simulated"` config values. */
  simulated?: SimulatedParts;
  controlLimits?: Partial<ControlLimits>;
  /** The A/B slot this process was started from by `posj boot` (POSJ_SLOT), confirmed after a healthy boot. */
  slot?: string | null;
  /** The service port's line when it is not a serial path (an in-process test link). */
  serviceLink?: ByteLink;
}

/** A `"simulated"` value in the config needs the bench's parts: name the first such key. */
function requireSimulatedParts(config: TerminalConfig, simulated: SimulatedParts | undefined): void {
  if (simulated) return;
  const key = (['acquirer', 'reader', 'printer'] as const).find((k) => config[k] === 'simulated');
  if (key) throw new ConfigError(key, 'is "simulated", but this build is the terminal alone: give a host or serial path, or run the bench build (npx posj run --simulated)');
}

/** A file-system error (not a journal's own typed error) becomes a ConfigError naming the key and the path. */
function asConfigError<T>(key: string, p: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new ConfigError(key, `${p}: ${code}: ${(e as Error).message}`);
    throw e;
  }
}

/** Removes a socket file left by a daemon that died; refuses when a live daemon still answers on it. */
async function claimSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (alive) throw Object.assign(new Error(`another posj daemon is serving ${socketPath}`), { code: 'DAEMON_RUNNING' });
  fs.rmSync(socketPath, { force: true });
}

export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const { config, log } = opts;
  const clock = opts.clock ?? systemClock;
  requireSimulatedParts(config, opts.simulated);
  // Every check before the journal opens or a byte goes to the acquirer: the paths, then a live daemon on the socket.
  checkConfigFiles(config);
  fs.mkdirSync(path.dirname(config.socketPath), { recursive: true });
  await claimSocket(config.socketPath);
  const deviceKey = asConfigError('deviceKeyFile', config.deviceKeyFile, () => loadOrCreateDeviceKey(config.deviceKeyFile, config.journalDir));
  // The full verify first: open reads only the newest segment, and the daemon must refuse what verify calls damaged.
  if (journalExists(config.journalDir)) {
    const started = clock.now();
    const checked = refuseDamagedJournal(config.journalDir, { deviceKey, types: journalRecordTypes() });
    log.event('journal-verified', { segments: checked.segments, alreadyVerified: checked.reused, ms: clock.now() - started, ...(checked.saveError ? { verifiedFileNotSaved: checked.saveError } : {}) });
  }
  // After a failed write or sync the journal refuses every write (money ops fail with JOURNAL_CLOSED); status
  // keeps answering for JOURNAL_FAILED_GRACE_MS, then posj run exits 74 and init restarts it from disk.
  let failedNow: () => void = () => undefined;
  const journalFailed = new Promise<void>((resolve) => (failedNow = resolve));
  const onFailure = (e: unknown) => {
    log.event('journal-failed', { error: (e as Error).message ?? String(e), exitsInMs: JOURNAL_FAILED_GRACE_MS });
    clock.setTimer(JOURNAL_FAILED_GRACE_MS, failedNow);
  };
  const journal = await openTerminalJournal({ dir: config.journalDir, deviceKey, space: config.journalSpace, onFailure }).catch((e: unknown) => {
    // A full disk or failing storage is not the config's fault: exit 74, so init restarts posj run, which
    // opens by itself once space is freed.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO') {
      const hint = code === 'EIO' ? 'the storage failed a write' : 'the disk is full: free space on it, or retire old segments (posj journal retain)';
      throw new JournalError('JOURNAL_WRITE_FAILED', `opening the journal in ${config.journalDir}: ${(e as Error).message}; ${hint}`);
    }
    return asConfigError('journalDir', config.journalDir, () => {
      throw e;
    });
  });
  const foreign = foreignOpenWork(journal.state, config.terminalId);
  if (foreign.length > 0) {
    await journal.close();
    throw new ConfigError('terminalId', foreignWorkReason(foreign, config.terminalId));
  }
  const r = journal.openReport;
  log.event('journal-open', { dir: config.journalDir, segments: r.segments, replayed: r.recordsReplayed, tornTailBytes: r.tornTailBytes, stan: journal.state.stan, batch: journal.state.batch });
  const closers: Array<() => Promise<void> | void> = [() => journal.close()];
  const stop = async () => {
    while (closers.length) await closers.pop()!();
  };
  try {
    let target: AcquirerTarget;
    if (config.acquirer === 'simulated') {
      const sim = await opts.simulated!.acquirer(config, clock, log);
      closers.push(() => sim.close());
      target = sim.target;
    } else target = config.acquirer;

    const devices = openDevices({ reader: config.reader, printer: config.printer, clock, log: { info: (m) => log.event('device', { detail: m }), warn: (m) => log.event('device-warning', { detail: m }) }, ...(opts.simulated ? { simulated: opts.simulated } : {}) });
    closers.push(() => devices.close());
    const supervisor = new Supervisor({ journal, clock });
    // Every reversal decision is logged with its STAN and why it is owed.
    const reasons = new ReversalReasons(() => engine.reversals());
    const identity = { terminalId: config.terminalId, merchantId: config.merchantId };
    const terminal = buildTerminal({
      journal,
      storage: nodeStorage,
      connector: tcpConnector({ host: target.host, port: target.port, ...(target.tls ? { tls: { servername: target.host } } : {}) }),
      clock,
      reader: devices.reader,
      printer: devices.printer,
      supervisor,
      identity,
      tmk: SecretKey.fromHex(target.tmk),
      merchantName: config.merchantName,
      reversal: config.reversal,
      ...(config.batch ? { batch: config.batch } : {}),
      ...(config.onlinePin ? { onlinePin: config.onlinePin } : {}),
      timeouts: config.timeouts,
      onEngineEvent: (e) => log.event(e.type, { ...e, type: undefined, ...reasons.for(e) }),
      onLinkEvent: (e) => log.event(`link-${e.type}`, { ...e, type: undefined }),
    });
    const { link, engine } = terminal;
    closers.push(() => link.close());
    closers.push(() => engine.stop());
    const boot = await engine.boot();
    log.event('boot', { signedOn: boot.signedOn, reversalsRaised: boot.reversalsRaised.length, reversalsCleared: boot.reversalsCleared.length, reversalsStuck: boot.reversalsStuck.length, receiptsPrinted: boot.receiptsPrinted.length });
    if (!supervisor.isSet) log.event('supervisor-password-missing', { detail: 'void, refund and closing a reversal are refused until one is set: posj supervisor set' });

    const parts: DaemonParts = { ...buildControl(terminal, { journal, clock, printer: devices.printer, supervisor, devices, config, log }), supervisor, devices, config };
    const { queue, slips, settlement } = parts;
    closers.push(() => slips.close());
    confirmHealthySlot(parts, opts.slot ?? null);
    let requestReboot = () => undefined as void;
    const rebootRequested = new Promise<void>((resolve) => (requestReboot = resolve));
    const service = startServicePort({ parts, clock, slot: opts.slot ?? null, requestReboot: () => requestReboot(), ...(opts.serviceLink ? { link: opts.serviceLink } : {}) });
    if (service) closers.push(() => service.close());
    if (settlement.pending) {
      log.event('settlement-resume', { batch: settlement.pending.batch, step: settlement.pending.step });
      await runControlRequest(parts, { op: 'settle' }).catch((e: Error) => log.event('settlement-resume-failed', { error: e.message }));
    }
    // Settlement slips owed from before the restart (the printer was out, or the power went mid-job).
    if (journal.state.slipsOwed.length > 0) await slips.printOwed();

    const server = new ControlServer({ run: (req) => runControlRequest(parts, req), log, ...(opts.controlLimits ? { limits: opts.controlLimits } : {}) });
    await server.listen(config.socketPath);
    closers.push(() => server.close());
    fs.chmodSync(config.socketPath, 0o600);
    log.event('listening', { socket: config.socketPath });
    const boundMs = shutdownBound(config.timeouts);
    const shutdown = async (signal: string): Promise<ShutdownReport> => {
      const inFlight = queue.current;
      const t0 = clock.now();
      log.event('shutdown-begin', { signal, inFlight: inFlight?.op, boundMs });
      server.stopAccepting();
      devices.endCardWaits('the terminal is shutting down');
      const graceful = await queue.close(boundMs);
      const waitedMs = clock.now() - t0;
      log.event('shutdown', { signal, inFlight: inFlight?.op ?? 'none', waitedMs, result: graceful ? 'finished' : `bound of ${boundMs} ms passed: exiting at once` });
      if (graceful) {
        await stop();
        log.event('stopped', { signal, detail: 'journal closed, link and devices closed' });
      }
      return { graceful, inFlight, waitedMs };
    };
    return { socketPath: config.socketPath, journal, rebootRequested, journalFailed, stop, shutdown, shutdownBoundMs: boundMs };
  } catch (e) {
    await stop();
    throw e;
  }
}
