// Settlement (结算) progress as journal records. Every message of a settlement — the 0500, each 0320 upload,
// the batch end — is written ahead with its STAN before it is sent, and the record after it confirms it, so
// a power cut at any point resumes by re-sending exactly the message that was in flight (same STAN, same
// content) and never skips or repeats a confirmed step.
import type { SettlementStep } from './records.js';

/** Field 48 totals as the journal keeps them (fen as numbers; a batch never nears 2^53 fen). */
export interface TotalsSide {
  debitCount: number;
  debitAmount: number;
  creditCount: number;
  creditAmount: number;
}

export const zeroSide = (): TotalsSide => ({ debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 });

/**
 * `settlement.step` payloads as this build writes them: the base fields plus what the step needs to be
 * resumed. `started` carries the 0500's STAN and the totals it sends (fixed for the whole settlement);
 * `totals-sent` the acquirer's answer; `upload` the STAN of one 0320 and the transaction it uploads;
 * `batch-end` its STAN and the record count.
 */
export type SettlementStepRecord = SettlementStep &
  (
    | { step: 'started'; stan: number; terminal: TotalsSide }
    | { step: 'totals-sent'; balanced: boolean; acquirer: TotalsSide }
    | { step: 'upload'; stan: number; entryStan: number }
    | { step: 'batch-end'; stan: number; records: number }
  );

/** The settlement under way, folded from its step records. */
export interface SettlementRun {
  batch: number;
  step: SettlementStep['step'];
  /** STAN of the message written ahead and not yet confirmed (the one to re-send on resume). */
  stan: number;
  terminal: TotalsSide;
  balanced: boolean | null;
  acquirer: TotalsSide | null;
  /** Transactions (by STAN) whose 0320 upload the acquirer confirmed. */
  uploaded: number[];
  /** The upload written ahead and not yet confirmed. */
  uploading: number | null;
  startedAt: string;
}

/** What the last finished settlement showed; kept for reprinting the report and for `posj status`. */
export interface SettlementSummary {
  batch: number;
  balanced: boolean;
  terminal: TotalsSide;
  acquirer: TotalsSide;
  uploaded: number;
  at: string;
}

export function applySettlementStep(run: SettlementRun | null, p: SettlementStepRecord): SettlementRun | null {
  if (p.step === 'started') {
    return { batch: p.batch, step: 'started', stan: p.stan, terminal: p.terminal, balanced: null, acquirer: null, uploaded: [], uploading: null, startedAt: p.at };
  }
  // A step record of another batch (or with no start seen) is left to the base fold.
  if (!run || run.batch !== p.batch) return run;
  run.step = p.step;
  const confirmUpload = () => {
    if (run.uploading !== null && !run.uploaded.includes(run.uploading)) run.uploaded.push(run.uploading);
    run.uploading = null;
  };
  switch (p.step) {
    case 'totals-sent':
      run.balanced = p.balanced;
      run.acquirer = p.acquirer;
      break;
    case 'upload':
      // Written only after the previous upload's 0330: its arrival confirms that one.
      confirmUpload();
      run.uploading = p.entryStan;
      run.stan = p.stan;
      break;
    case 'batch-end':
      confirmUpload();
      run.stan = p.stan;
      break;
  }
  return run;
}
