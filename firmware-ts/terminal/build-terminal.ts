// The one place a terminal is put together: the acquirer link over a connector, the engine, settlement.
// The daemon (`posj run`), the deterministic simulator and the engine test rig all build it here, so each of
// them runs the same wiring and only the I/O they plug in differs (real TCP and files, or simulated ones).
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
}

export function buildTerminal(w: TerminalWiring): Terminal {
  const link = new AcquirerLink({
    connector: w.connector,
    clock: w.clock,
    connectTimeoutMs: w.timeouts.connectMs,
    responseTimeoutMs: w.timeouts.responseMs,
    // The engine hears what the link saw outside an exchange (a late reply is logged, never acted on).
    onEvent: (e) => {
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
  return { link, engine, settlement };
}
