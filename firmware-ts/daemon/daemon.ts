// `posj run`: the terminal. Opens the journal, boots the engine (owed reversals go out before anything
// else), resumes a settlement a power cut interrupted, then serves the local control API: JSON lines on a
// Unix socket, one request → one response, one operation at a time.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { tcpConnector } from '../acquirer/index.js';
import { systemClock, type Clock } from '../../protocol/io/clock.js';
import { nodeStorage } from '../io/node-storage.js';
import { loadOrCreateDeviceKey } from '../journal/device-key.js';
import { SecretKey } from '../../protocol/iso8583/index.js';
import { buildTerminal } from '../terminal/build-terminal.js';
import { Supervisor } from '../txn/supervisor.js';
import { openTerminalJournal, type TerminalJournal } from '../txn/terminal-journal.js';
import { ConfigError, type AcquirerTarget, type TerminalConfig } from './config.js';
import { ControlRequestError, LineSplitter, parseRequest, type ControlResponse } from './control-protocol.js';
import { dispatch, type DaemonParts } from './control-ops.js';
import type { DaemonLog } from './daemon-log.js';
import { openDevices, type SimulatedDevices } from './devices.js';

export interface RunningDaemon {
  readonly socketPath: string;
  readonly journal: TerminalJournal;
  stop(): Promise<void>;
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
}

/** A `"simulated"` value in the config needs the bench's parts: name the first such key. */
function requireSimulatedParts(config: TerminalConfig, simulated: SimulatedParts | undefined): void {
  if (simulated) return;
  const key = (['acquirer', 'reader', 'printer'] as const).find((k) => config[k] === 'simulated');
  if (key) throw new ConfigError(key, 'is "simulated", but this build is the terminal alone: give a host or serial path, or run the bench build (npx posj run --simulated)');
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
  const journal = await openTerminalJournal({ dir: config.journalDir, deviceKey: loadOrCreateDeviceKey(config.deviceKeyFile) });
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
    const identity = { terminalId: config.terminalId, merchantId: config.merchantId };
    const { link, engine, settlement } = buildTerminal({
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
      timeouts: config.timeouts,
      onEngineEvent: (e) => log.event(e.type, { ...e, type: undefined }),
      onLinkEvent: (e) => log.event(`link-${e.type}`, { ...e, type: undefined }),
    });
    closers.push(() => link.close());
    closers.push(() => engine.stop());
    const boot = await engine.boot();
    log.event('boot', { signedOn: boot.signedOn, reversalsRaised: boot.reversalsRaised.length, reversalsCleared: boot.reversalsCleared.length, reversalsStuck: boot.reversalsStuck.length, receiptsPrinted: boot.receiptsPrinted.length });
    if (!supervisor.isSet) log.event('supervisor-password-missing', { detail: 'void, refund and closing a reversal are refused until one is set: posj supervisor set' });

    const parts: DaemonParts = { journal, engine, supervisor, settlement, devices, config, log, clock };
    if (settlement.pending) {
      log.event('settlement-resume', { batch: settlement.pending.batch, step: settlement.pending.step });
      await dispatch(parts, { op: 'settle' }).catch((e: Error) => log.event('settlement-resume-failed', { error: e.message }));
    }

    fs.mkdirSync(path.dirname(config.socketPath), { recursive: true });
    await claimSocket(config.socketPath);
    const server = serveControl(parts);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.socketPath, () => resolve());
    });
    fs.chmodSync(config.socketPath, 0o600);
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets(server)) s.destroy();
        }),
    );
    log.event('listening', { socket: config.socketPath });
    return { socketPath: config.socketPath, journal, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

const openSockets = new WeakMap<net.Server, Set<net.Socket>>();
const sockets = (server: net.Server) => openSockets.get(server) ?? new Set<net.Socket>();

/** One operation at a time across all connections: the journal has one writer and the link one request in flight. */
function serveControl(parts: DaemonParts): net.Server {
  let turn: Promise<unknown> = Promise.resolve();
  const live = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    live.add(socket);
    socket.on('close', () => live.delete(socket));
    socket.on('error', () => undefined);
    const reply = (res: ControlResponse) => {
      if (!socket.destroyed) socket.write(JSON.stringify(res) + '\n');
    };
    const splitter = new LineSplitter(
      (line) => {
        if (line.trim() === '') return;
        let req;
        try {
          req = parseRequest(line);
        } catch (e) {
          const err = e as ControlRequestError;
          parts.log.event('control-bad-request', { code: err.code, detail: err.message });
          return reply({ ok: false, error: { code: err.code, message: err.message } });
        }
        const id = req.id;
        const run = turn.then(() => dispatch(parts, req));
        turn = run.catch(() => undefined);
        run.then(
          (result) => reply({ ...(id !== undefined ? { id } : {}), ok: true, result }),
          (e: Error & { code?: unknown }) => {
            const code = typeof e.code === 'string' ? e.code : 'FAILED';
            parts.log.event('control-error', { op: req.op, code, detail: e.message });
            reply({ ...(id !== undefined ? { id } : {}), ok: false, error: { code, message: e.message } });
          },
        );
      },
      () => reply({ ok: false, error: { code: 'LINE_TOO_LONG', message: 'request line over the limit; skipped to its end' } }),
    );
    socket.on('data', (chunk) => splitter.push(chunk));
  });
  openSockets.set(server, live);
  return server;
}
