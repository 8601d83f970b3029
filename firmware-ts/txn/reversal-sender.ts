// 冲正: sends every owed reversal until the acquirer answers it. Each send is journaled (durably) before its
// first byte; the first that leaves the terminal is a 0400, repeats are 0401. A 0410 answered 00 or 25
// clears it durably; A0 (the host could not check our MAC) signs on again; any other code (96, 12 ...),
// a timeout or a reset counts as a failed send. A send that never left the terminal (no connection, no
// session) is journaled as not sent, does not count, and ends this round for it: hammering a dead link
// proves nothing. Sends within a round are spaced on the Clock (doubling); after the policy's sends in one
// round the reversal is marked stuck and a slip is printed — it is never dropped. A round may be given a
// deadline (the time a sale waits on owed reversals): what it leaves is retried in the background.
import type { AcquirerLink } from '../acquirer/link.js';
import type { Clock } from '../../protocol/io/clock.js';
import { AcquirerLinkError } from '../acquirer/exchange-result.js';
import { ResponseCode, textField } from '../../protocol/iso8583/index.js';
import { bounded, boundedFailure, sleep } from './bounded-call.js';
import type { EngineConfig, EngineEvent, ReversalPolicy } from './engine-api.js';
import type { ReceiptPrinter } from './engine-devices.js';
import { TerminalRecord, type AuthIntent, type ReversalReason, type ReversalAttempt, type ReversalCleared, type ReversalClosed, type ReversalNotSent, type ReversalStuck } from './records.js';
import type { PlantedBugs } from './planted-bugs.js';
import type { TerminalJournal } from './terminal-journal.js';
import { reversalFromImage } from './txn-messages.js';
import { stuckSlipJob } from './txn-receipts.js';

export const DEFAULT_REVERSAL_POLICY: ReversalPolicy = {
  attemptsPerRound: 3,
  attemptSpacingMs: 2_000,
  backoffMs: 30_000,
  maxBackoffMs: 10 * 60_000,
  jitter: 0.2,
  preSaleBudgetMs: 5_000,
  refuseSalesWhileStuck: true,
};

/** Longest the printer may take with a stuck-reversal slip before the engine stops waiting for it. */
export const SLIP_PRINT_TIMEOUT_MS = 60_000;

export interface ReversalSenderDeps {
  journal: TerminalJournal;
  link: AcquirerLink;
  clock: Clock;
  printer: ReceiptPrinter;
  config: EngineConfig;
  policy: ReversalPolicy;
  /** Signs on if the session is not live; false when the host cannot be reached. */
  ensureSignedOn(): Promise<boolean>;
  /** The session key is no longer trusted (a 0410 answered A0). */
  signedOff(): void;
  /** The intent of the transaction a reversal belongs to, with its reversal image. */
  intent(stan: number): AuthIntent | undefined;
  emit(e: EngineEvent): void;
  /** Test-only planted bugs (planted-bugs.ts); never set outside tests. */
  faults?: PlantedBugs;
}

/** cleared: answered; stuck: the round's sends are spent (kept, slip printed); owed: not sent, or out of time. */
export type ReversalOutcome = 'cleared' | 'stuck' | 'owed';

export interface RoundResult {
  cleared: number[];
  stuck: number[];
  /** Still owed and not stuck: not sent (link down) or the round's deadline passed. */
  owed: number[];
}

export class ReversalSender {
  /** PLANTED BUG (e), test-only: attempt counts kept here instead of in the journal. */
  private readonly memoryAttempts = new Map<number, number>();

  constructor(private readonly d: ReversalSenderDeps) {}

  /**
   * One round over every owed reversal, oldest first; `deadline` (Clock ms) bounds it. Once one could not be
   * sent or the time is up, the rest stay owed untried (the link is down, or the sale must go ahead).
   */
  async round(deadline?: number): Promise<RoundResult> {
    const r: RoundResult = { cleared: [], stuck: [], owed: [] };
    const owed = Object.entries(this.d.journal.state.reversals).sort(([, a], [, b]) => a.seq - b.seq);
    let goOn = true;
    for (const [key, rev] of owed) {
      const stan = Number(key);
      if (!goOn) {
        (rev.stuck ? r.stuck : r.owed).push(stan);
        continue;
      }
      const outcome = await this.send(stan, deadline);
      r[outcome].push(stan);
      if (outcome === 'owed') goOn = false;
    }
    return r;
  }

  /** Up to `attemptsPerRound` sends of one reversal that leave the terminal, spaced on the Clock. */
  async send(stan: number, deadline?: number): Promise<ReversalOutcome> {
    const { journal, policy, clock } = this.d;
    const intent = this.d.intent(stan);
    const timeLeft = () => (deadline === undefined ? Infinity : deadline - clock.now());
    for (let sent = 0; sent < policy.attemptsPerRound; ) {
      const rev = journal.state.reversals[String(stan)];
      if (!rev) return 'cleared';
      if (!intent) break;
      if (sent > 0) {
        const wait = policy.attemptSpacingMs * 2 ** (sent - 1);
        if (wait >= timeLeft()) return 'owed';
        await sleep(clock, wait);
      }
      if (timeLeft() <= 0) return 'owed';
      const attempt = this.attemptsOf(stan, rev.attempts) + 1;
      if (!(await this.d.ensureSignedOn())) {
        this.d.emit({ type: 'reversal-not-sent', stan, attempt, detail: 'no session with the acquirer (sign-on failed)' });
        return 'owed';
      }
      const answer = await this.attempt(stan, intent, rev.reason, attempt, timeLeft());
      if (answer === 'cleared' || answer === 'not-sent') return answer === 'cleared' ? 'cleared' : 'owed';
      sent++;
    }
    await this.markStuck(stan, intent);
    return 'stuck';
  }

  /** One send: journaled first, then on the wire; what came back. */
  private async attempt(stan: number, intent: AuthIntent, reason: ReversalReason, attempt: number, timeLeft: number): Promise<'cleared' | 'not-sent' | 'failed'> {
    const { journal, link, config, clock } = this.d;
    const mti = attempt === 1 ? '0400' : '0401';
    const at = () => new Date(clock.now()).toISOString();
    if (this.d.faults?.reversalAttemptsInMemory) {
      // PLANTED BUG (e), test-only: the "already tried" count lives in memory and is lost with the process.
      this.memoryAttempts.set(stan, attempt);
    } else {
      const payload: ReversalAttempt = { stan, attempt, mti, at: at() };
      await journal.append([{ type: TerminalRecord.reversalAttempt.name, payload }], { durable: true });
    }
    const request = reversalFromImage(intent.reversalImage, config.identity, reason, mti === '0401');
    const timeoutMs = Number.isFinite(timeLeft) ? Math.max(1, Math.floor(timeLeft)) : undefined;
    const sentAt = clock.now();
    let result;
    try {
      result = await link.exchange(request, timeoutMs !== undefined ? { responseTimeoutMs: timeoutMs } : {});
    } catch (e) {
      if (e instanceof AcquirerLinkError) {
        // No MAC key or a closed link: nothing left the terminal.
        this.d.signedOff();
        await this.notSent(stan, attempt, e.message);
        return 'not-sent';
      }
      // Anything else from the link: we cannot tell whether it was sent, so it counts.
      this.d.emit({ type: 'reversal-no-answer', stan, mti, attempt, detail: e instanceof Error ? e.message : String(e) });
      return 'failed';
    }
    if (result.kind === 'connect-failed') {
      await this.notSent(stan, attempt, result.detail);
      return 'not-sent';
    }
    this.d.emit({ type: 'reversal-sent', stan, mti, attempt });
    if (result.kind !== 'response') {
      if (result.kind === 'mac-failed') this.d.signedOff();
      const detail = result.kind === 'timeout' ? `no 0410 within ${clock.now() - sentAt} ms` : result.kind === 'reset' ? `connection reset (${result.detail})` : 'the 0410 failed its MAC check';
      this.d.emit({ type: 'reversal-no-answer', stan, mti, attempt, detail });
      return 'failed';
    }
    const code = textField(result.message, 39) ?? '';
    if (code === ResponseCode.macError) {
      this.d.signedOff();
      this.d.emit({ type: 'reversal-refused', stan, responseCode: code });
      return 'failed';
    }
    // Only an answer that settles the reversal clears it: 00 (reversed now, already reversed, or nothing
    // to reverse) or 25 (the acquirer has no such original). Any other code — 96 system malfunction, 12 (the
    // original was found but our data differ), a decline — means the acquirer did not act on it.
    // (Found by `posj sim`: a 0410 answered 96 used to clear it and leave the cardholder debited.)
    // PLANTED BUG (h), test-only: any 0410 clears it.
    const settles = code === ResponseCode.approved || code === ResponseCode.originalNotFound || this.d.faults?.clearOnAnyReversalAnswer === true;
    if (!settles) {
      this.d.emit({ type: 'reversal-refused', stan, responseCode: code });
      return 'failed';
    }
    const cleared: ReversalCleared = { stan, responseCode: code, at: at() };
    await journal.append([{ type: TerminalRecord.reversalCleared.name, payload: cleared }], { durable: true });
    this.d.emit({ type: 'reversal-cleared', stan, responseCode: code });
    return 'cleared';
  }

  private async notSent(stan: number, attempt: number, detail: string): Promise<void> {
    this.memoryAttempts.set(stan, attempt - 1);
    if (!this.d.faults?.reversalAttemptsInMemory) {
      const payload: ReversalNotSent = { stan, attempt, detail, at: new Date(this.d.clock.now()).toISOString() };
      await this.d.journal.append([{ type: TerminalRecord.reversalNotSent.name, payload }], { durable: true });
    }
    this.d.emit({ type: 'reversal-not-sent', stan, attempt, detail });
  }

  private attemptsOf(stan: number, journaled: number): number {
    return this.d.faults?.reversalAttemptsInMemory ? (this.memoryAttempts.get(stan) ?? 0) : journaled;
  }

  private async markStuck(stan: number, intent: AuthIntent | undefined): Promise<void> {
    const rev = this.d.journal.state.reversals[String(stan)];
    if (!rev || rev.stuck) return;
    const at = new Date(this.d.clock.now()).toISOString();
    if (this.d.faults?.deleteReversalAfterRetries) {
      // PLANTED BUG (b), test-only: the reversal leaves the open set after its tries, as if deleted.
      const dropped: ReversalClosed = { stan, reason: 'planted bug: dropped after retries', at };
      await this.d.journal.append([{ type: TerminalRecord.reversalClosed.name, payload: dropped }], { durable: true });
      return;
    }
    const attempts = this.attemptsOf(stan, rev.attempts);
    const payload: ReversalStuck = { stan, attempts, at };
    await this.d.journal.append([{ type: TerminalRecord.reversalStuck.name, payload }], { durable: true });
    this.d.emit({ type: 'reversal-stuck', stan, attempts });
    const job = stuckSlipJob(stan, { ...rev, attempts }, intent, this.d.config, this.d.clock);
    const slip = await bounded(this.d.clock, SLIP_PRINT_TIMEOUT_MS, () => this.d.printer.print(job, `reversal-${stan}`));
    if (slip.kind !== 'ok') this.d.emit({ type: 'slip-not-printed', stan, reason: boundedFailure(slip, SLIP_PRINT_TIMEOUT_MS) });
    else if (!slip.value.printed) this.d.emit({ type: 'slip-not-printed', stan, reason: slip.value.reason });
  }

  /** Wait before background round n (1-based) after rounds that left reversals owed: doubling up to the cap, jittered. */
  backoffFor(failedRounds: number, random: () => number): number {
    const { backoffMs, maxBackoffMs, jitter } = this.d.policy;
    const base = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, failedRounds - 1));
    return Math.max(1, Math.round(base * (1 - jitter + 2 * jitter * random())));
  }
}
