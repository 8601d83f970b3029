// 冲正: sends every owed reversal until the acquirer answers it. Each send is journaled (durably) before its
// first byte; the first is a 0400, repeats are 0401; a 0410 answered 00 or 25 clears it durably — one
// answered A0 (the host could not check our MAC) signs on again and sends again, any other code (96 ...)
// counts as a failed attempt. After the policy's attempts in one round the reversal is marked stuck and a
// slip is printed; it is never dropped, and the next round comes after a backoff on the Clock.
import type { AcquirerLink } from '../acquirer/link.js';
import type { Clock } from '../../protocol/io/clock.js';
import { AcquirerLinkError } from '../acquirer/exchange-result.js';
import { ResponseCode, textField } from '../../protocol/iso8583/index.js';
import type { EngineConfig, EngineEvent, ReversalPolicy } from './engine-api.js';
import type { ReceiptPrinter } from './engine-devices.js';
import { TerminalRecord, type ReversalAttempt, type ReversalCleared, type ReversalClosed, type ReversalStuck } from './records.js';
import type { PlantedBugs } from './planted-bugs.js';
import type { TerminalJournal } from './terminal-journal.js';
import type { TxnView } from './txn-history.js';
import { reversalFromImage } from './txn-messages.js';
import { stuckSlipJob } from './txn-receipts.js';

export const DEFAULT_REVERSAL_POLICY: ReversalPolicy = {
  attemptsPerRound: 3,
  backoffMs: 30_000,
  maxBackoffMs: 10 * 60_000,
  refuseSalesWhileStuck: true,
};

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
  /** The transaction a reversal belongs to (its intent holds the reversal image). */
  view(stan: number): TxnView | undefined;
  emit(e: EngineEvent): void;
  /** Test-only planted bugs (planted-bugs.ts); never set outside tests. */
  faults?: PlantedBugs;
}

export type ReversalOutcome = 'cleared' | 'stuck';

export class ReversalSender {
  constructor(private readonly d: ReversalSenderDeps) {}

  /** One round over every owed reversal, oldest first. */
  async round(): Promise<{ cleared: number[]; stuck: number[] }> {
    const cleared: number[] = [];
    const stuck: number[] = [];
    const owed = Object.entries(this.d.journal.state.reversals).sort(([, a], [, b]) => a.seq - b.seq);
    for (const [key] of owed) {
      const stan = Number(key);
      ((await this.send(stan)) === 'cleared' ? cleared : stuck).push(stan);
    }
    return { cleared, stuck };
  }

  /** Up to `attemptsPerRound` sends of one reversal. */
  async send(stan: number): Promise<ReversalOutcome> {
    const { journal, link, config, policy } = this.d;
    const view = this.d.view(stan);
    for (let tries = 0; tries < policy.attemptsPerRound; tries++) {
      const rev = journal.state.reversals[String(stan)];
      if (!rev) return 'cleared';
      if (!view) break;
      if (!(await this.d.ensureSignedOn())) continue;
      const attempt = rev.attempts + 1;
      const mti = rev.attempts === 0 ? '0400' : '0401';
      const payload: ReversalAttempt = { stan, attempt, mti, at: new Date(this.d.clock.now()).toISOString() };
      await journal.append([{ type: TerminalRecord.reversalAttempt.name, payload }], { durable: true });
      this.d.emit({ type: 'reversal-sent', stan, mti, attempt });
      let result;
      try {
        result = await link.exchange(reversalFromImage(view.intent.reversalImage, config.identity, rev.reason, mti === '0401'));
      } catch (e) {
        // No MAC key or a closed link: nothing was sent; the attempt stays counted.
        if (e instanceof AcquirerLinkError) {
          this.d.signedOff();
          continue;
        }
        throw e;
      }
      if (result.kind !== 'response') continue;
      const code = textField(result.message, 39) ?? '';
      if (code === ResponseCode.macError) {
        this.d.signedOff();
        continue;
      }
      // Only an answer that settles the reversal clears it: 00 (reversed now, already reversed, or nothing
      // to reverse) or 25 (the acquirer has no such original). Any other code — 96 system malfunction, a
      // decline — means the acquirer did not act on it: the attempt failed and the reversal stays owed.
      // (Found by `posj sim`: a 0410 answered 96 used to clear it and leave the cardholder debited.)
      if (code !== ResponseCode.approved && code !== ResponseCode.originalNotFound) {
        this.d.emit({ type: 'reversal-refused', stan, responseCode: code });
        continue;
      }
      const cleared: ReversalCleared = { stan, responseCode: code, at: new Date(this.d.clock.now()).toISOString() };
      await journal.append([{ type: TerminalRecord.reversalCleared.name, payload: cleared }], { durable: true });
      this.d.emit({ type: 'reversal-cleared', stan, responseCode: code });
      return 'cleared';
    }
    await this.markStuck(stan, view);
    return 'stuck';
  }

  private async markStuck(stan: number, view: TxnView | undefined): Promise<void> {
    const rev = this.d.journal.state.reversals[String(stan)];
    if (!rev || rev.stuck) return;
    if (this.d.faults?.deleteReversalAfterRetries) {
      // PLANTED BUG (b), test-only: the reversal leaves the open set after its tries, as if deleted.
      const dropped: ReversalClosed = { stan, reason: 'planted bug: dropped after retries', at: new Date(this.d.clock.now()).toISOString() };
      await this.d.journal.append([{ type: TerminalRecord.reversalClosed.name, payload: dropped }], { durable: true });
      return;
    }
    const payload: ReversalStuck = { stan, attempts: rev.attempts, at: new Date(this.d.clock.now()).toISOString() };
    await this.d.journal.append([{ type: TerminalRecord.reversalStuck.name, payload }], { durable: true });
    this.d.emit({ type: 'reversal-stuck', stan, attempts: rev.attempts });
    const slip = await this.d.printer.print(stuckSlipJob(stan, rev, view?.intent, this.d.config, this.d.clock), `reversal-${stan}`);
    if (!slip.printed) this.d.emit({ type: 'slip-not-printed', stan, reason: slip.reason });
  }

  /** Wait before round n (1-based) of failures: backoff doubling up to the cap. */
  backoffFor(failedRounds: number): number {
    const { backoffMs, maxBackoffMs } = this.d.policy;
    return Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, failedRounds - 1));
  }
}
