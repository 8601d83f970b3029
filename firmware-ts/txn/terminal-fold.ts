// The fold the terminal's journal is opened with: the transaction state of terminal-state.ts plus what the
// operator side keeps in the same journal (DESIGN rule 1) — the supervisor password and its failed
// attempts, the settlement under way and the settlement slips still owed. All of it lives in every
// checkpoint, so retention can never take the password or a half-done settlement away with an old segment.
import type { StateMachine } from '../journal/state-machine.js';
import { TerminalRecord, type SettlementDone, type SettlementSlip } from './records.js';
import { applySettlementStep, type SettlementRun, type SettlementStepRecord, type SettlementSummary } from './settlement-records.js';
import { applySlipRecord, oweSlip, type OwedSlip } from './settlement-slip-records.js';
import { applyRollback, type AnchorRollback, type RollbackAlarm } from './rollback-records.js';
import { applyAttempt, applyPasswordSet, emptySupervisorState, type SupervisorAttempt, type SupervisorPasswordSet, type SupervisorState } from './supervisor-records.js';
import { terminalState, type TerminalState } from './terminal-state.js';

export interface OperatorState {
  supervisor: SupervisorState;
  settlementRun: SettlementRun | null;
  lastSettlement: SettlementSummary | null;
  /** Settlement slips not yet printed, oldest first (settlement-slip-records.ts). */
  slipsOwed: OwedSlip[];
  /** A rollback an anchor found, not yet acknowledged by a supervisor: money operations are refused. */
  rollbackAlarm: RollbackAlarm | null;
}

export type TerminalJournalState = TerminalState & OperatorState;

function withOperatorDefaults(s: TerminalState & Partial<OperatorState>): TerminalJournalState {
  s.supervisor ??= emptySupervisorState();
  s.settlementRun ??= null;
  s.lastSettlement ??= null;
  s.slipsOwed ??= [];
  s.rollbackAlarm ??= null;
  return s as TerminalJournalState;
}

export const terminalFold: StateMachine<TerminalJournalState> = {
  initial: () => withOperatorDefaults(terminalState.initial()),

  apply(s, r) {
    terminalState.apply(s, r);
    switch (r.type) {
      case TerminalRecord.supervisorPasswordSet.name:
        applyPasswordSet(s.supervisor, r.payload as SupervisorPasswordSet);
        return;
      case TerminalRecord.supervisorAttempt.name:
        applyAttempt(s.supervisor, r.payload as SupervisorAttempt);
        return;
      case TerminalRecord.settlementStep.name: {
        const p = r.payload as SettlementStepRecord;
        // Settlement messages take their STANs from the one counter, allocated by the record written ahead.
        if ('stan' in p) s.stan = p.stan;
        s.settlementRun = applySettlementStep(s.settlementRun, p);
        return;
      }
      case TerminalRecord.settlementDone.name: {
        const p = r.payload as SettlementDone;
        const run = s.settlementRun;
        if (!run || run.batch !== p.batch) return;
        s.lastSettlement = { batch: run.batch, balanced: p.balanced, terminal: run.terminal, acquirer: run.acquirer ?? run.terminal, uploaded: run.uploaded.length, at: p.at };
        s.settlementRun = null;
        s.slipsOwed = oweSlip(s.slipsOwed, s.lastSettlement);
        return;
      }
      case TerminalRecord.anchorRollback.name:
        s.rollbackAlarm = applyRollback(s, r.payload as AnchorRollback);
        return;
      case TerminalRecord.anchorAcknowledged.name:
        s.rollbackAlarm = null;
        return;
      case TerminalRecord.settlementSlip.name:
        s.slipsOwed = applySlipRecord(s.slipsOwed, r.payload as SettlementSlip, s.lastSettlement);
        return;
    }
  },

  toCheckpoint: (s) => terminalState.toCheckpoint(s),

  // Checkpoints written before the operator state was folded get its empty defaults.
  fromCheckpoint: (snap) => withOperatorDefaults(terminalState.fromCheckpoint(snap)),

  oldestOpenSeq: (s) => terminalState.oldestOpenSeq(s),
};
