// A terminal on simulated time: the engine over a journal on a SimDisk (which can lose power), a fake
// card reader and printer, and the acquirer simulator on an in-memory network with its own durable ledger.
import { randomBytes } from 'node:crypto';
import type { Storage } from '../../firmware-ts/io/storage.js';
import type { JournalSpaceOptions } from '../../firmware-ts/journal/journal.js';
import type { AcquirerLink, Connector, Transport } from '../../firmware-ts/acquirer/index.js';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import type { PrintResult } from '../../firmware-ts/devices/printer/print-result.js';
import { maskPan } from '../../firmware-ts/pci/card-data.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import type { EngineConfig, EngineEvent, SupervisorVerifier, TxnResult } from '../../firmware-ts/txn/engine-api.js';
import type { CardForTxn, CardReadOutcome, CardSource, ReceiptPrinter } from '../../firmware-ts/txn/engine-devices.js';
import { checkMoneyInvariants, type ToldCashier, type Violation } from '../../firmware-ts/txn/money-invariants.js';
import type { PlantedBugs } from '../../firmware-ts/txn/planted-bugs.js';
import type { RollbackAnchor } from '../../firmware-ts/txn/rollback-anchor.js';
import type { Settlement } from '../../firmware-ts/txn/settlement.js';
import type { TerminalEngine } from '../../firmware-ts/txn/terminal-engine.js';
import { buildTerminal } from '../../firmware-ts/terminal/build-terminal.js';
import { openTerminalJournal, type TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import { AcquirerHost, defaultRules, memoryConnector, type RuleAction, type RuleSet } from '../../host-bridge/acquirer/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { ID, PAN, TMK } from '../acquirer/harness.js';

export const JOURNAL_DIR = '/terminal/journal';
export const PASSWORD = 'Tr4de-Sup';

/** How a fake device call fails: it throws (driver error, line gone) or never answers. */
export type CallFault = 'throw' | 'silent';

/** Fails one call as told; `silent` never settles (the engine must bound it on its Clock). */
function failed(fault: CallFault, call: string): Promise<never> {
  if (fault === 'throw') return Promise.reject(new Error(`${call}: device error (test)`));
  return new Promise<never>(() => undefined);
}

export class FakeReader implements CardSource {
  /** What the next completeChip says; '06' = the card refused the host's approval. */
  chipReversal: '06' | undefined;
  entryMode: CardForTxn['entryMode'] = 'magstripe';
  reads = 0;
  chipCompletions = 0;
  /** Makes every call of that kind fail until cleared. */
  fail: { readCard?: CallFault; completeChip?: CallFault } = {};
  async readCard(): Promise<CardReadOutcome> {
    this.reads++;
    if (this.fail.readCard) return failed(this.fail.readCard, 'READ');
    const chip = this.entryMode === 'chip';
    return {
      kind: 'card',
      card: {
        entryMode: this.entryMode,
        posEntryMode: chip ? '05' : '90',
        maskedPan: maskPan(PAN),
        pan: new Secret(PAN),
        expiry: new Secret('2812'),
        emvData: chip ? Buffer.from('9f2701809f360200019f2608a1b2c3d4e5f60718', 'hex') : Buffer.alloc(0),
      },
    };
  }
  async completeChip() {
    this.chipCompletions++;
    if (this.fail.completeChip) return failed(this.fail.completeChip, 'GEN AC2');
    return this.chipReversal ? { reversalReason: this.chipReversal } : {};
  }
}

export class FakePrinter implements ReceiptPrinter {
  working = true;
  jobs: string[] = [];
  /** The bytes of each job printed, in order. */
  printedBytes: Buffer[] = [];
  /** Makes every print fail this way until cleared. */
  fail: CallFault | undefined;
  /** Makes every print stop part-way (the line dropped while the job was written) until cleared. */
  torn = false;
  /** Runs once a job is on paper, before the driver answers: where a test cuts the power mid-print. */
  onPaper: ((jobId: string) => void) | undefined;
  private listeners = new Set<() => void>();
  async print(job: Buffer, jobId: string): Promise<PrintResult> {
    if (this.fail) return failed(this.fail, 'print');
    if (!this.working) return { printed: false, jobId, reason: 'paper-end', stage: 'before', detail: 'out of paper' } as PrintResult;
    if (this.torn) return { printed: false, jobId, reason: 'write-failed', stage: 'sending', detail: 'line dropped mid-job' } as PrintResult;
    this.jobs.push(jobId);
    this.printedBytes.push(job);
    this.onPaper?.(jobId);
    return { printed: true, jobId, status: { online: true } } as unknown as PrintResult;
  }
  onReady(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  recover(): void {
    this.working = true;
    this.fail = undefined;
    this.torn = false;
    for (const l of this.listeners) l();
  }
}

export const supervisor: SupervisorVerifier = {
  async verify(password) {
    return password === PASSWORD ? { ok: true } : { ok: false, reason: 'wrong-password', detail: 'wrong supervisor password' };
  },
};

const flush = () => new Promise((r) => setImmediate(r));

/** What the cashier heard from one engine answer. */
export function toldOf(r: TxnResult): ToldCashier {
  const said = r.kind === 'approved' ? 'approved' : r.kind === 'unknown' ? 'unknown' : 'failed';
  return { said, ...(r.requestId !== undefined ? { requestId: r.requestId } : {}), ...(r.kind !== 'refused' ? { batch: r.batch, stan: r.stan } : {}) };
}

/** Where to cut power around one request on the wire. */
export type WireCut = 'before-host' | 'after-host';

/** Rules for a host that answers every reversal 96 (host did not act). */
export const HOST_IGNORES_REVERSALS: RuleSet['rules'] = [
  { when: { mti: '0400' }, then: { action: 'decline', code: '96' } },
  { when: { mti: '0401' }, then: { action: 'decline', code: '96' } },
];

export class EngineRig {
  readonly clock = new ManualClock();
  readonly disk = new SimDisk();
  readonly hostDisk = new SimDisk();
  readonly host: AcquirerHost;
  readonly reader = new FakeReader();
  readonly printer = new FakePrinter();
  readonly events: EngineEvent[] = [];
  journal!: TerminalJournal;
  link!: AcquirerLink;
  engine!: TerminalEngine;
  settlement!: Settlement;
  reachable = true;
  /** Set to cut the terminal's power when the next request of this kind is written (default: financial 01xx/02xx). */
  cutOnWrite: { at: WireCut; cut: () => void; reversal?: boolean } | null = null;
  /** Financial requests (01xx/02xx) written to the wire so far: evidence of where a cut landed. */
  financialWrites = 0;
  readonly deviceKey = randomBytes(32);

  constructor(rules: Partial<RuleSet> = {}) {
    this.host = AcquirerHost.open({
      storage: this.hostDisk,
      ledgerPath: '/acquirer/ledger.jsonl',
      tmk: TMK,
      clock: this.clock,
      rules: { ...defaultRules(), ...rules },
      random: (n) => Buffer.alloc(n, 0x5a),
    });
  }

  set script(script: (RuleAction | null)[]) {
    this.host.rules = { ...this.host.rules, script };
  }

  /** The host debits a sale of `amount` and its reply is lost; every reversal is then answered 96 (did not
   *  act), so the reversal gets stuck. An unplugged network no longer does that: attempts that never left
   *  the terminal are not counted. */
  loseReplyAndIgnoreReversals(amount: number): void {
    this.host.rules = {
      ...this.host.rules,
      rules: [{ when: { amount, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS],
    };
  }

  /** Opens the journal on the (possibly crashed) disk and starts a fresh engine with a fresh link. */
  async start(opts: { anchors?: RollbackAnchor[]; unheard?: boolean; listenerThrows?: boolean; jitter?: number; random?: () => number; plantedBugs?: PlantedBugs; attemptsPerRound?: number; refuseSalesWhileStuck?: boolean; preSaleBudgetMs?: number; batch?: EngineConfig['batch']; journal?: { dir: string; storage: Storage; space?: JournalSpaceOptions } } = {}): Promise<TerminalEngine> {
    // The journal on the SimDisk, or (full-disk tests) on a real small filesystem.
    const storage = opts.journal?.storage ?? this.disk;
    this.journal = await openTerminalJournal({ dir: opts.journal?.dir ?? JOURNAL_DIR, deviceKey: this.deviceKey, storage, segmentBytes: 64 * 1024, ...(opts.journal?.space ? { space: opts.journal.space } : {}) });
    ({ link: this.link, engine: this.engine, settlement: this.settlement } = buildTerminal({
      journal: this.journal,
      storage,
      connector: this.connector(),
      clock: this.clock,
      reader: this.reader,
      printer: this.printer,
      supervisor,
      identity: ID,
      tmk: TMK,
      merchantName: 'Test Shop',
      reversal: {
        backoffMs: 60_000,
        jitter: opts.jitter ?? 0,
        ...(opts.attemptsPerRound ? { attemptsPerRound: opts.attemptsPerRound } : {}),
        ...(opts.refuseSalesWhileStuck === false ? { refuseSalesWhileStuck: false } : {}),
        ...(opts.preSaleBudgetMs !== undefined ? { preSaleBudgetMs: opts.preSaleBudgetMs } : {}),
      },
      timeouts: { connectMs: 5_000, responseMs: 30_000 },
      ...(opts.batch ? { batch: opts.batch } : {}),
      // `unheard`: an embedding that passes no event listener (the engine must not need one).
      // `listenerThrows`: one that fails at every event (a log sink gone): the transactions must end the same.
      ...(opts.unheard
        ? {}
        : {
            onEngineEvent: (e: EngineEvent) => {
              this.events.push(e);
              if (opts.listenerThrows) throw new Error('log sink failed (test)');
            },
          }),
      random: opts.random ?? (() => 0.5),
      ...(opts.anchors ? { anchors: opts.anchors } : {}),
      ...(opts.plantedBugs ? { plantedBugs: opts.plantedBugs } : {}),
    }));
    return this.engine;
  }

  /** Runs `p` to completion, moving simulated time in `step` ms increments. */
  async run<T>(p: Promise<T>, step = 1_000): Promise<T> {
    let done: { value: T } | undefined;
    let failed: { error: unknown } | undefined;
    p.then((value) => (done = { value }), (error: unknown) => (failed = { error }));
    for (let i = 0; i < 100_000; i++) {
      await flush();
      if (failed) throw failed.error;
      if (done) return done.value;
      this.clock.advance(step);
    }
    throw new Error('operation never finished on simulated time');
  }

  /** Lets background work (reversal rounds, printing on recovery) run for `ms` of simulated time. */
  async idle(ms: number, step = 1_000): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      await flush();
      this.clock.advance(step);
    }
    await flush();
  }

  /** The money invariants, journal vs ledger, and (invariant 8) vs what the cashier was told. */
  violations(told: TxnResult[] = []): Violation[] {
    return checkMoneyInvariants({ records: readTerminalRecords(this.journal, this.disk), ledger: this.host.state.entries, terminalId: ID.terminalId, told: told.map(toldOf) });
  }

  records(type?: string) {
    const all = readTerminalRecords(this.journal, this.disk);
    return type ? all.filter((r) => r.type === type) : all;
  }

  ledger(kind: string) {
    return this.host.state.entries.filter((e) => e.kind === kind);
  }

  /** Takes the network away: the open connection drops and new connects never complete. */
  unplug(): void {
    this.reachable = false;
    this.transport?.close();
  }

  private transport: Transport | null = null;

  private connector(): Connector {
    const inner = memoryConnector({ host: this.host, clock: this.clock, reachable: () => this.reachable });
    return {
      connect: async (signal) => {
        const t = await inner.connect(signal);
        this.transport = t;
        return this.cutting(t);
      },
    };
  }

  /** Wraps a transport so a test can cut power just before or just after the host sees a request. */
  private cutting(t: Transport): Transport {
    return {
      write: (bytes) => {
        const cut = this.cutOnWrite;
        // Byte 13 of the frame (2 length + 5 TPDU + 6 header) starts the BCD MTI: 0x01/0x02 = 01xx/02xx, 0x04 = 04xx.
        if (bytes[13] === 0x02 || bytes[13] === 0x01) this.financialWrites++;
        const matches = cut?.reversal ? bytes[13] === 0x04 : bytes[13] === 0x02 || bytes[13] === 0x01;
        if (!cut || !matches) return t.write(bytes);
        this.cutOnWrite = null;
        if (cut.at === 'before-host') return cut.cut();
        t.write(bytes);
        cut.cut();
      },
      onData: (l) => t.onData(l),
      onClose: (l) => t.onClose(l),
      close: () => t.close(),
    };
  }
}
