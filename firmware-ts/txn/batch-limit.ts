// The batch limit (交易笔数已满): field 48 of the 0500 counts debits and credits in three digits, so a batch
// must settle before it holds 999 of either, or its settlement cannot be sent (a 1,000th sale made a
// 63-digit field 48 that the terminal's own parser then refused). The limit counts every transaction that
// can add to one of the two counts; at the limit the next one is refused with "settle first", or — when
// automatic settlement is on — the batch is settled first and the transaction goes into the next one.
import type { AuthKind } from './records.js';
import type { TerminalState } from './terminal-state.js';

/** The largest count field 48 can carry (three digits). */
export const FIELD48_MAX_COUNT = 999;

export interface BatchLimitPolicy {
  /** Transactions per batch before settlement is needed; 1..999 (the acquirer may want fewer). Default 999. */
  limit: number;
  /** Settle the full batch before the next transaction instead of refusing it. Default false. */
  autoSettle: boolean;
}

export class BatchLimitConfigError extends Error {
  constructor(detail: string) {
    super(`batch limit: ${detail}`);
    this.name = 'BatchLimitConfigError';
  }
}

export function batchLimitPolicy(p: Partial<BatchLimitPolicy> = {}): BatchLimitPolicy {
  const limit = p.limit ?? FIELD48_MAX_COUNT;
  if (!Number.isInteger(limit) || limit < 1 || limit > FIELD48_MAX_COUNT) {
    throw new BatchLimitConfigError(`limit ${limit} must be a whole number 1..${FIELD48_MAX_COUNT} (field 48 counts in three digits)`);
  }
  return { limit, autoSettle: p.autoSettle ?? false };
}

/** Kinds that add to field 48's debit count (sale, completion) or credit count (refund). */
const COUNTED: ReadonlySet<AuthKind> = new Set(['sale', 'preauth-completion', 'refund']);

/**
 * An upper bound of both of field 48's counts for the open batch (a voided sale still counts here): the
 * batch's approved sales, completions and refunds, which the fold counts in `totals` in step with
 * `batchEntries`, plus those in flight. Not a walk of `batchEntries`: once STANs are large its keys are a
 * dictionary V8 sorts on every listing, over 100 µs for a full batch on every sale.
 */
export function batchCount(state: TerminalState): number {
  let n = state.totals.saleCount + state.totals.refundCount;
  for (const k in state.inFlight) if (COUNTED.has(state.inFlight[k]!.kind)) n++;
  return n;
}

/** Whether a new `kind` would take the open batch past its limit. */
export function batchIsFull(state: TerminalState, kind: AuthKind, policy: BatchLimitPolicy): boolean {
  return COUNTED.has(kind) && batchCount(state) >= policy.limit;
}

export const batchFullDetail = (state: TerminalState, policy: BatchLimitPolicy) =>
  `交易笔数已满，请先结算 (batch ${state.batch} holds ${batchCount(state)} transactions, the limit is ${policy.limit}: settle first)`;
