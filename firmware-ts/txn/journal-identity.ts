// An owed reversal belongs to the terminal its original was sent as. A config naming another terminalId
// while one is owed (a journal copied between terminals, a typo, a key given twice in the config) would
// send it as the wrong terminal — the acquirer answers a reversal of a sale it cannot find 00 or 25, the
// terminal calls it cleared, and the debit stands. So boot refuses it and says what is owed under which ID.
// (An approved sale's image is dropped once it is final, so the open batch alone cannot be checked.)
import type { TerminalState } from './terminal-state.js';

export interface ForeignWork {
  terminalId: string;
  /** STANs with a reversal owed or an authorization in flight, sent as `terminalId`. */
  stans: number[];
}

/** Reversals owed (or to be, in flight) under a terminal ID other than `terminalId`, by that ID; empty when none. */
export function foreignOpenWork(state: TerminalState, terminalId: string): ForeignWork[] {
  const byId = new Map<string, number[]>();
  for (const t of Object.values(state.txns)) {
    const sentAs = t.intent.reversalImage?.['41'];
    if (sentAs === undefined || sentAs === terminalId) continue;
    const owed = t.reversal?.state === 'owed' || t.reversal?.state === 'stuck';
    if (!owed && state.inFlight[t.intent.stan] === undefined) continue;
    byId.set(sentAs, [...(byId.get(sentAs) ?? []), t.intent.stan]);
  }
  return [...byId].map(([id, stans]) => ({ terminalId: id, stans: stans.sort((a, b) => a - b) }));
}

export function foreignWorkReason(found: ForeignWork[], terminalId: string): string {
  const list = found.map((f) => `terminal ${f.terminalId}: STAN ${f.stans.slice(0, 10).map((s) => String(s).padStart(6, '0')).join(', ')}${f.stans.length > 10 ? ` and ${f.stans.length - 10} more` : ''}`).join('; ');
  return `${terminalId} is not the terminal this journal's owed reversals were sent as (${list}): restore that terminalId until the acquirer has answered them, or give this terminal its own journal directory`;
}
