// The transaction engine: every authorization is either completed (approved, durable, receipt printed or
// pending) or reversed at the acquirer, whatever fails and whenever. Write-ahead (DESIGN rule 2): the
// STAN and the intent with its reversal image are one durable append before the request's first byte;
// the outcome is durable before anyone is told; nothing is kept outside the journal (rule 1).
import { AcquirerLinkError } from '../acquirer/exchange-result.js';
import { signOn as linkSignOn } from '../acquirer/sign-on.js';
import type { TimerHandle } from '../../protocol/io/clock.js';
import type { Storage } from '../io/storage.js';
import { ResponseCode, textField, type TransactionKind } from '../../protocol/iso8583/index.js';
import type {
  BootReport,
  EngineDeps,
  EngineHealth,
  RefusalReason,
  ReprintResult,
  ReversalView,
  SaleOptions,
  StatusResult,
  TerminalEngineApi,
  TxnResult,
  TxnState,
} from './engine-api.js';
import type { CardForTxn } from './engine-devices.js';
import type { PlantedBugs } from './planted-bugs.js';
import { TerminalRecord, type AuthIntent, type AuthKind, type AuthOutcome, type ReversalReason } from './records.js';
import { DEFAULT_REVERSAL_POLICY, ReversalSender } from './reversal-sender.js';
import { readTerminalRecords, txnKey, txnViews, type TxnView } from './txn-history.js';
import { batchFullDetail, batchIsFull, batchLimitPolicy } from './batch-limit.js';
import { nextStan, Settlement } from './settlement.js';
import { buildRequest, localStamp, pad6, parseBalance, reversalImage, type RequestSpec } from './txn-messages.js';
import { salesSlipJob } from './txn-receipts.js';

const DEBITS: ReadonlySet<AuthKind> = new Set(['sale', 'preauth', 'preauth-completion']);
const DEFAULT_CARD_TIMEOUT_MS = 60_000;
/** Written as the outcome when the link could not connect: no byte of the request left the terminal. */
export const NOT_SENT = 'not-sent';

export interface TerminalEngineDeps extends EngineDeps {
  /** Where the journal's files are (SimDisk in tests); the node file system when absent. */
  storage?: Storage;
  /** Test-only: known bugs the simulator must catch (planted-bugs.ts). Never set outside tests. */
  faults?: PlantedBugs;
}

/** What one authorization needs beyond its kind. */
interface AuthSpec {
  kind: AuthKind;
  amount: number;
  card: CardForTxn | { posEntryMode: string; maskedPan: string };
  /** The transaction this one refers to: batch + STAN (void, completion, pre-auth void) or RRN + date (refund). */
  original?: { batch?: number; stan?: number; date?: string; rrn?: string; authCode?: string };
}

export class TerminalEngine implements TerminalEngineApi {
  private queue: Promise<unknown> = Promise.resolve();
  private signedOn = false;
  private failedRounds = 0;
  private retryTimer: TimerHandle | null = null;
  private stopped = false;
  private readonly reversalSender: ReversalSender;
  private readonly unsubscribePrinter: () => void;
  private readonly policy;
  private readonly batchLimit;
  /** PLANTED BUG (c), test-only: the first STAN after this start repeats the last one allocated. */
  private reuseNextStan: boolean;

  private constructor(private readonly d: TerminalEngineDeps) {
    this.policy = { ...DEFAULT_REVERSAL_POLICY, ...d.config.reversal };
    this.batchLimit = batchLimitPolicy(d.config.batch);
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
      view: (stan) => this.viewByStan(stan),
      emit: (e) => d.onEvent?.(e),
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
    return this.serialize(() => this.withCard('sale', amount, opts));
  }

  preauth(amount: number, opts: SaleOptions = {}): Promise<TxnResult> {
    return this.serialize(() => this.withCard('preauth', amount, opts));
  }

  balance(opts: SaleOptions = {}): Promise<TxnResult> {
    return this.serialize(() => this.withCard('balance', 0, opts));
  }

  completion(req: { stan: number; batch?: number; amount: number }): Promise<TxnResult> {
    return this.serialize(async () => {
      const pre = this.original(req.batch ?? this.state.batch, req.stan);
      const refusal = this.checkOriginal(pre, 'preauth', 'preauth-completion');
      if (refusal) return refusal;
      if (!(req.amount > 0 && req.amount <= pre!.intent.amount)) return refused('preauth-completion', 'invalid-amount', `completion amount must be 1..${pre!.intent.amount}`);
      return this.authorizeOnline(this.fromOriginal('preauth-completion', req.amount, pre!));
    });
  }

  preauthVoid(req: { stan: number; batch?: number; password: string }): Promise<TxnResult> {
    return this.serialize(async () => {
      const denied = await this.checkSupervisor('preauth-void', req.password, 'void');
      if (denied) return denied;
      const pre = this.original(req.batch ?? this.state.batch, req.stan);
      const refusal = this.checkOriginal(pre, 'preauth', 'preauth-void');
      if (refusal) return refusal;
      return this.authorizeOnline(this.fromOriginal('preauth-void', pre!.intent.amount, pre!));
    });
  }

  void(req: { stan: number; password: string }): Promise<TxnResult> {
    return this.serialize(async () => {
      const denied = await this.checkSupervisor('void', req.password, 'void');
      if (denied) return denied;
      // 撤销 only within the open batch; after settlement it is a refund.
      const sale = this.original(this.state.batch, req.stan);
      if (!sale) {
        const settled = this.settledSale(req.stan);
        if (settled) return refused('void', 'original-not-voidable', `the sale with STAN ${req.stan} is in settled batch ${settled.intent.batch}: use refund (退货)${settled.outcome?.rrn ? ` with RRN ${settled.outcome.rrn}` : ''}`);
      }
      const refusal = this.checkOriginal(sale, 'sale', 'void');
      if (refusal) return refusal;
      return this.authorizeOnline(this.fromOriginal('void', sale!.intent.amount, sale!));
    });
  }

  refund(req: { rrn: string; date: string; amount: number; password: string }): Promise<TxnResult> {
    return this.serialize(async () => {
      if (!/^[0-9A-Za-z]{12}$/.test(req.rrn) || !/^(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.test(req.date)) {
        return refused('refund', 'original-not-found', 'refund needs a 12-character RRN and the original date as MMDD');
      }
      if (!validAmount(req.amount)) return refused('refund', 'invalid-amount', 'amount must be a positive whole number of fen');
      const denied = await this.checkSupervisor('refund', req.password, 'refund');
      if (denied) return denied;
      // A refund of this terminal's own sale names it in field 61 (batch + STAN + date); another terminal's
      // sale only by RRN and date, the batch and STAN left zero.
      const own = this.saleByRrn(req.rrn);
      return this.withCard('refund', req.amount, {}, { date: req.date, rrn: req.rrn, ...(own ? { batch: own.intent.batch, stan: own.intent.stan } : {}) });
    });
  }

  status(q: { stan: number } | { rrn: string }): StatusResult {
    const views = [...this.views().values()].reverse();
    const v = 'stan' in q ? (views.find((x) => x.intent.stan === q.stan && x.intent.batch === this.state.batch) ?? views.find((x) => x.intent.stan === q.stan)) : views.find((x) => x.outcome?.rrn === q.rrn);
    if (!v) return { found: false };
    const pending = this.state.pendingReceipts[String(v.intent.stan)] !== undefined;
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
      return { closed: true, detail: 'closed by supervisor' };
    });
  }

  sendReversals(): Promise<{ cleared: number[]; stuck: number[] }> {
    return this.serialize(() => this.runReversalRound());
  }

  reprint(q: { last: true } | { stan: number }): Promise<ReprintResult> {
    return this.serialize(async () => {
      const approved = [...this.views().values()].filter((v) => v.outcome?.result === 'approved' && !v.reversal && v.intent.kind !== 'balance');
      const v = 'last' in q ? approved.at(-1) : (approved.reverse().find((x) => x.intent.stan === q.stan && x.intent.batch === this.state.batch) ?? approved.find((x) => x.intent.stan === q.stan));
      if (!v) return { kind: 'not-found' };
      const r = await this.printSlip(v, true);
      return r === 'printed' ? { kind: 'printed', stan: v.intent.stan } : { kind: 'not-printed', stan: v.intent.stan, reason: r.reason };
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

  private async withCard(kind: AuthKind, amount: number, opts: SaleOptions, original?: AuthSpec['original']): Promise<TxnResult> {
    if (kind !== 'balance' && !validAmount(amount)) return refused(kind, 'invalid-amount', 'amount must be a positive whole number of fen');
    const gate = await this.prepareOnline(kind);
    if (gate) return gate;
    const read = await this.d.reader.readCard({ amount, currency: '156', timeoutMs: opts.cardTimeoutMs ?? DEFAULT_CARD_TIMEOUT_MS });
    if (read.kind !== 'card') return refused(kind, 'card-read-failed', read.detail);
    return this.authorize({ kind, amount, card: read.card, ...(original ? { original } : {}) });
  }

  private async authorizeOnline(spec: AuthSpec): Promise<TxnResult> {
    const gate = await this.prepareOnline(spec.kind);
    return gate ?? this.authorize(spec);
  }

  /** Before every online message: a live session, and every owed reversal sent first. */
  private async prepareOnline(kind: AuthKind): Promise<TxnResult | undefined> {
    const refuseWhileStuck = () =>
      this.policy.refuseSalesWhileStuck && DEBITS.has(kind) && Object.values(this.state.reversals).some((r) => r.stuck)
        ? refused(kind, 'reversal-stuck', 'a reversal is stuck: new sales wait until the acquirer answers it (or a supervisor closes it)')
        : undefined;
    // Already stuck: refuse before sending anything, so refused sales write nothing (the background rounds
    // keep trying on their backoff) and the journal does not grow by a round per refused sale.
    const early = refuseWhileStuck();
    if (early) return early;
    if (Object.keys(this.state.reversals).length > 0) await this.runReversalRound();
    const stuck = refuseWhileStuck();
    if (stuck) return stuck;
    if (!(await this.ensureSignedOn())) return refused(kind, 'not-signed-on', 'sign-on to the acquirer failed');
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
    const { journal, link, config } = this.d;
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
    };
    // Write-ahead: the STAN and the reversal image are durable before the first byte leaves.
    const writeAhead = () => journal.append([{ type: TerminalRecord.authIntent.name, payload: intent }], { durable: true });
    // PLANTED BUG (a), test-only: send first, journal the intent only once the exchange is over.
    const sendFirst = this.d.faults?.sendBeforeWriteAhead === true;
    if (!sendFirst) await writeAhead();

    let result;
    try {
      result = await link.exchange(request);
    } catch (e) {
      if (sendFirst) await writeAhead();
      if (!(e instanceof AcquirerLinkError)) throw e;
      this.signedOn = false;
      await this.writeOutcome({ stan, result: 'declined', responseCode: NOT_SENT, at: this.nowIso() });
      return { kind: 'not-sent', txn: spec.kind, stan, detail: e.message };
    }
    if (sendFirst) await writeAhead();
    switch (result.kind) {
      case 'connect-failed':
        await this.writeOutcome({ stan, result: 'declined', responseCode: NOT_SENT, at: this.nowIso() });
        return { kind: 'not-sent', txn: spec.kind, stan, detail: result.detail };
      case 'timeout':
      case 'reset':
        return this.failedOnline(spec, stan, '98');
      case 'mac-failed':
        this.signedOn = false;
        return this.failedOnline(spec, stan, 'A0');
      case 'response':
        break;
    }
    const code = textField(result.message, 39) ?? '';
    const chip = 'pan' in spec.card && spec.card.entryMode === 'chip';
    if (code !== ResponseCode.approved) {
      if (code === ResponseCode.macError) this.signedOn = false;
      await this.writeOutcome({ stan, result: 'declined', responseCode: code, at: this.nowIso() });
      if (chip) await this.d.reader.completeChip({ arc: code });
      return { kind: 'declined', txn: spec.kind, stan, responseCode: code };
    }
    const rrn = textField(result.message, 37) ?? '';
    const authCode = textField(result.message, 38);
    await this.writeOutcome({ stan, result: 'approved', responseCode: code, rrn, ...(authCode !== undefined ? { authCode } : {}), at: this.nowIso() });
    if (chip) {
      const completion = await this.d.reader.completeChip({ arc: code });
      // The card refused what the host approved: the cardholder is debited for a failed sale — reverse (06).
      if (completion.reversalReason === '06') return this.failedOnline(spec, stan, '06');
    }
    const balance = spec.kind === 'balance' ? parseBalance(result.message) : undefined;
    let receipt: 'printed' | 'pending' | 'none' = 'none';
    if (spec.kind !== 'balance') {
      const view = this.viewByStan(stan);
      receipt = view && (await this.printSlip(view, false)) === 'printed' ? 'printed' : 'pending';
    }
    return {
      kind: 'approved',
      txn: spec.kind,
      stan,
      batch,
      amount: spec.amount,
      maskedPan: spec.card.maskedPan,
      rrn,
      ...(authCode !== undefined ? { authCode } : {}),
      ...(balance !== undefined ? { balance } : {}),
      receipt,
    };
  }

  /** No trustworthy answer: raise the reversal durably, then try to send it at once. */
  private async failedOnline(spec: AuthSpec, stan: number, reason: ReversalReason): Promise<TxnResult> {
    if (spec.kind === 'balance') {
      // A balance inquiry moves no money: there is nothing to reverse, only nothing learned.
      await this.writeOutcome({ stan, result: 'declined', responseCode: reason, at: this.nowIso() });
      return { kind: 'declined', txn: spec.kind, stan, responseCode: reason };
    }
    await this.d.journal.append([{ type: TerminalRecord.reversalRequired.name, payload: { stan, reason, at: this.nowIso() } }], { durable: true });
    const sent = await this.reversalSender.send(stan);
    this.afterRound(sent === 'cleared' ? [] : [stan]);
    return { kind: 'reversed', txn: spec.kind, stan, reason, reversal: sent === 'cleared' ? 'cleared' : 'stuck' };
  }

  private async writeOutcome(outcome: AuthOutcome): Promise<void> {
    await this.d.journal.append([{ type: TerminalRecord.authOutcome.name, payload: outcome }], { durable: true });
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
    return nextStan(this.state.stan);
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
      this.d.onEvent?.({ type: 'sign-on-failed', detail: e.message });
      return false;
    }
    this.signedOn = r.kind === 'signed-on';
    this.d.onEvent?.(this.signedOn ? { type: 'signed-on' } : { type: 'sign-on-failed', detail: r.kind === 'declined' ? `declined ${r.responseCode}` : r.kind });
    return this.signedOn;
  }

  private async runReversalRound(): Promise<{ cleared: number[]; stuck: number[] }> {
    const r = await this.reversalSender.round();
    this.afterRound(r.stuck);
    return r;
  }

  /** Schedules the next background round after a backoff while anything is still owed. */
  private afterRound(stuck: number[]): void {
    if (stuck.length === 0 && Object.keys(this.state.reversals).length === 0) {
      this.failedRounds = 0;
      this.retryTimer?.cancel();
      this.retryTimer = null;
      return;
    }
    if (stuck.length === 0 || this.stopped) return;
    this.failedRounds++;
    this.retryTimer?.cancel();
    this.retryTimer = this.d.clock.setTimer(this.reversalSender.backoffFor(this.failedRounds), () => {
      this.retryTimer = null;
      if (!this.stopped) void this.serialize(() => this.runReversalRound()).catch(() => undefined);
    });
  }

  // --- receipts ---------------------------------------------------------------------------------------

  private async printPending(): Promise<number[]> {
    const printed: number[] = [];
    for (const key of Object.keys(this.state.pendingReceipts)) {
      const view = this.viewByStan(Number(key));
      if (!view) continue;
      const r = await this.printSlip(view, false);
      if (r !== 'printed') break;
      printed.push(Number(key));
    }
    return printed;
  }

  /** Prints and journals `receipt.printed` only when the driver says it printed; otherwise it stays pending. */
  private async printSlip(view: TxnView, reprint: boolean): Promise<'printed' | { reason: string }> {
    const stan = view.intent.stan;
    const result = await this.d.printer.print(salesSlipJob(view, this.d.config, reprint), `slip-${view.intent.batch}-${stan}${reprint ? '-dup' : ''}`);
    if (!result.printed) {
      this.d.onEvent?.({ type: 'receipt-pending', stan, reason: result.reason });
      return { reason: result.reason };
    }
    await this.d.journal.append([{ type: TerminalRecord.receiptPrinted.name, payload: { stan, copies: 'both', ...(reprint ? { duplicate: true } : {}) } }], { durable: true });
    this.d.onEvent?.({ type: 'receipt-printed', stan, duplicate: reprint });
    return 'printed';
  }

  // --- lookups ----------------------------------------------------------------------------------------

  private views(): Map<string, TxnView> {
    return txnViews(readTerminalRecords(this.d.journal, this.d.storage));
  }

  private viewByStan(stan: number): TxnView | undefined {
    const views = this.views();
    return views.get(txnKey(this.state.batch, stan)) ?? [...views.values()].reverse().find((v) => v.intent.stan === stan);
  }

  private original(batch: number, stan: number): TxnView | undefined {
    return this.views().get(txnKey(batch, stan));
  }

  /** The latest approved sale with this STAN in a batch already settled (a void must become a refund). */
  private settledSale(stan: number): TxnView | undefined {
    return [...this.views().values()].reverse().find((v) => v.intent.kind === 'sale' && v.intent.stan === stan && v.intent.batch !== this.state.batch && v.outcome?.result === 'approved' && !v.reversal);
  }

  /** This terminal's approved sale or completion with that RRN, if it made it. */
  private saleByRrn(rrn: string): TxnView | undefined {
    return [...this.views().values()].find((v) => (v.intent.kind === 'sale' || v.intent.kind === 'preauth-completion') && v.outcome?.result === 'approved' && v.outcome.rrn === rrn);
  }

  private checkOriginal(v: TxnView | undefined, wants: AuthKind, kind: AuthKind): TxnResult | undefined {
    if (!v || v.intent.kind !== wants) return refused(kind, 'original-not-found', `no ${wants} with that STAN`);
    if (v.outcome?.result !== 'approved' || v.reversal || v.consumedBy !== undefined) {
      return refused(kind, 'original-not-voidable', `the ${wants} is ${stateOf(v)}${v.consumedBy !== undefined ? ` (used by STAN ${v.consumedBy})` : ''}`);
    }
    return undefined;
  }

  private fromOriginal(kind: AuthKind, amount: number, o: TxnView): AuthSpec {
    return {
      kind,
      amount,
      card: { posEntryMode: o.intent.entryMode.slice(0, 2), maskedPan: o.intent.maskedPan },
      original: definedOnly({ batch: o.intent.batch, stan: o.intent.stan, rrn: o.outcome?.rrn, authCode: o.outcome?.authCode }),
    };
  }

  private async checkSupervisor(kind: AuthKind, password: string, purpose: 'void' | 'refund'): Promise<TxnResult | undefined> {
    const check = await this.d.supervisor.verify(password, purpose);
    return check.ok ? undefined : refused(kind, 'supervisor-refused', check.detail);
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

const validAmount = (n: number) => Number.isSafeInteger(n) && n > 0 && n <= 999_999_999_999;

function stateOf(v: TxnView): TxnState {
  if (v.reversal) return v.reversal.state === 'owed' ? 'reversal-pending' : v.reversal.state === 'stuck' ? 'reversal-stuck' : 'reversed';
  if (!v.outcome) return 'in-flight';
  if (v.outcome.result === 'declined') return v.outcome.responseCode === NOT_SENT ? 'not-sent' : 'declined';
  return v.consumedBy !== undefined && v.intent.kind === 'sale' ? 'voided' : 'approved';
}

function definedOnly<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
