// The money checker's own reading of the journal: a small fold over the records, written from DESIGN.md's
// rules and sharing no code with the engine's lookups (txn-history.ts) or its state (terminal-state.ts), so
// a lifecycle bug in those cannot hide from the checker by being read the same wrong way on both sides.
import type { JournalRecord } from '../journal/state-machine.js';
import { TerminalRecord } from './records.js';

export interface CheckedTxn {
  batch: number;
  stan: number;
  kind: string;
  amount: number;
  requestId?: string;
  /** The first outcome journaled before any reversal (rule 4: a later one never counts). */
  outcome?: { approved: boolean; responseCode: string };
  reversal?: 'owed' | 'stuck' | 'cleared' | 'closed';
}

export const checkedKey = (batch: number, stan: number) => `${batch}|${stan}`;

type Payload = Record<string, unknown>;
const num = (p: Payload, k: string) => (typeof p[k] === 'number' ? (p[k] as number) : NaN);
const str = (p: Payload, k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);

/** Every authorization in the journal by batch|STAN, in journal order. */
export function foldForChecks(records: readonly JournalRecord[]): Map<string, CheckedTxn> {
  const txns = new Map<string, CheckedTxn>();
  // Records after the intent name only the STAN: they belong to the newest intent with it.
  const newest = new Map<number, CheckedTxn>();
  for (const r of records) {
    const p = r.payload as Payload;
    if (r.type === TerminalRecord.authIntent.name) {
      const t: CheckedTxn = { batch: num(p, 'batch'), stan: num(p, 'stan'), kind: str(p, 'kind') ?? '?', amount: num(p, 'amount') };
      const requestId = str(p, 'requestId');
      if (requestId !== undefined) t.requestId = requestId;
      txns.set(checkedKey(t.batch, t.stan), t);
      newest.set(t.stan, t);
      continue;
    }
    const t = newest.get(num(p, 'stan'));
    if (!t) continue;
    switch (r.type) {
      case TerminalRecord.authOutcome.name:
        if (!t.outcome && !t.reversal) t.outcome = { approved: str(p, 'result') === 'approved', responseCode: str(p, 'responseCode') ?? '' };
        break;
      case TerminalRecord.reversalRequired.name:
        t.reversal ??= 'owed';
        break;
      case TerminalRecord.reversalStuck.name:
        if (t.reversal === 'owed') t.reversal = 'stuck';
        break;
      case TerminalRecord.reversalCleared.name:
        if (t.reversal === 'owed' || t.reversal === 'stuck') t.reversal = 'cleared';
        break;
      case TerminalRecord.reversalClosed.name:
        if (t.reversal === 'owed' || t.reversal === 'stuck') t.reversal = 'closed';
        break;
    }
  }
  return txns;
}
