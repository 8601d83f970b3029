// The terminal's journal records: what each financial step writes, in the field's own terms. Payloads hold
// only masked PANs and never track data, PIN blocks or CVVs (the journal refuses them, DESIGN rule 6).
import type { RecordSchema } from '../journal/record-types.js';
import { RecordTypes } from '../journal/record-types.js';

export type AuthKind = 'sale' | 'preauth' | 'preauth-completion' | 'preauth-void' | 'void' | 'refund' | 'balance';
export type ReversalReason = '98' | 'A0' | '06';

/** Written with the STAN allocation, durably, before the request's first byte leaves (write-ahead). */
export interface AuthIntent {
  stan: number;
  batch: number;
  kind: AuthKind;
  /** Minor units (fen). */
  amount: number;
  currency: string;
  maskedPan: string;
  entryMode: string;
  at: string;
  /** For void/refund/completion: the original transaction. */
  original?: { stan?: number; rrn?: string; date?: string; authCode?: string };
  /** Everything needed to build the 0400 if no outcome is ever learned; no sensitive data. */
  reversalImage: Record<string, string>;
  /** The client's idempotency key: the same key again returns this transaction's outcome, never a second one. */
  requestId?: string;
}

export interface AuthOutcome {
  stan: number;
  result: 'approved' | 'declined';
  responseCode: string;
  rrn?: string;
  authCode?: string;
  at: string;
}

export interface ReceiptPrinted {
  stan: number;
  copies: 'merchant' | 'customer' | 'both';
  duplicate?: boolean;
  /** The slip was marked 已撤销 / VOIDED: the STAN of the void that stood against it when it printed. */
  voidedBy?: number;
}

/**
 * A sales slip that did not print (the printer said so, threw or timed out); it stays owed. `mayBeOnPaper`
 * says whether any of the job may have reached the paper, so the next job is marked 重打印 / DUPLICATE.
 */
export interface ReceiptNotPrinted {
  stan: number;
  reason: string;
  mayBeOnPaper: boolean;
  at: string;
}

/**
 * The `reason` of a durable `receipt.not-printed` written before a job for a slip the journal says is
 * blank on paper: if a power cut ends that job, boot knows it may have printed and marks the next one.
 */
export const RECEIPT_JOB_STARTED = 'job-started';

export interface ReversalRequired {
  stan: number;
  reason: ReversalReason;
  at: string;
  /** Masked only. Written when the authorization was already approved (06), so the fold still names the card. */
  maskedPan?: string;
}

export interface ReversalAttempt {
  stan: number;
  attempt: number;
  mti: '0400' | '0401';
  at: string;
}

/** The attempt journaled just before could not be sent (no connection, no session): it does not count. */
export interface ReversalNotSent {
  stan: number;
  attempt: number;
  detail: string;
  at: string;
}

export interface ReversalCleared {
  stan: number;
  responseCode: string;
  at: string;
}

export interface ReversalStuck {
  stan: number;
  attempts: number;
  at: string;
}

/** Only a supervisor, with the password and a reason, takes a reversal out of the open set without the acquirer. */
export interface ReversalClosed {
  stan: number;
  reason: string;
  at: string;
}

/** A STAN used by a network message that is not an authorization (sign-on), so it is never handed out twice. */
export interface StanAllocated {
  stan: number;
  purpose: 'sign-on';
  at: string;
}

export interface SettlementStep {
  batch: number;
  step: 'started' | 'totals-sent' | 'upload' | 'batch-end';
  detail?: string;
  at: string;
}

export interface SettlementDone {
  batch: number;
  balanced: boolean;
  nextBatch: number;
  at: string;
}

/**
 * The settlement slip (结算单) on paper. `printing` is written before the job goes to the printer, so a power
 * cut during the job leaves evidence that part of it may be on paper; `printed` ends what is owed;
 * `not-printed` keeps it owed (marked duplicate when any of it may have reached the paper).
 */
export interface SettlementSlip {
  batch: number;
  event: 'printing' | 'printed' | 'not-printed';
  duplicate: boolean;
  mayBeOnPaper?: boolean;
  reason?: string;
  at: string;
}

export const TerminalRecord = {
  authIntent: { name: 'auth.intent', code: 16, version: 1 },
  authOutcome: { name: 'auth.outcome', code: 17, version: 1 },
  receiptPrinted: { name: 'receipt.printed', code: 18, version: 1 },
  receiptNotPrinted: { name: 'receipt.not-printed', code: 33, version: 1 },
  reversalRequired: { name: 'reversal.required', code: 19, version: 1 },
  reversalAttempt: { name: 'reversal.attempt', code: 20, version: 1 },
  reversalCleared: { name: 'reversal.cleared', code: 21, version: 1 },
  reversalStuck: { name: 'reversal.stuck', code: 22, version: 1 },
  reversalClosed: { name: 'reversal.closed', code: 23, version: 1 },
  reversalNotSent: { name: 'reversal.not-sent', code: 26, version: 1 },
  settlementStep: { name: 'settlement.step', code: 24, version: 1 },
  settlementDone: { name: 'settlement.done', code: 25, version: 1 },
  settlementSlip: { name: 'settlement.slip', code: 27, version: 1 },
  anchorRollback: { name: 'anchor.rollback', code: 28, version: 1 },
  anchorAcknowledged: { name: 'anchor.acknowledged', code: 29, version: 1 },
  supervisorPasswordSet: { name: 'supervisor.password-set', code: 40, version: 1 },
  supervisorAttempt: { name: 'supervisor.attempt', code: 41, version: 1 },
  stanAllocated: { name: 'stan.allocated', code: 32, version: 1 },
} as const satisfies Record<string, RecordSchema>;

export function terminalRecordTypes(): RecordTypes {
  return new RecordTypes(Object.values(TerminalRecord));
}
