// The suites Stryker runs against each mutant of firmware-ts/txn and firmware-ts/journal (`npm run mutate`):
// the fast in-process tests of those folders, settlement, the engine over simulated time and disk, and a
// short simulator run (sim-determinism). Suites that spawn built processes (SIGKILL drills, CLIs) would test
// the unmutated dist/ build, so they are left out. So is the planted-bugs hunt (test/sim/sim-planted-bugs):
// up to 173 seeds per bug, 13 s that every surviving engine mutant would pay again.
//
// What a mutant costs is the suites it runs, so two settings keep the run affordable (host-bridge/fuzz/README.md,
// "Mutation score", has the before/after rates):
// - `isolate: false`: Stryker starts vitest once and re-runs it per mutant; isolated, every file of every
//   mutant run starts a fresh worker and re-imports the engine, journal and simulator (seconds on a busy
//   machine). The mutant is switched at run time (static mutants are ignored), so nothing needs re-importing.
// - the order below, cheapest first: vitest would run the longest file first, and with bail a mutant the
//   first cheap test kills never reaches the simulator. Survivors still run every test that covers them.
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SUITES = [
  'test/txn/supervisor-lockout.test.ts',
  'test/txn/rollback-counters.test.ts',
  'test/txn/txn-snapshot.test.ts',
  'test/txn/bounded-call.test.ts',
  'test/txn/request-id.test.ts',
  'test/txn/operator-fold.test.ts',
  'test/txn/salvage-policy.test.ts',
  'test/daemon/config-online-pin.test.ts',
  'test/txn/request-id-index.test.ts',
  'test/txn/txn-history.test.ts',
  'test/txn/online-pin-step.test.ts',
  'test/txn/txn-receipts.test.ts',
  'test/daemon/settlement-slip-owed.test.ts',
  'test/txn/terminal-state-fold.test.ts',
  'test/txn/reversal-sender.test.ts',
  'test/txn/authorization-end.test.ts',
  'test/txn/settlement-steps.test.ts',
  'test/txn/money-invariants.test.ts',
  'test/txn/invariant-fold.test.ts',
  'test/txn/online-pin-late.test.ts',
  'test/txn/rollback-anchor.test.ts',
  'test/txn/engine-device-faults.test.ts',
  'test/txn/engine-gates.test.ts',
  'test/txn/engine-lookups.test.ts',
  'test/txn/engine-boot.test.ts',
  'test/txn/engine-receipts.test.ts',
  'test/txn/engine-online-pin.test.ts',
  'test/txn/receipt-stan-wrap.test.ts',
  'test/txn/slip-originals.test.ts',
  'test/iso8583/spec-conformance.test.ts',
  'test/txn/lookups-flat.test.ts',
  'test/journal/pin-block-guard.test.ts',
  'test/journal/segment-scan.test.ts',
  'test/journal/salvage-scan.test.ts',
  'test/journal/json-copy.test.ts',
  'test/journal/device-key.test.ts',
  'test/journal/record-reader.test.ts',
  'test/journal/segment-io.test.ts',
  'test/journal/chain.test.ts',
  'test/journal/errors.test.ts',
  'test/journal/synthetic-sales.test.ts',
  'test/journal/verify-report.test.ts',
  'test/journal/space-reserve.test.ts',
  'test/txn/wire-fields.test.ts',
  'test/txn/engine.test.ts',
  'test/txn/batch-limit.test.ts',
  'test/txn/reversal-durability.test.ts',
  'test/journal/format-spec.test.ts',
  'test/journal/open-recovery.test.ts',
  'test/journal/append-recovery.test.ts',
  'test/journal/schema-upgrade.test.ts',
  'test/txn/engine-crash.test.ts',
  'test/settlement/*.test.ts',
  'test/journal/journal-basics.test.ts',
  'test/journal/tamper.test.ts',
  'test/journal/retention.test.ts',
  'test/journal/verified-segments.test.ts',
  'test/journal/full-disk.test.ts',
  'test/journal/repair-plan.test.ts',
  'test/journal/repair-salvage.test.ts',
  'test/journal/crash-recovery.property.test.ts',
  'test/sim/sim-determinism.test.ts',
];

/** Position of a test file in SUITES (a `dir/*.test.ts` entry matches every file of that folder). */
function rank(root: string, file: string): number {
  const rel = path.relative(root, file).split(path.sep).join('/');
  const i = SUITES.findIndex((s) => (s.endsWith('/*.test.ts') ? path.posix.dirname(s) === path.posix.dirname(rel) : s === rel));
  return i < 0 ? SUITES.length : i;
}

class CheapestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    return [...files].sort((a, b) => rank(root, a.moduleId) - rank(root, b.moduleId));
  }
}

export default defineConfig({
  test: {
    include: SUITES,
    // The power-loss property tests at a tenth of their rounds (test/property-runs.ts): the score is then a floor.
    env: { POSJ_PROPERTY_RUNS_SCALE: '0.1' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'threads',
    isolate: false,
    sequence: { sequencer: CheapestFirst },
  },
});
