// The transaction engine: every authorization is either completed (approved, durable, receipt printed or
// pending) or reversed at the acquirer, whatever fails and whenever. Write-ahead (DESIGN rule 2): the
// STAN and the intent with its reversal image are one durable append before the request's first byte;
// the outcome is durable before anyone is told; nothing is kept outside the journal (rule 1). How each
// authorization ends is decided in one place, authorization.ts (rule 9); this file gates what may start
// (owed reversals first, within a time budget; sign-on; supervisor; the client's request id) and runs the
// reversal rounds and receipts.
import { AcquirerLinkError, type LinkEvent } from '../acquirer/exchange-result.js';
import { signOn as linkSignOn } from '../acquirer/sign-on.js';
import type { TimerHandle } from '../../protocol/io/clock.js';
import type { Storage } from '../io/storage.js';
import { textField, type TransactionKind } from '../../protocol/iso8583/index.js';
import { Authorization, NOT_SENT, reversedFields } from './authorization.js';
import { bounded, boundedFailure } from './bounded-call.js';
import type {
  BootReport,
  EngineDeps,
  EngineEvent,
  EngineHealth,
  RefusalReason,
  ReprintResult,
  ReversalStanding,
  ReversalView,
  SaleOptions,
  StatusResult,
  TerminalEngineApi,
  TxnResult,
  TxnState,
} from './engine-api.js';
import { DEVICE_TIMEOUTS, type CardForTxn } from './engine-devices.js';
import type { PlantedBugs } from './planted-bugs.js';
import { RECEIPT_JOB_STARTED, TerminalRecord, type AuthIntent, type AuthKind, type AuthOutcome, type ReceiptNotPrinted, type ReceiptPrinted } from './records.js';
import { requestIdProblem } from './request-id.js';
import { DEFAULT_REVERSAL_POLICY, ReversalSender, type RoundResult } from './reversal-sender.js';
import { newestView, noSlipDetail, refundedOf, reprintable, reversalIntent, saleByRrn, settledSale, viewByRequestId, viewByRrn, viewByStan, viewIn, voidedBy, type Refunded, type TxnView } from './txn-history.js';
import { batchFullDetail, batchIsFull, batchLimitPolicy } from './batch-limit.js';
import { nextStan, Settlement } from './settlement.js';
import { stanHeldOpen } from './terminal-state.js';
import { buildRequest, localStamp, pad6, reversalImage, type RequestSpec } from './txn-messages.js';
import { pinStep } from './online-pin.js';
import { holdPinBlock } from '../pci/pin-blocks-in-flight.js';
import type { Secret } from '../devices/card-reader/secret.js';
import { salesSlipJob } from './txn-receipts.js';
import { formatMinor } from '../receipts/money.js';
import { AcquirerAnchor, behindBy, countersPast, type RollbackAnchor } from './rollback-anchor.js';
import type { AnchorRollback } from './rollback-records.js';
import { REPAIR_STAN_MARGIN } from './terminal-salvage.js';

const DEBITS: ReadonlySet<AuthKind> = new Set(['sale', 'preauth', 'preauth-completion']);
const DEFAULT_CARD_TIMEOUT_MS = 60_000;
export { NOT_SENT };

export interface TerminalEngineDeps extends EngineDeps {
  /** Where the journal's files are (SimDisk in tests); the node file system when absent. */
  storage?: Storage;
  /** Test-only: known bugs the simulator must catch (planted-bugs.ts). Never set outside tests. */
  faults?: PlantedBugs;
  /** Rollback anchors besides the acquirer (an RPMB counter, a secure element), asked at every sign-on. */
  anchors?: RollbackAnchor[];
}

/** What one authorization needs beyond its kind. */
interface AuthSpec {
  kind: AuthKind;
  amount: number;
  card: CardForTxn | { posEntryMode: string; maskedPan: string };
  /** The transaction this one refers to: batch + STAN (void, completion, pre-auth void) or RRN + date (refund). */
  original?: { batch?: number; stan?: number; date?: string; rrn?: string; authCode?: string };
  requestId?: string;
  /** Field 52 for this one request; wiped when the authorization ends. */
  pinBlock?: Secret<Buffer>;
}

/** What the client asked for, to tell a retried request from a different one under the same id. */
interface Asked {
  kind: AuthKind;
  requestId: string | undefined;
  amount?: number;
  originalStan?: number;
}

export class TerminalEngine implements TerminalEngineApi {
  private queue: Promise<unknown> = Promise.resolve();
  private signedOn = false;
  /** This session's PIN key under the TMK (+ check value), as the 0810 gave it: only the PIN pad unwraps it. */
  private pinKey: Buffer | undefined;
  private failedRounds = 0;
  private retryTimer: TimerHandle | null = null;
  private stopped = false;
  private readonly reversalSender: ReversalSender;
  /** What the acquirer's 0810 and its 94 answers say about counters this terminal has used. */
  private readonly acquirerAnchor = new AcquirerAnchor();
  private readonly unsubscribePrinter: () => void;
  private readonly policy;
  private readonly batchLimit;
  private readonly random: () => number;
  /** PLANTED BUG (c), test-only: the first STAN after this start repeats the last one allocated. */
  private reuseNextStan: boolean;

  private constructor(private readonly d: TerminalEngineDeps) {
    this.policy = { ...DEFAULT_REVERSAL_POLICY, ...d.config.reversal };
    this.batchLimit = batchLimitPolicy(d.config.batch);
    this.random = d.random ?? Math.random;
    this.reuseNextStan = d.faults?.reuseStanAfterCrash === true;
    this.reversalSender = new ReversalSender({
      journal: d.journal,
      link: d.link,
      clock: d.clock,
      printer: d.printer,
      config: d.config,
      policy: this.policy,
      ensureSignedOn: () => this.ensureSignedOn(),
      signedOff: () => void (this.signedOn = false),
      intent: (stan) => this.reversalIntentOf(stan),
      emit: (e) => this.emit(e),
      ...(d.faults ? { faults: d.faults } : {}),
    });
    // A receipt left pending by a printer failure prints as soon as the printer recovers.
    this.unsubscribePrinter = d.printer.onReady(() => {
      if (!this.stopped) void this.serialize(() => this.printPending()).catch(() => undefined);
    });
  }

  static create(deps: TerminalEngineDeps): TerminalEngine {
    return new TerminalEngine(deps);
  }

  boot(): Promise<BootReport> {
    return this.serialize(async () => {
      const raised = await this.raiseReversalsForOrphans();
      const signedOn = await this.ensureSignedOn();
      const { cleared, stuck } = await this.runReversalRound();
      const printed = await this.printPending();
      return { reversalsRaised: raised, signedOn, reversalsCleared: cleared, reversalsStuck: stuck, receiptsPrinted: printed };
    });
  }

  signOn(): Promise<boolean> {
    return this.serialize(() => this.doSignOn());
  }

  sale(amount: number, opts: SaleOptions = {}): Promise<TxnResult> {
    return this.once({ kind: 'sale', requestId: opts.requestId, amount }, () => this.withCard('sale', amount, opts));
  }

  preauth(amount: number, opts: SaleOptions = {}): Promise<TxnResult> {
    return this.once({ kind: 'preauth', requestId: opts.requestId, amount }, () => this.withCard('preauth', amount, opts));
  }

  balance(opts: SaleOptions = {}): Promise<TxnResult> {
    return this.once({ kind: 'balance', requestId: opts.requestId }, () => this.withCard('balance', 0, opts));
  }

  completion(req: { stan: number; batch?: number; amount: number; requestId?: string }): Promise<TxnResult> {
    return this.once({ kind: 'preauth-completion', requestId: req.requestId, amount: req.amount, originalStan: req.stan }, async () => {
      const pre = this.original(req.batch ?? this.state.batch, req.stan);
      const refusal = this.checkOriginal(pre, 'preauth', 'preauth-completion');
      if (refusal) return refusal;
      if (!(req.amount > 0 && req.amount <= pre!.intent.amount)) return refused('preauth-completion', 'invalid-amount', `completion amount must be 0.01..${formatMinor(pre!.intent.amount)}`);
      return this.authorizeOnline(this.fromOriginal('preauth-completion', req.amount, pre!, req.requestId));
    });
  }

  preauthVoid(req: { stan: number; batch?: number; password: string; requestId?: string }): Promise<TxnResult> {
    return this.once({ kind: 'preauth-void', requestId: req.requestId, originalStan: req.stan }, async () => {
      const denied = await this.checkSupervisor('preauth-void', req.password, 'void');
      if (denied) return denied;
      const pre = this.original(req.batch ?? this.state.batch, req.stan);
      const refusal = this.checkOriginal(pre, 'preauth', 'preauth-void');
      if (refusal) return refusal;
      return this.authorizeOnline(this.fromOriginal('preauth-void', pre!.intent.amount, pre!, req.requestId));
    });
  }

  void(req: { stan: number; password: string; requestId?: string }): Promise<TxnResult> {
    return this.once({ kind: 'void', requestId: req.requestId, originalStan: req.stan }, async () => {
      const denied = await this.checkSupervisor('void', req.password, 'void');
      if (denied) return denied;
      // 撤销 only within the open batch; after settlement it is a refund.
      const sale = this.original(this.state.batch, req.stan);
      if (!sale) {
        const settled = settledSale(this.state, req.stan);
        if (settled) return refused('void', 'original-not-voidable', `the sale with STAN ${req.stan} is in settled batch ${settled.intent.batch}: use refund (退货)${settled.outcome?.rrn ? ` with RRN ${settled.outcome.rrn}` : ''}`);
      }
      const refusal = this.checkOriginal(sale, 'sale', 'void') ?? this.checkUnrefunded(sale!);
      if (refusal) return refusal;
      return this.authorizeOnline(this.fromOriginal('void', sale!.intent.amount, sale!, req.requestId));
    });
  }

  refund(req: { rrn: string; date: string; amount: number; password: string; requestId?: string }): Promise<TxnResult> {
    return this.once({ kind: 'refund', requestId: req.requestId, amount: req.amount }, async () => {
      if (!/^[0-9A-Za-z]{12}$/.test(req.rrn) || !/^(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.test(req.date)) {
        return refused('refund', 'original-not-found', 'refund needs a 12-character RRN and the original date as MMDD');
      }
      if (!validAmount(req.amount)) return refused('refund', 'invalid-amount', 'amount must be a positive whole number of fen');
      const denied = await this.checkSupervisor('refund', req.password, 'refund');
      if (denied) return denied;
      // A refund of this terminal's own sale names it in field 61 (batch + STAN + date); another terminal's
      // sale only by RRN and date, the batch and STAN left zero.
      const own = saleByRrn(this.state, req.rrn);
      const refusal = own ? this.checkRefundable(own, req.rrn, req.amount) : undefined;
      if (refusal) return refusal;
      return this.withCard('refund', req.amount, req.requestId !== undefined ? { requestId: req.requestId } : {}, { date: req.date, rrn: req.rrn, ...(own ? { batch: own.intent.batch, stan: own.intent.stan } : {}) });
    });
  }

  status(q: { stan: number } | { rrn: string } | { requestId: string } | { last: true }): StatusResult {
    const s = this.state;
    let v: TxnView | undefined;
    if ('stan' in q) v = viewByStan(s, q.stan);
    else if ('rrn' in q) v = viewByRrn(s, q.rrn);
    else if ('requestId' in q) v = viewByRequestId(s, q.requestId);
    else v = newestView(s);
    if (!v) return { found: false };
    const pending = this.state.pendingReceipts[String(v.intent.stan)] !== undefined;
    const refunded = v.intent.kind === 'sale' && v.outcome?.rrn ? refundedOf(s, v.outcome.rrn) : null;
    return {
      found: true,
      stan: v.intent.stan,
      batch: v.intent.batch,
      txn: v.intent.kind,
      amount: v.intent.amount,
      maskedPan: v.intent.maskedPan,
      state: stateOf(v),
      ...(v.outcome ? { responseCode: v.outcome.responseCode } : {}),
      ...(v.outcome?.rrn ? { rrn: v.outcome.rrn } : {}),
      ...(v.outcome?.authCode ? { authCode: v.outcome.authCode } : {}),
      at: v.intent.at,
      receipt: v.printed ? 'printed' : pending ? 'pending' : 'none',
      ...(v.intent.requestId !== undefined ? { requestId: v.intent.requestId } : {}),
      ...(v.reversal ? { reversal: standingOf(v) } : {}),
      ...(refunded && refunded.fen > 0 ? { refunded: { amount: refunded.fen, unconfirmed: refunded.unconfirmed } } : {}),
    };
  }

  reversals(): ReversalView[] {
    return Object.entries(this.state.reversals)
      .sort(([, a], [, b]) => a.seq - b.seq)
      .map(([stan, r]) => ({ stan: Number(stan), txn: r.kind, amount: r.amount, maskedPan: r.maskedPan, reason: r.reason, attempts: r.attempts, stuck: r.stuck }));
  }

  closeReversal(req: { stan: number; password: string; reason: string }): Promise<{ closed: boolean; detail: string }> {
    return this.serialize(async () => {
      if (!this.state.reversals[String(req.stan)]) return { closed: false, detail: `no reversal owed for STAN ${req.stan}` };
      if (req.reason.trim().length === 0) return { closed: false, detail: 'a reason is required' };
      const check = await this.d.supervisor.verify(req.password, 'close-reversal');
      if (!check.ok) return { closed: false, detail: check.detail };
      await this.d.journal.append([{ type: TerminalRecord.reversalClosed.name, payload: { stan: req.stan, reason: req.reason, at: this.nowIso() } }], { durable: true });
      // The last one closed ends the backoff, as a clearing does: the next reversal owed starts from the base.
      if (Object.keys(this.state.reversals).length === 0) this.afterRound();
      return { closed: true, detail: 'closed by supervisor' };
    });
  }

  sendReversals(): Promise<RoundResult> {
    return this.serialize(() => this.runReversalRound());
  }

  /**
   * What the acquirer link saw outside an exchange. A late reply to a request the engine gave up on is
   * logged and never acted on: its reversal is already durable (DESIGN rule 4).
   */
  linkEvent(e: LinkEvent): void {
    if (e.type !== 'stray-response' || e.reason !== 'late') return;
    const stan = Number(e.stan);
    this.emit({ type: 'late-reply-ignored', mti: e.mti, ...(Number.isInteger(stan) ? { stan } : {}), ...(e.responseCode !== undefined ? { responseCode: e.responseCode } : {}) });
    if (this.d.faults?.lateReplyRevivesSale && e.mti === '0210' && e.responseCode === '00' && this.state.reversals[String(stan)] && !this.stopped) {
      // PLANTED BUG (g), test-only: the late approval is believed and the reversal given up.
      void this.d.journal.append([{ type: TerminalRecord.reversalClosed.name, payload: { stan, reason: 'planted bug: late approval believed', at: this.nowIso() } }], { durable: true }).catch(() => undefined);
    }
  }

  reprint(q: { last: true } | { stan: number }): Promise<ReprintResult> {
    return this.serialize(async () => {
      const stan = 'last' in q ? undefined : q.stan;
      const v = reprintable(this.state, stan);
      if (!v) return { kind: 'not-found', detail: noSlipDetail(this.state, stan) };
      const r = await this.printSlip(v, 'reprint');
      const voided = voidedBy(this.state, v);
      return r === 'printed' ? { kind: 'printed', stan: v.intent.stan, ...(voided !== undefined ? { voidedBy: voided } : {}) } : { kind: 'not-printed', stan: v.intent.stan, reason: r.reason };
    });
  }

  health(): EngineHealth {
    const s = this.state;
    const stans = (o: Record<string, unknown>) => Object.keys(o).map(Number);
    return {
      stan: s.stan,
      batch: s.batch,
      signedOn: this.signedOn,
      inFlight: stans(s.inFlight),
      pendingReversals: stans(s.reversals),
      stuckReversals: Object.entries(s.reversals).filter(([, r]) => r.stuck).map(([k]) => Number(k)),
      pendingReceipts: stans(s.pendingReceipts),
      totals: { ...s.totals },
      journalFailure: this.d.journal.failed === null ? null : String(this.d.journal.failed),
      rollback: s.rollbackAlarm,
    };
  }

  stop(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = null;
    this.unsubscribePrinter();
  }

  // --- the write-ahead authorization -------------------------------------------------------------------

  private get state() {
    return this.d.journal.state;
  }

  /**
   * The client's request id: the same id again returns the first outcome from the journal and starts
   * nothing; an id used for something else is refused. Checked inside the serialized turn, so two racing
   * requests with one id cannot both authorize.
   */
  private once(asked: Asked, run: () => Promise<TxnResult>): Promise<TxnResult> {
    return this.serialize(async () => {
      const id = asked.requestId;
      if (id === undefined) return run();
      const problem = requestIdProblem(id);
      if (problem) return { ...refused(asked.kind, 'invalid-request-id', problem), requestId: id };
      const prior = viewByRequestId(this.state, id);
      if (!prior) return run();
      const i = prior.intent;
      const same = i.kind === asked.kind && (asked.amount === undefined || asked.amount === i.amount) && (asked.originalStan === undefined || asked.originalStan === i.original?.stan);
      if (!same) return { ...refused(asked.kind, 'request-id-reused', `request id ${id} was used for ${i.kind} ${formatMinor(i.amount)} (STAN ${pad6(i.stan)}): a new operation needs a new id`), requestId: id };
      return { ...resultOf(prior, this.state.pendingReceipts[String(i.stan)] !== undefined), replayed: true };
    });
  }

  private async withCard(kind: AuthKind, amount: number, opts: SaleOptions, original?: AuthSpec['original']): Promise<TxnResult> {
    if (kind !== 'balance' && !validAmount(amount)) return refused(kind, 'invalid-amount', 'amount must be a positive whole number of fen');
    const gate = await this.prepareOnline(kind);
    if (gate) return gate;
    const timeoutMs = opts.cardTimeoutMs ?? DEFAULT_CARD_TIMEOUT_MS;
    // Before the intent nothing is at stake: a reader that fails or stays silent only refuses the sale.
    const read = await bounded(this.d.clock, timeoutMs + DEVICE_TIMEOUTS.cardReadGraceMs, () => this.d.reader.readCard({ amount, currency: '156', timeoutMs }));
    if (read.kind !== 'ok') return refused(kind, 'card-read-failed', `the card reader failed: ${boundedFailure(read, timeoutMs + DEVICE_TIMEOUTS.cardReadGraceMs)}`);
    if (read.value.kind !== 'card') return refused(kind, 'card-read-failed', read.value.detail);
    const card = read.value.card;
    // Still before the intent: a PIN entry that ends without a block refuses the sale, nothing sent.
    const pin = await pinStep({ reader: this.d.reader, clock: this.d.clock, pinKey: this.pinKey, profile: this.d.config.onlinePin }, kind, amount, card);
    if (pin.kind === 'refused') return refused(kind, pin.reason, pin.detail);
    const spec: AuthSpec = { kind, amount, card, ...(original ? { original } : {}), ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}) };
    if (pin.kind !== 'pin') return this.authorize(spec);
    const release = holdPinBlock(pin.block.reveal());
    try {
      return await this.authorize({ ...spec, pinBlock: pin.block });
    } finally {
      release();
      pin.block.wipe();
    }
  }

  private async authorizeOnline(spec: AuthSpec): Promise<TxnResult> {
    const gate = await this.prepareOnline(spec.kind);
    return gate ?? this.authorize(spec);
  }

  /**
   * Before every online message: owed reversals go first — for at most the policy's budget, after which
   * they go on in the background — then a live session.
   */
  private async prepareOnline(kind: AuthKind): Promise<TxnResult | undefined> {
    const refuseWhileStuck = (): TxnResult | undefined => {
      const stuck = Object.entries(this.state.reversals).filter(([, r]) => r.stuck);
      if (stuck.length === 0 || !this.policy.refuseSalesWhileStuck || !DEBITS.has(kind)) return undefined;
      const which = stuck.map(([k, r]) => `STAN ${pad6(Number(k))} (${r.kind} ${formatMinor(r.amount)}, ${r.attempts} sends unanswered)`).join(', ');
      return refused(kind, 'reversal-stuck', `reversal stuck: ${which} — the cardholder may be debited until the acquirer answers it; new debits wait until it is answered or a supervisor closes it`);
    };
    const alarm = this.state.rollbackAlarm;
    if (alarm) {
      return refused(kind, 'journal-rolled-back', `the journal is behind what this terminal has used (${alarm.detail}): restored from an older copy or lost its newest records; STAN moved to ${pad6(alarm.after.stan)} and batch to ${pad6(alarm.after.batch)}. Transactions the journal lost (sales, owed reversals) may stand at the acquirer: check its ledger, then posj supervisor ack-rollback`);
    }
    // Already stuck: refuse before sending anything, so refused sales write nothing (the background rounds
    // keep trying on their backoff) and the journal does not grow by a round per refused sale.
    const early = refuseWhileStuck();
    if (early) return early;
    if (Object.keys(this.state.reversals).length > 0) {
      const started = this.d.clock.now();
      const r = await this.runReversalRound(started + this.policy.preSaleBudgetMs);
      if (r.owed.length > 0) this.emit({ type: 'reversal-wait-over', owed: r.owed.map(pad6).join(' '), waitedMs: this.d.clock.now() - started });
    }
    const stuck = refuseWhileStuck();
    if (stuck) return stuck;
    if (!(await this.ensureSignedOn())) return refused(kind, 'not-signed-on', 'sign-on to the acquirer failed: nothing was sent');
    if (batchIsFull(this.state, kind, this.batchLimit)) return this.settleFullBatch(kind);
    return undefined;
  }

  /** At the batch limit: settle first when configured to (the transaction then goes into the next batch), else refuse. */
  private async settleFullBatch(kind: AuthKind): Promise<TxnResult | undefined> {
    const detail = batchFullDetail(this.state, this.batchLimit);
    if (!this.batchLimit.autoSettle) return refused(kind, 'batch-full', detail);
    const { journal, link, clock, config, storage } = this.d;
    try {
      await new Settlement({ journal, link, clock, identity: config.identity, ...(storage ? { storage } : {}) }).settle();
    } catch (e) {
      return refused(kind, 'batch-full', `${detail}; automatic settlement stopped: ${(e as Error).message}`);
    }
    return undefined;
  }

  private async authorize(spec: AuthSpec): Promise<TxnResult> {
    const { config } = this.d;
    const stan = this.allocateStan();
    const batch = this.state.batch;
    const stamp = localStamp(this.d.clock);
    const requestSpec: RequestSpec = {
      kind: spec.kind as TransactionKind,
      id: config.identity,
      stan,
      batch,
      ...(spec.kind !== 'balance' ? { amount: spec.amount } : {}),
      card: spec.card,
      ...(spec.pinBlock ? { pinBlock: spec.pinBlock } : {}),
      stamp,
      ...(spec.original?.batch !== undefined && spec.original.stan !== undefined ? { original: { batch: spec.original.batch, stan: spec.original.stan, ...(spec.kind === 'refund' && spec.original.date ? { date: spec.original.date } : {}) } } : {}),
      // A refund of another terminal's sale: field 61 is zero batch and STAN with the original date.
      ...(spec.kind === 'refund' && spec.original?.date && spec.original.stan === undefined ? { original: { batch: 0, stan: 0, date: spec.original.date } } : {}),
      ...(spec.original?.rrn !== undefined && (spec.kind === 'void' || spec.kind === 'refund') ? { originalRrn: spec.original.rrn } : {}),
      ...(spec.original?.authCode !== undefined && spec.kind !== 'refund' ? { originalAuthCode: spec.original.authCode } : {}),
    };
    const request = buildRequest(requestSpec);
    const intent: AuthIntent = {
      stan,
      batch,
      kind: spec.kind,
      amount: spec.amount,
      currency: '156',
      maskedPan: spec.card.maskedPan,
      entryMode: textField(request, 22) ?? '',
      at: stamp.iso,
      ...(spec.original ? { original: definedOnly({ stan: spec.original.stan, rrn: spec.original.rrn, date: spec.original.date, authCode: spec.original.authCode }) } : {}),
      reversalImage: reversalImage(request),
      ...(spec.requestId !== undefined ? { requestId: spec.requestId } : {}),
    };
    const chip = 'pan' in spec.card && spec.card.entryMode === 'chip';
    const result = await new Authorization(
      {
        journal: this.d.journal,
        link: this.d.link,
        clock: this.d.clock,
        reader: this.d.reader,
        emit: (e) => this.emit(e),
        signedOff: () => void (this.signedOn = false),
        sendReversal: (s) => this.sendReversalNow(s),
        printSlip: async (s) => {
          const view = this.viewByStan(s);
          return view && (await this.printSlip(view, 'first')) === 'printed' ? 'printed' : 'pending';
        },
        ...(this.d.faults ? { faults: this.d.faults } : {}),
      },
      { intent, request, chip },
    ).run();
    // 94: the acquirer already has this STAN in this batch. This terminal never sends one twice, so its
    // journal is behind what it once used (restored from an old copy).
    if (result.kind === 'declined' && result.responseCode === '94') {
      this.acquirerAnchor.duplicateStan(batch, stan);
      await this.checkAnchors([this.acquirerAnchor]);
    }
    return result;
  }

  /** The reversal just raised goes out at once; what is left is retried in the background. */
  private async sendReversalNow(stan: number): Promise<ReversalStanding> {
    try {
      await this.reversalSender.send(stan);
      this.afterRound();
    } catch (e) {
      this.afterRound();
      throw e;
    }
    const view = this.viewByStan(stan);
    return view ? standingOf(view) : { state: 'pending', stan, reason: '98', attempts: 0 };
  }

  // --- boot, sign-on, reversal rounds -----------------------------------------------------------------

  /** An intent with no outcome after a restart was maybe sent, maybe debited: reverse it (98). */
  private async raiseReversalsForOrphans(): Promise<number[]> {
    const orphans = Object.entries(this.state.inFlight).sort(([, a], [, b]) => a.seq - b.seq);
    if (orphans.length === 0) return [];
    const at = this.nowIso();
    const records = orphans.map(([k, a]) =>
      a.kind === 'balance'
        ? { type: TerminalRecord.authOutcome.name, payload: { stan: Number(k), result: 'declined', responseCode: '98', at } satisfies AuthOutcome }
        : { type: TerminalRecord.reversalRequired.name, payload: { stan: Number(k), reason: '98' as const, at } },
    );
    await this.d.journal.append(records, { durable: true });
    return orphans.filter(([, a]) => a.kind !== 'balance').map(([k]) => Number(k));
  }

  private async ensureSignedOn(): Promise<boolean> {
    return this.signedOn || this.doSignOn();
  }

  /** The next STAN after the journal's last one (the caller journals it before it is used on the wire). */
  private allocateStan(): number {
    if (this.reuseNextStan) {
      // PLANTED BUG (c), test-only: a counter that lags the journal by one after a restart.
      this.reuseNextStan = false;
      if (this.state.stan > 0) return this.state.stan;
    }
    // Obligations and the open batch are keyed by STAN: one a wrapped counter reaches while an older
    // transaction still lives under it (a slip carried over a settlement, an approved sale of a batch that
    // outlived 999,999 STANs) is skipped, so the two never share a key and settlement counts each once.
    let stan = nextStan(this.state.stan);
    while (stanHeldOpen(this.state, stan)) stan = nextStan(stan);
    return stan;
  }

  private async doSignOn(): Promise<boolean> {
    const stan = this.allocateStan();
    // The 0800's STAN is journaled too, so no later authorization can reuse it.
    await this.d.journal.append([{ type: TerminalRecord.stanAllocated.name, payload: { stan, purpose: 'sign-on', at: this.nowIso() } }], { durable: true });
    let r;
    try {
      r = await linkSignOn(this.d.link, this.d.config.tmk, this.d.config.identity, pad6(stan), pad6(this.state.batch));
    } catch (e) {
      if (!(e instanceof AcquirerLinkError)) throw e;
      this.emit({ type: 'sign-on-failed', detail: e.message });
      return false;
    }
    this.signedOn = r.kind === 'signed-on';
    if (r.kind === 'signed-on') this.pinKey = r.pinKeyUnderTmk;
    this.emit(this.signedOn ? { type: 'signed-on' } : { type: 'sign-on-failed', detail: r.kind === 'declined' ? `declined ${r.responseCode}` : r.kind });
    if (r.kind === 'signed-on') this.acquirerAnchor.signedOn(r.hostCounters);
    // After boot (and so after a repair) the anchors say whether this journal is behind what was used.
    await this.checkAnchors([this.acquirerAnchor, ...(this.d.anchors ?? [])]);
    return this.signedOn;
  }

  /**
   * An anchor with evidence of counters past the journal's: one durable record moves STAN and batch past it
   * and raises the alarm (money operations refused until a supervisor acknowledges).
   */
  private async checkAnchors(anchors: RollbackAnchor[]): Promise<void> {
    for (const anchor of anchors) {
      const e = await anchor.evidence();
      if (!e) continue;
      const s = this.state;
      const counters = { stan: s.stan, batch: s.batch, batchEndPending: s.settlementRun?.step === 'batch-end' ? s.settlementRun.batch : null };
      const detail = behindBy(counters, e);
      if (!detail) continue;
      const after = countersPast(counters, e, REPAIR_STAN_MARGIN);
      const payload: AnchorRollback = { anchor: e.anchor, evidence: { ...(e.batch !== undefined ? { batch: e.batch } : {}), ...(e.last ? { last: e.last } : {}) }, detail, before: { stan: s.stan, batch: s.batch }, after, at: this.nowIso() };
      await this.d.journal.append([{ type: TerminalRecord.anchorRollback.name, payload }], { durable: true });
      this.emit({ type: 'rollback-detected', anchor: e.anchor, detail, stan: after.stan, batch: after.batch });
    }
  }

  /** A supervisor's recorded decision ends the rollback alarm (JOURNAL_FORMAT §10.2 says what to check first). */
  acknowledgeRollback(req: { password: string; reason: string }): Promise<{ acknowledged: boolean; detail: string }> {
    return this.serialize(async () => {
      if (!this.state.rollbackAlarm) return { acknowledged: false, detail: 'no rollback alarm is raised' };
      if (req.reason.trim().length === 0) return { acknowledged: false, detail: 'a reason is required' };
      const check = await this.d.supervisor.verify(req.password, 'acknowledge-rollback');
      if (!check.ok) return { acknowledged: false, detail: check.detail };
      await this.d.journal.append([{ type: TerminalRecord.anchorAcknowledged.name, payload: { reason: req.reason, at: this.nowIso() } }], { durable: true });
      return { acknowledged: true, detail: 'rollback alarm acknowledged by supervisor' };
    });
  }

  private async runReversalRound(deadline?: number): Promise<RoundResult> {
    try {
      const r = await this.reversalSender.round(deadline);
      this.afterRound();
      return r;
    } catch (e) {
      this.afterRound();
      throw e;
    }
  }

  /** While anything is still owed, the next background round comes after a capped, jittered backoff. */
  private afterRound(): void {
    const owed = Object.keys(this.state.reversals).map(Number);
    if (owed.length === 0) {
      this.failedRounds = 0;
      this.retryTimer?.cancel();
      this.retryTimer = null;
      return;
    }
    if (this.stopped) return;
    this.failedRounds++;
    const inMs = this.reversalSender.backoffFor(this.failedRounds, this.random);
    this.retryTimer?.cancel();
    this.emit({ type: 'reversal-round-scheduled', owed: owed.map(pad6).join(' '), inMs });
    this.retryTimer = this.d.clock.setTimer(inMs, () => {
      this.retryTimer = null;
      if (!this.stopped) void this.serialize(() => this.runReversalRound()).catch(() => undefined);
    });
  }

  // --- receipts ---------------------------------------------------------------------------------------

  private async printPending(): Promise<number[]> {
    const printed: number[] = [];
    for (const [key, owed] of Object.entries(this.state.pendingReceipts)) {
      // By the owed slip's own record: after the STAN wraps, the open batch may hold another transaction with its STAN.
      const view = this.state.txns[owed.seq];
      if (!view) continue;
      const r = await this.printSlip(view, 'owed');
      if (r !== 'printed') break;
      printed.push(Number(key));
    }
    return printed;
  }

  /**
   * Prints and journals `receipt.printed` only when the driver says it printed; otherwise it stays pending.
   * `first`: right after the approval, nothing of it on paper yet. `owed`: a pending slip, marked duplicate
   * when an earlier job may have reached the paper (a power cut mid-job, a printer that failed part-way).
   * `reprint`: asked for, always marked.
   */
  private async printSlip(view: TxnView, mode: 'first' | 'owed' | 'reprint'): Promise<'printed' | { reason: string }> {
    const stan = view.intent.stan;
    const pending = this.state.pendingReceipts[String(stan)];
    // Whether a job before this one may be on paper. Only the first job, in the run that approved the sale,
    // has none before it; after a restart the journal's silence means a job may have been cut by the power.
    const earlier = mode !== 'first' && (pending?.mayBeOnPaper !== false || pending.printing === true);
    const duplicate = mode === 'reprint' || (mode === 'owed' && earlier);
    if (mode === 'owed' && !duplicate) {
      // Write-ahead for paper: the journal says nothing is on paper yet, and this job may change that. Without
      // this record a power cut mid-job would leave that word standing and the next job unmarked too: two
      // originals. Only a slip whose every job was refused pays the sync.
      await this.d.journal.append([{ type: TerminalRecord.receiptNotPrinted.name, payload: { stan, reason: RECEIPT_JOB_STARTED, mayBeOnPaper: true, at: this.nowIso() } satisfies ReceiptNotPrinted }], { durable: true });
    }
    // A sale voided before this job (a reprint, or a slip owed since before the void): the slip says so.
    const voided = voidedBy(this.state, view);
    const ms = DEVICE_TIMEOUTS.printMs;
    const result = await bounded(this.d.clock, ms, () => this.d.printer.print(salesSlipJob(view, this.d.config, duplicate, voided), `slip-${view.intent.batch}-${stan}${duplicate ? '-dup' : ''}`));
    const failed = result.kind !== 'ok' ? boundedFailure(result, ms) : result.value.printed ? null : result.value.reason;
    if (failed !== null) {
      this.emit({ type: 'receipt-pending', stan, reason: failed });
      // Not durable: if a power cut loses it, the slip is only marked duplicate when it need not be. A job
      // refused before paper moved says nothing of the jobs before it, so their "maybe" carries over.
      const mayBeOnPaper = (result.kind === 'ok' && !result.value.printed ? result.value.stage !== 'before' : true) || earlier;
      // A journal that failed here fails the next write too; the cashier still hears the sale's outcome.
      if (pending) await this.d.journal.append([{ type: TerminalRecord.receiptNotPrinted.name, payload: { stan, reason: failed, mayBeOnPaper, at: this.nowIso() } satisfies ReceiptNotPrinted }], { durable: false }).catch(() => undefined);
      return { reason: failed };
    }
    await this.d.journal.append([{ type: TerminalRecord.receiptPrinted.name, payload: { stan, copies: 'both', ...(duplicate ? { duplicate: true } : {}), ...(voided !== undefined ? { voidedBy: voided } : {}) } satisfies ReceiptPrinted }], { durable: true });
    this.emit({ type: 'receipt-printed', stan, duplicate });
    return 'printed';
  }

  // --- lookups ----------------------------------------------------------------------------------------

  // Every lookup reads the fold (txn-history.ts), never the journal's history.

  private viewByStan(stan: number): TxnView | undefined {
    return viewByStan(this.state, stan);
  }

  private original(batch: number, stan: number): TxnView | undefined {
    return viewIn(this.state, batch, stan);
  }

  /** The intent with its reversal image, for the reversal sender. */
  private reversalIntentOf(stan: number): AuthIntent | undefined {
    const view = this.viewByStan(stan);
    return view ? reversalIntent(view, this.d.journal, this.d.storage) : undefined;
  }

  private checkOriginal(v: TxnView | undefined, wants: AuthKind, kind: AuthKind): TxnResult | undefined {
    if (!v || v.intent.kind !== wants) return refused(kind, 'original-not-found', `no ${wants} with that STAN`);
    if (v.outcome?.result !== 'approved' || v.reversal || v.consumedBy !== undefined) {
      return refused(kind, 'original-not-voidable', `the ${wants} is ${stateOf(v)}${v.consumedBy !== undefined ? ` (used by STAN ${v.consumedBy})` : ''}`);
    }
    return undefined;
  }

  /**
   * A refund of this terminal's own sale returns money that moved and is still with the merchant: not for a
   * declined, reversed or voided sale (the cardholder was never debited, or was already credited), and never
   * more than the sale less what refunds of it already returned. Another terminal's sale is the acquirer's check.
   */
  private checkRefundable(own: TxnView, rrn: string, amount: number): TxnResult | undefined {
    if (own.outcome?.result !== 'approved' || own.reversal || own.consumedBy !== undefined) {
      return refused('refund', 'original-not-refundable', `the ${own.intent.kind === 'sale' ? 'sale' : 'completion'} with RRN ${rrn} is ${stateOf(own)}${own.consumedBy !== undefined ? ` (used by STAN ${own.consumedBy})` : ''}: no money of it to return`);
    }
    const refunded = refundedOf(this.state, rrn);
    const left = own.intent.amount - refunded.fen;
    if (amount > left) return refused('refund', 'invalid-amount', left > 0 ? `refund amount must be 0.01..${formatMinor(left)} (the sale ${formatMinor(own.intent.amount)}, ${formatMinor(refunded.fen)} already refunded${unconfirmedWords(refunded)})` : `the sale with RRN ${rrn} is refunded in full${unconfirmedWords(refunded)}`);
    return undefined;
  }

  /** A void returns the whole sale: after a refund of part of it, that part would go back to the card twice. */
  private checkUnrefunded(sale: TxnView): TxnResult | undefined {
    const rrn = sale.outcome?.rrn;
    if (rrn === undefined) return undefined;
    const refunded = refundedOf(this.state, rrn);
    if (refunded.fen === 0) return undefined;
    const left = sale.intent.amount - refunded.fen;
    return refused('void', 'original-not-voidable', `the sale with STAN ${sale.intent.stan} has ${formatMinor(refunded.fen)} refunded${unconfirmedWords(refunded)}: a void would return the whole ${formatMinor(sale.intent.amount)} again; ${left > 0 ? `refund the rest (${formatMinor(left)}) instead` : 'it is refunded in full'}`);
  }

  private fromOriginal(kind: AuthKind, amount: number, o: TxnView, requestId: string | undefined): AuthSpec {
    return {
      kind,
      amount,
      ...(requestId !== undefined ? { requestId } : {}),
      card: { posEntryMode: o.intent.entryMode.slice(0, 2), maskedPan: o.intent.maskedPan },
      original: definedOnly({ batch: o.intent.batch, stan: o.intent.stan, rrn: o.outcome?.rrn, authCode: o.outcome?.authCode }),
    };
  }

  private async checkSupervisor(kind: AuthKind, password: string, purpose: 'void' | 'refund'): Promise<TxnResult | undefined> {
    const check = await this.d.supervisor.verify(password, purpose);
    return check.ok ? undefined : refused(kind, 'supervisor-refused', check.detail);
  }

  /** Events are for the log and the operator: a listener that throws must not change how a transaction ends. */
  private emit(e: EngineEvent): void {
    try {
      this.d.onEvent?.(e);
    } catch {
      // The transaction's own records say what happened; a lost log line is the listener's to report.
    }
  }

  private nowIso(): string {
    return new Date(this.d.clock.now()).toISOString();
  }

  /** One operation at a time: the link carries one request, and the journal's state must not move under us. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function refused(txn: AuthKind, reason: RefusalReason, detail: string): TxnResult {
  return { kind: 'refused', txn, reason, detail };
}

/** Refunds counted though the acquirer may not hold them: said so, not claimed as given back. */
const unconfirmedWords = (r: Refunded) => (r.unconfirmed > 0 ? `, ${formatMinor(r.unconfirmed)} of it in refunds whose reversal the acquirer has not confirmed` : '');

const validAmount = (n: number) => Number.isSafeInteger(n) && n > 0 && n <= 999_999_999_999;

function stateOf(v: TxnView): TxnState {
  if (v.reversal) return ({ owed: 'reversal-pending', stuck: 'reversal-stuck', cleared: 'reversed', closed: 'reversal-closed' } as const)[v.reversal.state];
  if (!v.outcome) return 'in-flight';
  if (v.outcome.result === 'declined') return v.outcome.responseCode === NOT_SENT ? 'not-sent' : 'declined';
  return v.consumedBy !== undefined && v.intent.kind === 'sale' ? 'voided' : 'approved';
}

/** Where a raised reversal stands, from the journal. */
function standingOf(v: TxnView): ReversalStanding {
  const r = v.reversal!;
  return {
    state: r.state === 'owed' ? 'pending' : r.state,
    stan: v.intent.stan,
    reason: r.reason,
    attempts: r.attempts,
    ...(r.responseCode !== undefined ? { responseCode: r.responseCode } : {}),
    ...(r.closedReason !== undefined ? { closedReason: r.closedReason } : {}),
  };
}

/** The outcome of a journaled transaction, as the engine would have answered it (a repeated request id). */
function resultOf(v: TxnView, receiptPending: boolean): TxnResult {
  const i = v.intent;
  const base = { txn: i.kind, stan: i.stan, batch: i.batch, ...(i.requestId !== undefined ? { requestId: i.requestId } : {}) };
  if (v.reversal) {
    const standing = standingOf(v);
    return { kind: 'reversed', ...base, ...reversedFields(standing, 'the terminal could not trust the result and reversed it') };
  }
  if (!v.outcome) return { kind: 'unknown', ...base, detail: 'still in flight: its outcome is decided when the terminal restarts' };
  if (v.outcome.result === 'declined') {
    return v.outcome.responseCode === NOT_SENT ? { kind: 'not-sent', ...base, detail: 'nothing reached the acquirer' } : { kind: 'declined', ...base, responseCode: v.outcome.responseCode };
  }
  return {
    kind: 'approved',
    ...base,
    amount: i.amount,
    maskedPan: i.maskedPan,
    rrn: v.outcome.rrn ?? '',
    ...(v.outcome.authCode !== undefined ? { authCode: v.outcome.authCode } : {}),
    receipt: i.kind === 'balance' ? 'none' : v.printed ? 'printed' : receiptPending ? 'pending' : 'none',
  };
}

function definedOnly<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
