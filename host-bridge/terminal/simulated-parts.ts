// The embedded simulated default of `posj run --simulated` / `--session` (and `npm start`), kept on the bench
// side so the flashed terminal carries no simulator: the acquirer host of host-bridge/acquirer on a loopback
// port with its ledger beside the journal, a reader that swipes one test card, a printer that always prints.
// The daemon asks for these only where its config says "simulated".
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../../protocol/io/clock.js';
import { STATUS_OK } from '../../protocol/escpos/status.js';
import { SecretKey } from '../../protocol/iso8583/index.js';
import type { TerminalConfig } from '../../firmware-ts/daemon/config.js';
import { startDaemon, type DaemonOptions, type RunningDaemon, type SimulatedParts } from '../../firmware-ts/daemon/daemon.js';
import type { DaemonLog } from '../../firmware-ts/daemon/daemon-log.js';
import type { HealthPrinter, HealthReader } from '../../firmware-ts/daemon/devices.js';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { maskPan } from '../../firmware-ts/pci/card-data.js';
import { AcquirerHost, startAcquirerServer } from '../acquirer/index.js';

/** The test terminal master key the simulator uses (host-bridge/acquirer/README.md). */
export const SIMULATOR_TMK = '0123456789ABCDEFFEDCBA9876543210';

/** A UnionPay test card the acquirer simulator accepts (Luhn-valid, test range). */
export const SIMULATED_PAN = '6212140000000000006';

/** The embedded default: everything simulated, state under `varDir`. */
export function embeddedConfig(varDir: string): TerminalConfig {
  const dir = path.resolve(varDir);
  return {
    journalDir: path.join(dir, 'terminal', 'journal'),
    deviceKeyFile: path.join(dir, 'terminal', 'journal.key'),
    terminalId: '12345678',
    merchantId: '898310048990001',
    merchantName: 'POSJ TEST MERCHANT',
    acquirer: 'simulated',
    reader: 'simulated',
    printer: 'simulated',
    socketPath: path.join(dir, 'posj.sock'),
    timeouts: { connectMs: 3000, responseMs: 5000, cardMs: 60_000 },
    reversal: { attemptsPerRound: 3, refuseSalesWhileStuck: true },
    journalSpace: { budgetBytes: 64 << 20, reserveBytes: 2 << 20, retention: 'delete' },
  };
}

function simulatedReader(): HealthReader {
  let reads = 0;
  return {
    async readCard() {
      reads++;
      // Swiped, no PIN, track 2 read whole: a fresh Secret per read, as the real driver hands out.
      return {
        kind: 'card',
        card: {
          entryMode: 'magstripe',
          posEntryMode: '90',
          maskedPan: maskPan(SIMULATED_PAN),
          pan: new Secret(SIMULATED_PAN),
          expiry: new Secret('2812'),
          track2: new Secret(`${SIMULATED_PAN}D28122010000`),
          emvData: Buffer.alloc(0),
        },
      };
    },
    async completeChip() {
      return {};
    },
    health: () => ({ kind: 'simulated', state: 'ready', cardsRead: reads }),
  };
}

function simulatedPrinter(): HealthPrinter {
  let jobs = 0;
  return {
    async print(_job, jobId) {
      jobs++;
      return { printed: true, jobId, status: STATUS_OK };
    },
    onReady: () => () => undefined,
    health: () => ({ kind: 'simulated', state: 'ready', jobsPrinted: jobs }),
  };
}

/** The bench's stand-ins; after the daemon starts, `host` is the acquirer it talks to (its rules can change live). */
export class SimulatedTerminalParts implements SimulatedParts {
  host: AcquirerHost | null = null;
  port: number | null = null;

  async acquirer(config: TerminalConfig, clock: Clock, log: DaemonLog) {
    const ledgerPath = path.join(path.dirname(config.journalDir), 'acquirer-ledger.jsonl');
    fs.mkdirSync(path.dirname(ledgerPath), { recursive: true });
    const host = AcquirerHost.open({ storage: nodeStorage, ledgerPath, tmk: SecretKey.fromHex(SIMULATOR_TMK), clock });
    const server = await startAcquirerServer({ host, clock, port: 0, onFatal: (e) => log.event('acquirer-simulator-stopped', { error: e.message }) });
    log.event('acquirer-simulator', { port: server.port, ledger: ledgerPath });
    this.host = host;
    this.port = server.port;
    return {
      target: { host: '127.0.0.1', port: server.port, tls: false, tmk: SIMULATOR_TMK },
      close: async () => {
        await server.close();
        host.close();
      },
    };
  }

  reader(): HealthReader {
    return simulatedReader();
  }

  printer(): HealthPrinter {
    return simulatedPrinter();
  }
}

export interface SimulatedDaemon {
  daemon: RunningDaemon;
  /** The acquirer simulator, when the config's acquirer is "simulated". */
  host: AcquirerHost | null;
  port: number | null;
}

/** `posj run` with the bench's simulated parts plugged in. */
export async function startSimulatedDaemon(opts: Omit<DaemonOptions, 'simulated'>): Promise<SimulatedDaemon> {
  const parts = new SimulatedTerminalParts();
  const daemon = await startDaemon({ ...opts, simulated: parts });
  return { daemon, host: parts.host, port: parts.port };
}
