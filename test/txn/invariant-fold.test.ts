// The money checker's own fold of the journal: if it reads a reversal's state or an outcome wrong, every
// invariant built on it is checked against the wrong journal, so its reading is pinned here record by record.
import { describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { foldForChecks } from '../../firmware-ts/txn/invariant-fold.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';

let seq = 0;
const rec = (type: string, payload: unknown): JournalRecord => ({ seq: ++seq, type, payload });
const intent = (stan: number) => rec(TerminalRecord.authIntent.name, { stan, batch: 1, kind: 'sale', amount: 100, requestId: `r-${stan}` });
const outcome = (stan: number, result: string, responseCode: string) => rec(TerminalRecord.authOutcome.name, { stan, result, responseCode, at: '' });
const step = {
  required: (stan: number) => rec(TerminalRecord.reversalRequired.name, { stan, reason: '98', at: '' }),
  stuck: (stan: number) => rec(TerminalRecord.reversalStuck.name, { stan, attempts: 3, at: '' }),
  cleared: (stan: number) => rec(TerminalRecord.reversalCleared.name, { stan, responseCode: '00', at: '' }),
  closed: (stan: number) => rec(TerminalRecord.reversalClosed.name, { stan, reason: 'supervisor', at: '' }),
};
type Step = keyof typeof step;

const reversalAfter = (steps: Step[]) => foldForChecks([intent(1), ...steps.map((s) => step[s](1))]).get('1|1')?.reversal;

describe('invariant fold', () => {
  it('a reversal moves owed → stuck → cleared or closed, and an answered one never reopens', () => {
    // The engine's rule: only an open (owed or stuck) reversal can get stuck, be cleared by a 0410 or closed by a supervisor.
    const cases: [Step[], string | undefined][] = [
      [['required'], 'owed'],
      [['required', 'stuck'], 'stuck'],
      [['required', 'cleared'], 'cleared'],
      [['required', 'stuck', 'cleared'], 'cleared'],
      [['required', 'closed'], 'closed'],
      [['required', 'stuck', 'closed'], 'closed'],
      [['required', 'cleared', 'stuck'], 'cleared'],
      [['required', 'cleared', 'closed'], 'cleared'],
      [['required', 'closed', 'stuck'], 'closed'],
      [['required', 'closed', 'cleared'], 'closed'],
      [['required', 'cleared', 'required'], 'cleared'],
      [['stuck'], undefined],
      [['cleared'], undefined],
      [['closed'], undefined],
    ];
    for (const [steps, state] of cases) expect([steps, reversalAfter(steps)]).toEqual([steps, state]);
  });

  it('the first outcome before any reversal counts; a later one or one after the reversal was raised does not', () => {
    const declinedThenApproved = foldForChecks([intent(1), outcome(1, 'declined', '05'), outcome(1, 'approved', '00')]);
    expect(declinedThenApproved.get('1|1')).toStrictEqual({ batch: 1, stan: 1, kind: 'sale', amount: 100, requestId: 'r-1', outcome: { approved: false, responseCode: '05' } });
    const lateApproval = foldForChecks([intent(1), step.required(1), outcome(1, 'approved', '00')]);
    expect(lateApproval.get('1|1')).toStrictEqual({ batch: 1, stan: 1, kind: 'sale', amount: 100, requestId: 'r-1', reversal: 'owed' });
  });

  it('a field of the wrong type or missing is read as absent, never coerced', () => {
    const records = [
      rec(TerminalRecord.authIntent.name, { stan: 7, batch: '1', amount: '100', kind: 5, requestId: 9 }),
      rec(TerminalRecord.authOutcome.name, { stan: 7, result: 'approved', responseCode: 0 }),
      rec(TerminalRecord.authIntent.name, { stan: 8, batch: 1, amount: 100 }),
    ];
    expect([...foldForChecks(records).values()]).toStrictEqual([
      { batch: NaN, stan: 7, kind: '?', amount: NaN, outcome: { approved: true, responseCode: '' } },
      { batch: 1, stan: 8, kind: '?', amount: 100 },
    ]);
  });

  it('a record naming a STAN no intent holds is ignored', () => {
    const records = [outcome(4, 'approved', '00'), step.required(4), step.cleared(4), intent(1)];
    expect([...foldForChecks(records).entries()]).toStrictEqual([['1|1', { batch: 1, stan: 1, kind: 'sale', amount: 100, requestId: 'r-1' }]]);
  });
});
