// CI-sized simulation, part 3 of 3: 700 seeds (1401..2100) of the whole terminal under every fault,
// zero violations. Split in three files so vitest runs them on separate workers.
import { expect, it } from 'vitest';
import { formatFailure, runSeeds, totalViolations } from '../../host-bridge/terminal-sim/sim-run.js';

it('700 seeds, zero violations', async () => {
  const { summary, failures } = await runSeeds({ firstSeed: 1401, seeds: 700 });
  expect(failures.map((f) => formatFailure(f))).toEqual([]);
  expect(totalViolations(summary)).toBe(0);
  expect(summary.crashes).toBeGreaterThan(summary.seeds);
}, 120_000);
