// The one place a terminal is put together: the acquirer link over a connector, the engine, settlement
// (buildTerminal), and around them the control operations' parts (buildControl). The daemon (`posj run`),
// the deterministic simulator and the engine test rig all build it here, so each of them runs the same
// wiring and only the I/O they plug in differs (real TCP and files, or simulated ones); the daemon and the
// simulator both drive it through the control operations (daemon/control-ops.ts).
import { AcquirerLink, type Connector, type LinkEvent } from '../acquirer/index.js';
import type { Clock } from '../../protocol/io/clock.js';
import type { SecretKey, TerminalIdentity } from '../../protocol/iso8583/index.js';
import type { Storage } from '../io/storage.js';
import type { EngineEvent, ReversalPolicy, SupervisorVerifier } from '../txn/engine-api.js';
import type { BatchLimitPolicy } from '../txn/batch-limit.js';
import type { CardSource, ReceiptPrinter } from '../txn/engine-devices.js';
import type { PlantedBugs } from '../txn/planted-bugs.js';
import type { OnlinePinProfile } from '../txn/online-pin.js';
import { Settlement } from '../txn/settlement.js';
import { TerminalEngine } from '../txn/terminal-engine.js';
import type { RollbackAnchor } from '../txn/rollback-anchor.js';
import type { TerminalJournal } from '../txn/terminal-journal.js';
import type { ControlConfig, ControlParts, SupervisorControl } from '../daemon/control-ops.js';
import type { DaemonLog } from '../daemon/daemon-log.js';
import { LinkWatch } from '../daemon/link-watch.js';
import { OperationQueue } from '../daemon/operation-queue.js';
import { SettlementSlips } from '../daemon/settlement-slip.js';

export interface TerminalWiring {
  journal: TerminalJournal;
  /** Where the journal's files are: the node file system on a terminal, a SimDisk in simulation. */
  storage: Storage;
  connector: Connector;
  clock: Clock;
  reader: CardSource;
  printer: ReceiptPrinter;
  supervisor: SupervisorVerifier;
  identity: TerminalIdentity;
  tmk: SecretKey;
  merchantName: string;
  reversal?: Partial<ReversalPolicy>;
  /** The batch limit (≤ 999, field 48) and automatic settlement at it. */
  batch?: Partial<BatchLimitPolicy>;
  /** Online PIN beyond the card's CVM (the acquirer profile) and the PIN pad's entry time. */
  onlinePin?: OnlinePinProfile;
  timeouts: { connectMs: number; responseMs: number };
  onEngineEvent?: (e: EngineEvent) => void;
  onLinkEvent?: (e: LinkEvent) => void;
  /** Uniform in [0, 1) for the reversal rounds' jitter (seeded in simulation); Math.random when absent. */
  random?: () => number;
  /** Test-only: known bugs the simulator must catch. Never set by the daemon. */
  plantedBugs?: PlantedBugs;
  /** Rollback anchors besides the acquirer (JOURNAL_FORMAT §10.2). */
  anchors?: RollbackAnchor[];
}

export interface Terminal {
  link: AcquirerLink;
  engine: TerminalEngine;
  settlement: Settlement;
  /** The link's last connect or drop, for status. */
  linkWatch: LinkWatch;
}

export function buildTerminal(w: TerminalWiring): Terminal {
  const linkWatch = new LinkWatch(w.clock);
  const link = new AcquirerLink({
    connector: w.connector,
    clock: w.clock,
    connectTimeoutMs: w.timeouts.connectMs,
    responseTimeoutMs: w.timeouts.responseMs,
    // The engine hears what the link saw outside an exchange (a late reply is logged, never acted on).
    onEvent: (e) => {
      linkWatch.onEvent(e);
      w.onLinkEvent?.(e);
      engine.linkEvent(e);
    },
  });
  const engine: TerminalEngine = TerminalEngine.create({
    journal: w.journal,
    link,
    clock: w.clock,
    reader: w.reader,
    printer: w.printer,
    supervisor: w.supervisor,
    storage: w.storage,
    config: { identity: w.identity, tmk: w.tmk, merchantName: w.merchantName, ...(w.reversal ? { reversal: w.reversal } : {}), ...(w.batch ? { batch: w.batch } : {}), ...(w.onlinePin ? { onlinePin: w.onlinePin } : {}) },
    ...(w.onEngineEvent ? { onEvent: w.onEngineEvent } : {}),
    ...(w.random ? { random: w.random } : {}),
    ...(w.plantedBugs ? { faults: w.plantedBugs } : {}),
    ...(w.anchors ? { anchors: w.anchors } : {}),
  });
  const settlement = new Settlement({ journal: w.journal, link, clock: w.clock, identity: w.identity, storage: w.storage });
  return { link, engine, settlement, linkWatch };
}

export interface ControlWiring {
  journal: TerminalJournal;
  clock: Clock;
  /** The printer the engine prints on: settlement slips go to it too. */
  printer: ReceiptPrinter;
  supervisor: SupervisorControl;
  devices: ControlParts['devices'];
  config: ControlConfig;
  log: DaemonLog;
}

/**
 * The control operations' parts around a booted terminal: one queue for money operations, and the
 * settlement slips (owed ones print when the printer is ready). The caller closes `slips` when it stops.
 */
export function buildControl(t: Terminal, w: ControlWiring): ControlParts {
  const merchant = { name: w.config.merchantName, merchantId: w.config.merchantId, terminalId: w.config.terminalId };
  const slips = new SettlementSlips({ journal: w.journal, printer: w.printer, clock: w.clock, log: w.log, merchant });
  const { journal, clock, supervisor, devices, config, log } = w;
  return { journal, clock, supervisor, devices, config, log, engine: t.engine, settlement: t.settlement, linkWatch: t.linkWatch, queue: new OperationQueue(clock), slips };
}
