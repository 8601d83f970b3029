// Why a reversal is owed, for the log: every reversal event is logged with its STAN and the reason, read from
// the journal's open set. The event that ends a reversal comes after it left that set, so the last reason
// seen is kept until then — and no longer.
import type { ReversalView } from '../txn/engine-api.js';

/** Words for ReversalReason (txn/records.ts). */
const REVERSAL_REASON_WORDS: Record<string, string> = {
  '98': 'no trustworthy reply from the acquirer',
  A0: 'reply failed its MAC check',
  '06': 'the card refused the approval',
};

export class ReversalReasons {
  private readonly seen = new Map<number, string>();

  constructor(private readonly owed: () => readonly Pick<ReversalView, 'stan' | 'reason'>[]) {}

  /** The `reason` field for an engine event (empty for events that are not about one reversal). */
  for(e: { type: string; stan?: number }): { reason?: string } {
    if (!e.type.startsWith('reversal') || e.stan === undefined) return {};
    const owed = this.owed();
    const now = owed.find((v) => v.stan === e.stan);
    const reason = now ? `${now.reason} (${REVERSAL_REASON_WORDS[now.reason] ?? 'reason code'})` : this.seen.get(e.stan);
    // A reversal can leave the set with no event naming it (a supervisor closes it): only what is owed stays.
    for (const stan of this.seen.keys()) if (!owed.some((v) => v.stan === stan)) this.seen.delete(stan);
    if (now && reason) this.seen.set(e.stan, reason);
    return reason ? { reason } : {};
  }

  /** Reasons kept (for the test that nothing accumulates). */
  get kept(): number {
    return this.seen.size;
  }
}
