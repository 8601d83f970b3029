// Run counts of the heaviest property tests, scaled down under `npm run mutate` (vitest.mutate.config.ts sets
// POSJ_PROPERTY_RUNS_SCALE): a surviving mutant runs every test that covers it, and 600 power-loss rounds per
// journal survivor made the mutation run take hours. A smaller budget can only let a mutant survive that the
// full budget would kill, so the score it gives is a floor. The suite itself always runs the full count.
export function propertyRuns(full: number): number {
  const scale = Number(process.env.POSJ_PROPERTY_RUNS_SCALE ?? '1');
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`POSJ_PROPERTY_RUNS_SCALE must be in (0, 1], got ${process.env.POSJ_PROPERTY_RUNS_SCALE}`);
  return Math.max(1, Math.round(full * scale));
}
