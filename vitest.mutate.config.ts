// The suites Stryker runs against each mutant of firmware-ts/txn and firmware-ts/journal (`npm run mutate`):
// the fast in-process tests of those folders, settlement, the engine over simulated time and disk, and a
// short simulator run (planted bugs, determinism). Suites that spawn built processes (SIGKILL drills, CLIs)
// would test the unmutated dist/ build, so they are left out.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/txn/engine.test.ts',
      'test/txn/engine-crash.test.ts',
      'test/txn/money-invariants.test.ts',
      'test/txn/batch-limit.test.ts',
      'test/txn/wire-fields.test.ts',
      'test/txn/reversal-durability.test.ts',
      'test/settlement/*.test.ts',
      'test/journal/journal-basics.test.ts',
      'test/journal/crash-recovery.property.test.ts',
      'test/journal/retention.test.ts',
      'test/journal/schema-upgrade.test.ts',
      'test/journal/tamper.test.ts',
      'test/journal/format-spec.test.ts',
      'test/sim/sim-planted-bugs.test.ts',
      'test/sim/sim-determinism.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
