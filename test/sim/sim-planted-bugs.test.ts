// Honesty checks (issues 5 and 8): a simulator that cannot fail proves nothing. Each planted bug — switched
// on only here, through the engine's test-only `faults` dependency — must be caught within 1,000 seeds, by
// the invariant that names what the bug does to the cardholder; the same seed without the bug passes, so
// it is the bug being caught and not noise. The first catching seed of each is listed and asserted: a
// change that makes one harder to find (or finds it by luck elsewhere) shows up here.
import { describe, expect, it } from 'vitest';
import type { SimInvariant } from '../../host-bridge/terminal-sim/sim-checks.js';
import { runSeed } from '../../host-bridge/terminal-sim/simulator.js';
import type { PlantedBugs } from '../../firmware-ts/txn/planted-bugs.js';

const BOUND = 1_000;

interface Planted {
  bug: PlantedBugs;
  /** The first seed (from 1) that catches it today. */
  firstSeed: number;
  /** Any of these must be among the invariants that catch it. */
  caughtBy: SimInvariant[];
}

const CATALOGUE: Record<string, Planted> = {
  '(a) send before the durable write-ahead → a debit the journal never heard of': { bug: { sendBeforeWriteAhead: true }, firstSeed: 4, caughtBy: ['no-phantom-debit', 'stan-unique'] },
  '(b) a reversal deleted after its tries instead of kept stuck → the cardholder stays debited': { bug: { deleteReversalAfterRetries: true }, firstSeed: 14, caughtBy: ['no-phantom-debit'] },
  '(c) a STAN handed out again after a power cut': { bug: { reuseStanAfterCrash: true }, firstSeed: 1, caughtBy: ['stan-unique'] },
  '(d) a device failure after host approval swallowed without reversal → told failed, debited': { bug: { swallowFailureAfterApproval: true }, firstSeed: 3, caughtBy: ['no-failed-debit'] },
  '(e) the reversal attempt count kept only in memory → a repeat goes out as a first 0400': { bug: { reversalAttemptsInMemory: true }, firstSeed: 3, caughtBy: ['reversal-once'] },
  '(f) the intent appended lazily, not durable before the request → a debit lost with the page cache': { bug: { lazyIntent: true }, firstSeed: 3, caughtBy: ['no-phantom-debit', 'stan-unique'] },
  '(g) a late 0210 after the reversal turns the sale back into approved → the reversal given up': { bug: { lateReplyRevivesSale: true }, firstSeed: 173, caughtBy: ['no-phantom-debit', 'no-failed-debit'] },
  '(h) a reversal cleared on a 0410 that is not 00/25 → the debit stands': { bug: { clearOnAnyReversalAnswer: true }, firstSeed: 62, caughtBy: ['no-phantom-debit', 'no-failed-debit'] },
};

async function firstCaught(bugs: PlantedBugs): Promise<{ seed: number; invariants: SimInvariant[] } | null> {
  for (let seed = 1; seed <= BOUND; seed++) {
    const r = await runSeed(seed, { plantedBugs: bugs });
    if (r.violations.length) {
      // Without the bug the same seed is clean.
      const clean = await runSeed(seed);
      expect(clean.violations).toEqual([]);
      return { seed, invariants: [...new Set(r.violations.map((v) => v.invariant))] };
    }
  }
  return null;
}

describe('the simulator catches planted bugs', () => {
  for (const [name, p] of Object.entries(CATALOGUE)) {
    it(`${name} (first caught at seed ${p.firstSeed})`, async () => {
      const caught = await firstCaught(p.bug);
      expect(caught, `not caught within ${BOUND} seeds`).not.toBeNull();
      expect(caught!.seed).toBe(p.firstSeed);
      expect(caught!.invariants.some((i) => p.caughtBy.includes(i)), `caught by ${caught!.invariants.join(', ')}`).toBe(true);
    }, 300_000);
  }
});
