// The transaction engine's public surface: what the daemon (`posj run`), its control API and the tests call.
// The engine itself is `TerminalEngine` in terminal-engine.ts (`TerminalEngine.create(deps)`); this file
// holds only types, so callers can depend on it while the engine grows. Amounts are integer fen.
import type { AcquirerLink } from '../acquirer/link.js';
import type { Clock } from '../../protocol/io/clock.js';
import type { ReceiptLanguage } from '../receipts/receipt-model.js';
import type { SecretKey, TerminalIdentity } from '../../protocol/iso8583/index.js';
import type { CardSource, ReceiptPrinter } from './engine-devices.js';
import type { OnlinePinProfile } from './online-pin.js';
import type { BatchLimitPolicy } from './batch-limit.js';
import type { AuthKind, ReversalReason } from './records.js';
import type { BatchTotals } from './terminal-state.js';
import type { TerminalJournal } from './terminal-journal.js';
import type { RollbackAlarm } from './rollback-records.js';

/** How hard the engine tries to get a reversal answered, and what it does while one is stuck. */
export interface ReversalPolicy {
  /** Sends that left the terminal (0400, then 0401 repeats) per round before the reversal is marked stuck. Default 3. */
  attemptsPerRound: number;
  /** Wait after the first send of a round before the next; doubles for each further send. Default 2 s. */
  attemptSpacingMs: number;
  /** Wait after a round that left reversals owed before the next one; doubles each round up to maxBackoffMs. Default 30 s. */
  backoffMs: number;
  /** Default 10 min. */
  maxBackoffMs: number;
  /** Each background wait is moved by up to this fraction either way, so terminals do not retry in step. Default 0.2. */
  jitter: number;
  /** Longest a new transaction waits on owed reversals before its own request; the rest go on in the background. Default 5 s. */
  preSaleBudgetMs: number;
  /** Refuse new debits (sale, pre-authorization, completion) while any reversal is stuck. Default true. */
  refuseSalesWhileStuck: boolean;
}

export interface EngineConfig {
  /** Fields 41 and 42. Kept in config, never in journal records (a merchant ID can look like a PAN). */
  identity: TerminalIdentity;
  /** Terminal master key: unwraps the working keys at sign-on. Never journaled. */
  tmk: SecretKey;
  /** Printed on receipts and slips. */
  merchantName: string;
  acquirerContact?: string;
  language?: ReceiptLanguage;
  reversal?: Partial<ReversalPolicy>;
  /** Transactions per batch before settlement (≤ 999, field 48) and whether to settle automatically. */
  batch?: Partial<BatchLimitPolicy>;
  /** The acquirer's online PIN profile (online-pin.ts); without it the card's CVM alone decides. */
  onlinePin?: OnlinePinProfile;
}

/** Checks the supervisor password (scrypt hash, rate limit and journaling live behind it). */
export interface SupervisorVerifier {
  verify(password: string, purpose: 'void' | 'refund' | 'close-reversal' | 'acknowledge-rollback'): Promise<SupervisorCheck>;
}

export type SupervisorCheck = { ok: true } | { ok: false; reason: 'wrong-password' | 'locked-out' | 'not-set'; detail: string };

/** Things the engine did that an operator or log should see. Never carries card data or keys. */
export type EngineEvent =
  | { type: 'signed-on' }
  | { type: 'sign-on-failed'; detail: string }
  /** A rollback anchor found the journal behind; STAN and batch are where they were moved to. */
  | { type: 'rollback-detected'; anchor: string; detail: string; stan: number; batch: number }
  | { type: 'reversal-sent'; stan: number; mti: '0400' | '0401'; attempt: number }
  /** The attempt could not leave the terminal (no connection, no session): journaled as such, not counted. */
  | { type: 'reversal-not-sent'; stan: number; attempt: number; detail: string }
  /** Sent, and no usable answer came (timeout, reset, bad MAC): counted. */
  | { type: 'reversal-no-answer'; stan: number; mti: '0400' | '0401'; attempt: number; detail: string }
  | { type: 'reversal-cleared'; stan: number; responseCode: string }
  /** The acquirer answered the 0400/0401 without acting on it (e.g. 96): the reversal stays owed. */
  | { type: 'reversal-refused'; stan: number; responseCode: string }
  | { type: 'reversal-stuck'; stan: number; attempts: number }
  /** Reversals still owed after a round: the next background round is in `inMs`. */
  | { type: 'reversal-round-scheduled'; owed: string; inMs: number }
  /** A new transaction waited its budget on owed reversals and goes ahead; they go on in the background. */
  | { type: 'reversal-wait-over'; owed: string; waitedMs: number }
  /** A reply for a request the engine had already given up on (timeout): logged, never acted on. */
  | { type: 'late-reply-ignored'; mti: string; stan?: number; responseCode?: string }
  /** A device call after the intent failed or did not answer in time; the authorization still ended in the engine. */
  | { type: 'device-failed'; stan: number; device: 'reader' | 'printer'; call: string; detail: string }
  | { type: 'receipt-printed'; stan: number; duplicate: boolean }
  | { type: 'receipt-pending'; stan: number; reason: string }
  | { type: 'slip-not-printed'; stan: number; reason: string };

export interface EngineDeps {
  journal: TerminalJournal;
  link: AcquirerLink;
  clock: Clock;
  reader: CardSource;
  printer: ReceiptPrinter;
  supervisor: SupervisorVerifier;
  config: EngineConfig;
  onEvent?: (e: EngineEvent) => void;
  /** Uniform in [0, 1): the jitter of background reversal rounds (seeded in the simulator). Default Math.random. */
  random?: () => number;
}

/** Why the engine would not start a transaction; nothing was sent and no STAN was used. */
export type RefusalReason =
  | 'reversal-stuck'
  | 'not-signed-on'
  | 'supervisor-refused'
  | 'original-not-found'
  | 'original-not-voidable'
  /** A refund of this terminal's own sale that was declined, reversed or voided: no money of it moved. */
  | 'original-not-refundable'
  | 'card-read-failed'
  /** 取消输入密码: the cardholder pressed cancel on the PIN pad. */
  | 'pin-entry-cancelled'
  /** 输入密码超时: no PIN within the pad's entry time. */
  | 'pin-entry-timeout'
  /** The PIN pad failed, stayed silent, or there was no PIN key from sign-on. */
  | 'pin-entry-failed'
  | 'invalid-amount'
  /** 交易笔数已满，请先结算: the open batch is at its limit (field 48 counts in three digits). */
  | 'batch-full'
  /** A rollback anchor found the journal behind (JOURNAL_FORMAT §10.2): refused until a supervisor acknowledges. */
  | 'journal-rolled-back'
  | 'invalid-request-id'
  /** The request id was used before for a different operation or amount. */
  | 'request-id-reused';

/** Where a reversal the terminal owes stands, as far as the acquirer is known to hold it. */
export interface ReversalStanding {
  /** 'cleared': a 0410 settled it (responseCode); 'pending': owed, not yet answered; 'stuck': owed, retries spent,
   *  slip printed; 'closed': a supervisor took it out of the open set — NOT confirmed by the acquirer. */
  state: 'cleared' | 'pending' | 'stuck' | 'closed';
  stan: number;
  reason: ReversalReason;
  /** Sends that left the terminal. */
  attempts: number;
  responseCode?: string;
  closedReason?: string;
}

/** Fields every result of an operation that reached the authorization step carries. */
interface Authorized {
  txn: AuthKind;
  stan: number;
  batch: number;
  /** The client's idempotency key, when it sent one. */
  requestId?: string;
  /** True when this is the stored outcome of an earlier request with the same requestId (nothing new was sent). */
  replayed?: boolean;
}

/**
 * How one financial transaction ended. `approved` is returned only after the outcome is durable; `reversed`
 * means the terminal could not trust the result and owes (or has made) a reversal — the sale failed, and
 * `reversal` says whether the acquirer has confirmed it; `not-sent` means no byte left the terminal;
 * `unknown` means the journal failed before the outcome was durable: the next boot decides it (a sale
 * whose approval reached the platter stands, anything else is reversed) — never charge again on it.
 */
export type TxnResult =
  | (Authorized & {
      kind: 'approved';
      amount: number;
      maskedPan: string;
      rrn: string;
      authCode?: string;
      /** Balance inquiry only: available balance in fen. */
      balance?: number;
      /** `pending` when the printer failed: printed when it recovers; the sale stands. */
      receipt: 'printed' | 'pending' | 'none';
    })
  | (Authorized & { kind: 'declined'; responseCode: string })
  | (Authorized & {
      kind: 'reversed';
      reason: ReversalReason;
      /** Where the reversal stands at the acquirer (ReversalStanding.state). */
      reversal: ReversalStanding['state'];
      /** Reversal sends that left the terminal. */
      attempts: number;
      /** The 0410's code when cleared. */
      reversalResponseCode?: string;
      /** The supervisor's reason when closed. */
      closedReason?: string;
      /** Why the terminal could not trust the result. */
      detail: string;
    })
  | (Authorized & { kind: 'not-sent'; detail: string })
  | (Authorized & { kind: 'unknown'; detail: string })
  | { kind: 'refused'; txn: AuthKind; reason: RefusalReason; detail: string; requestId?: string };

export interface BootReport {
  /** Intents found with no outcome: each now owes a reversal with reason 98. */
  reversalsRaised: number[];
  signedOn: boolean;
  reversalsCleared: number[];
  reversalsStuck: number[];
  receiptsPrinted: number[];
}

export interface ReversalView {
  stan: number;
  txn: AuthKind;
  amount: number;
  maskedPan: string;
  reason: ReversalReason;
  attempts: number;
  stuck: boolean;
}

/** `reversed`: a 0410 cleared it; `reversal-closed`: a supervisor closed it, not confirmed by the acquirer. */
export type TxnState = 'in-flight' | 'approved' | 'declined' | 'reversal-pending' | 'reversal-stuck' | 'reversed' | 'reversal-closed' | 'voided' | 'not-sent';

/** "Did this transaction go through?" — answered from the journal alone. */
export type StatusResult =
  | { found: false }
  | {
      found: true;
      stan: number;
      batch: number;
      txn: AuthKind;
      amount: number;
      maskedPan: string;
      state: TxnState;
      responseCode?: string;
      rrn?: string;
      authCode?: string;
      at: string;
      receipt: 'printed' | 'pending' | 'none';
      requestId?: string;
      reversal?: ReversalStanding;
      /** An approved sale's refunds that may stand (fen), and the part the acquirer has not confirmed. */
      refunded?: { amount: number; unconfirmed: number };
    };

/** `voidedBy`: the reprinted transaction was undone by the void with that STAN, and its slip says so (已撤销 / VOIDED). */
export type ReprintResult = { kind: 'printed'; stan: number; voidedBy?: number } | { kind: 'not-printed'; stan: number; reason: string } | { kind: 'not-found'; detail: string };

/** What `posj status --json` shows. */
export interface EngineHealth {
  stan: number;
  batch: number;
  signedOn: boolean;
  inFlight: number[];
  pendingReversals: number[];
  stuckReversals: number[];
  pendingReceipts: number[];
  totals: BatchTotals;
  /** Why the journal refuses writes (a failed fsync), or null. */
  journalFailure: string | null;
  /** The rollback alarm: an anchor found the journal behind; money operations are refused until acknowledged. */
  rollback: RollbackAlarm | null;
}

export interface SaleOptions {
  /** How long to wait for a card. Default 60 s. */
  cardTimeoutMs?: number;
  /** The client's idempotency key (request-id.ts says what is accepted). */
  requestId?: string;
}


/** The operations; `TerminalEngine` in terminal-engine.ts implements them. Calls are serialized. */
export interface TerminalEngineApi {
  /** Turns every intent without an outcome into an owed reversal, signs on, sends reversals, prints pending receipts. */
  boot(): Promise<BootReport>;
  signOn(): Promise<boolean>;
  sale(amount: number, opts?: SaleOptions): Promise<TxnResult>;
  preauth(amount: number, opts?: SaleOptions): Promise<TxnResult>;
  /** Completion of a pre-authorization (by its STAN and batch) for up to its amount. */
  completion(req: { stan: number; batch?: number; amount: number; requestId?: string }): Promise<TxnResult>;
  preauthVoid(req: { stan: number; batch?: number; password: string; requestId?: string }): Promise<TxnResult>;
  /** 撤销: a sale of the open batch, by STAN, full amount. */
  void(req: { stan: number; password: string; requestId?: string }): Promise<TxnResult>;
  /** 退货: any batch, by RRN and original date (MMDD); the card is read again. */
  refund(req: { rrn: string; date: string; amount: number; password: string; requestId?: string }): Promise<TxnResult>;
  balance(opts?: SaleOptions): Promise<TxnResult>;
  /** One transaction by STAN, RRN, the client's request id, or the last one started. */
  status(q: { stan: number } | { rrn: string } | { requestId: string } | { last: true }): StatusResult;
  reversals(): ReversalView[];
  /** A supervisor takes a stuck reversal out of the open set, with a recorded reason (DESIGN rule 3). */
  closeReversal(req: { stan: number; password: string; reason: string }): Promise<{ closed: boolean; detail: string }>;
  /** A supervisor ends the rollback alarm, with a recorded reason, after checking the acquirer's ledger. */
  acknowledgeRollback(req: { password: string; reason: string }): Promise<{ acknowledged: boolean; detail: string }>;
  /** Sends owed reversals now (the background round runs on its own backoff as well). */
  sendReversals(): Promise<{ cleared: number[]; stuck: number[]; owed: number[] }>;
  reprint(q: { last: true } | { stan: number }): Promise<ReprintResult>;
  health(): EngineHealth;
  /** Stops background retries and printer listeners; the journal and link are the caller's to close. */
  stop(): void;
}
