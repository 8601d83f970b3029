// The one place that owns the end of an authorization (DESIGN rule 9). It writes the intent (STAN and
// reversal image, durable, before the first byte), and from then on every dependency call — the acquirer
// link, the card's second GENERATE AC, the printer, the journal — goes through it, bounded on the Clock.
// It returns only after a durable outcome or a durable reversal-required, or, when the journal itself
// fails, with `unknown` (the next boot decides it from what reached the platter). Nothing a device, the
// link or the journal throws escapes past it: the engine decides what each failure means, by how far the
// authorization had got:
//   intent not durable        → not sent (nothing left the terminal)
//   request maybe on the wire → reversal 98 (no trustworthy answer), A0 (answer failed its MAC)
//   host approved, card not done (GEN AC2 refused, silent, reader gone) → reversal 06, no sales slip
//   card done (or magstripe)  → approved; a printer failure leaves the slip pending, the sale stands
import { AcquirerLinkError, type ExchangeResult } from '../acquirer/exchange-result.js';
import type { AcquirerLink } from '../acquirer/link.js';
import type { Clock } from '../../protocol/io/clock.js';
import { ResponseCode, textField, type IsoMessage } from '../../protocol/iso8583/index.js';
import { bounded, boundedFailure } from './bounded-call.js';
import type { EngineEvent, ReversalStanding, TxnResult } from './engine-api.js';
import { DEVICE_TIMEOUTS, type CardSource } from './engine-devices.js';
import type { PlantedBugs } from './planted-bugs.js';
import { TerminalRecord, type AuthIntent, type AuthOutcome, type ReversalReason, type ReversalRequired } from './records.js';
import type { TerminalJournal } from './terminal-journal.js';
import { parseBalance } from './txn-messages.js';

/** Written as the outcome when the link could not connect: no byte of the request left the terminal. */
export const NOT_SENT = 'not-sent';

export interface AuthorizationDeps {
  journal: TerminalJournal;
  link: AcquirerLink;
  clock: Clock;
  reader: CardSource;
  emit(e: EngineEvent): void;
  /** The session key is no longer trusted. */
  signedOff(): void;
  /** Sends the reversal just raised at once; where it stands afterwards. */
  sendReversal(stan: number): Promise<ReversalStanding>;
  /** Prints the slip of the approved transaction; 'pending' when the printer did not. */
  printSlip(stan: number): Promise<'printed' | 'pending'>;
  faults?: PlantedBugs;
}

export interface AuthorizationInput {
  intent: AuthIntent;
  request: IsoMessage;
  /** A chip read: the card must complete the transaction (second GENERATE AC) after the host's answer. */
  chip: boolean;
}

/** How far the authorization got; decides what an unforeseen failure means. */
type Step = 'intent' | 'on-the-wire' | 'approved' | 'completed' | 'ended';

/** A journal append failed: what it was writing may or may not be on the platter. */
class JournalWriteFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(`the journal failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** The flat fields of a `reversed` result (flat, so every log line can carry them). */
export function reversedFields(s: ReversalStanding, detail: string) {
  return {
    reason: s.reason,
    reversal: s.state,
    attempts: s.attempts,
    ...(s.responseCode !== undefined ? { reversalResponseCode: s.responseCode } : {}),
    ...(s.closedReason !== undefined ? { closedReason: s.closedReason } : {}),
    detail,
  };
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Authorization {
  private step: Step = 'intent';
  private approval: { rrn: string; authCode?: string; balance?: number } | undefined;
  private ended: TxnResult | undefined;

  constructor(
    private readonly d: AuthorizationDeps,
    private readonly a: AuthorizationInput,
  ) {}

  private get stan(): number {
    return this.a.intent.stan;
  }

  /** Runs the authorization to its end. Never throws. */
  async run(): Promise<TxnResult> {
    try {
      return await this.steps();
    } catch (e) {
      return this.endAfter(e);
    }
  }

  private async steps(): Promise<TxnResult> {
    const { link } = this.d;
    const faults = this.d.faults;
    // PLANTED BUG (a), test-only: send first, journal the intent only once the exchange is over.
    const sendFirst = faults?.sendBeforeWriteAhead === true;
    // Write-ahead: the STAN and the reversal image are durable before the first byte leaves.
    // PLANTED BUG (f), test-only: appended without waiting for the platter.
    const writeAhead = () => this.append(TerminalRecord.authIntent.name, this.a.intent, faults?.lazyIntent !== true);
    if (!sendFirst) await writeAhead();
    this.step = 'on-the-wire';

    let result: ExchangeResult;
    try {
      result = await link.exchange(this.a.request);
    } catch (e) {
      if (sendFirst) await writeAhead();
      if (!(e instanceof AcquirerLinkError)) throw e;
      this.d.signedOff();
      return this.notSent(e.message);
    }
    if (sendFirst) await writeAhead();
    switch (result.kind) {
      case 'connect-failed':
        return this.notSent(result.detail);
      case 'timeout':
        return this.reverse('98', 'no reply from the acquirer in time');
      case 'reset':
        return this.reverse('98', `the connection dropped before the reply (${result.detail})`);
      case 'mac-failed':
        this.d.signedOff();
        return this.reverse('A0', 'the reply failed its MAC check');
      case 'response':
        break;
    }
    const code = textField(result.message, 39) ?? '';
    if (code !== ResponseCode.approved) return this.declined(code);

    const rrn = textField(result.message, 37) ?? '';
    const authCode = textField(result.message, 38);
    const balance = this.a.intent.kind === 'balance' ? parseBalance(result.message) : undefined;
    this.approval = { rrn, ...(authCode !== undefined ? { authCode } : {}), ...(balance !== undefined ? { balance } : {}) };
    await this.append(TerminalRecord.authOutcome.name, { stan: this.stan, result: 'approved', responseCode: code, rrn, ...(authCode !== undefined ? { authCode } : {}), at: this.now() } satisfies AuthOutcome);
    this.step = 'approved';

    if (this.a.chip) {
      const ms = DEVICE_TIMEOUTS.chipCompletionMs;
      const c = await bounded(this.d.clock, ms, () => this.d.reader.completeChip({ arc: code }));
      if (c.kind !== 'ok') {
        const detail = boundedFailure(c, ms);
        this.d.emit({ type: 'device-failed', stan: this.stan, device: 'reader', call: 'second GENERATE AC', detail });
        // PLANTED BUG (d), test-only: the cashier hears "failed", the approval stands, nothing is reversed.
        if (this.d.faults?.swallowFailureAfterApproval) return this.plantedSwallow(detail);
        return this.reverse('06', `the card did not complete the approved transaction (${detail})`);
      }
      // The card refused what the host approved: the cardholder is debited for a failed sale — reverse (06).
      if (c.value.reversalReason === '06') return this.reverse('06', 'the card refused the approval (second GENERATE AC)');
    }
    this.step = 'completed';
    const receipt = this.a.intent.kind === 'balance' ? 'none' : await this.d.printSlip(this.stan);
    return this.approved(receipt);
  }

  /** What a failure nobody foresaw means, decided by how far the authorization got. */
  private async endAfter(e: unknown): Promise<TxnResult> {
    if (this.step === 'completed' && this.approval) return this.approved('pending');
    if (this.ended) return this.ended;
    if (e instanceof JournalWriteFailed) {
      // The intent never became durable: nothing was sent.
      if (this.step === 'intent') return this.base('not-sent', { detail: `nothing was sent: ${e.message}` });
      return this.unknown(e);
    }
    try {
      if (this.step === 'approved') return await this.reverse('06', `the transaction could not be completed after approval (${describe(e)})`);
      return await this.reverse('98', `no trustworthy answer (${describe(e)})`);
    } catch (again) {
      return this.unknown(again);
    }
  }

  private unknown(e: unknown): TxnResult {
    return this.base('unknown', {
      detail: `${describe(e)}; the outcome is decided when the terminal restarts (an approval that reached the journal stands, anything else is reversed)`,
    });
  }

  /** No trustworthy answer: raise the reversal durably, then try to send it at once. */
  private async reverse(reason: ReversalReason, detail: string): Promise<TxnResult> {
    if (this.a.intent.kind === 'balance') {
      // A balance inquiry moves no money: there is nothing to reverse, only nothing learned.
      return this.declined(reason);
    }
    const approved = this.step === 'approved';
    await this.append(TerminalRecord.reversalRequired.name, { stan: this.stan, reason, at: this.now(), ...(approved ? { maskedPan: this.a.intent.maskedPan } : {}) } satisfies ReversalRequired);
    this.step = 'ended';
    const pending: ReversalStanding = { state: 'pending', stan: this.stan, reason, attempts: 0 };
    this.ended = this.base('reversed', reversedFields(pending, detail));
    let standing = pending;
    try {
      standing = await this.d.sendReversal(this.stan);
    } catch (e) {
      // The reversal is durable: it goes out in the background or at the next boot, whatever failed here.
      this.d.emit({ type: 'reversal-no-answer', stan: this.stan, mti: '0400', attempt: 1, detail: describe(e) });
    }
    this.ended = this.base('reversed', reversedFields(standing, detail));
    return this.ended;
  }

  private async declined(responseCode: string): Promise<TxnResult> {
    // Declined is true whatever reaches the platter: without the outcome the boot reverses it (98), and
    // a reversal of a declined authorization undoes nothing.
    this.ended = this.base('declined', { responseCode });
    await this.tryAppend(TerminalRecord.authOutcome.name, { stan: this.stan, result: 'declined', responseCode, at: this.now() } satisfies AuthOutcome);
    this.step = 'ended';
    if (this.a.chip && responseCode !== NOT_SENT && !['98', 'A0', '06'].includes(responseCode)) {
      const ms = DEVICE_TIMEOUTS.chipCompletionMs;
      const c = await bounded(this.d.clock, ms, () => this.d.reader.completeChip({ arc: responseCode }));
      if (c.kind !== 'ok') this.d.emit({ type: 'device-failed', stan: this.stan, device: 'reader', call: 'second GENERATE AC after a decline', detail: boundedFailure(c, ms) });
    }
    return this.ended;
  }

  private async notSent(detail: string): Promise<TxnResult> {
    // Nothing left the terminal: true whether or not the outcome reaches the platter.
    this.ended = this.base('not-sent', { detail });
    await this.tryAppend(TerminalRecord.authOutcome.name, { stan: this.stan, result: 'declined', responseCode: NOT_SENT, at: this.now() } satisfies AuthOutcome);
    this.step = 'ended';
    return this.ended;
  }

  private approved(receipt: 'printed' | 'pending' | 'none'): TxnResult {
    const i = this.a.intent;
    const ap = this.approval!;
    return {
      kind: 'approved',
      txn: i.kind,
      stan: i.stan,
      batch: i.batch,
      ...(i.requestId !== undefined ? { requestId: i.requestId } : {}),
      amount: i.amount,
      maskedPan: i.maskedPan,
      rrn: ap.rrn,
      ...(ap.authCode !== undefined ? { authCode: ap.authCode } : {}),
      ...(ap.balance !== undefined ? { balance: ap.balance } : {}),
      receipt: i.kind === 'balance' ? 'none' : receipt,
    };
  }

  private plantedSwallow(detail: string): TxnResult {
    return this.base('reversed', reversedFields({ state: 'pending', stan: this.stan, reason: '06', attempts: 0 }, detail));
  }

  private base<K extends 'declined' | 'reversed' | 'not-sent' | 'unknown', R extends object>(kind: K, rest: R) {
    const i = this.a.intent;
    return { kind, txn: i.kind, stan: i.stan, batch: i.batch, ...(i.requestId !== undefined ? { requestId: i.requestId } : {}), ...rest } as unknown as TxnResult;
  }

  private async append(type: string, payload: object, durable = true): Promise<void> {
    try {
      await this.d.journal.append([{ type, payload }], { durable });
    } catch (e) {
      throw new JournalWriteFailed(e);
    }
  }

  /** For outcomes that are true whatever reaches the platter. */
  private async tryAppend(type: string, payload: object): Promise<void> {
    await this.append(type, payload).catch(() => undefined);
  }

  private now(): string {
    return new Date(this.d.clock.now()).toISOString();
  }
}
