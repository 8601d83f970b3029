// Many seeds, one summary: what `posj sim` and the tests report. Seeds run one after another (each is
// single-threaded and deterministic); only seedsPerMinute depends on the machine.
import { SIM_INVARIANTS, type SimInvariant } from './sim-checks.js';
import { runSeed, type SeedResult, type SimOptions } from './simulator.js';

export interface SimSummary {
  seeds: number;
  firstSeed: number;
  steps: number;
  crashes: number;
  /** Seeds that failed, per invariant (a seed stops at its first failing check). */
  violations: Record<SimInvariant, number>;
  failedSeeds: number[];
  seedsPerMinute: number;
  elapsedMs: number;
}

export interface RunSeedsOptions extends SimOptions {
  firstSeed?: number;
  /** How many seeds; Infinity runs until `stop()` says so. */
  seeds: number;
  /** Called after each seed (progress, failure reports). */
  onSeed?: (r: SeedResult, summary: SimSummary) => void;
  /** Checked between seeds. */
  stop?: () => boolean;
  /** Wall clock for seedsPerMinute (injected so tests need not depend on it). */
  now?: () => number;
}

export function emptySummary(firstSeed: number): SimSummary {
  return {
    seeds: 0,
    firstSeed,
    steps: 0,
    crashes: 0,
    violations: Object.fromEntries(SIM_INVARIANTS.map((n) => [n, 0])) as Record<SimInvariant, number>,
    failedSeeds: [],
    seedsPerMinute: 0,
    elapsedMs: 0,
  };
}

export async function runSeeds(o: RunSeedsOptions): Promise<{ summary: SimSummary; failures: SeedResult[] }> {
  const now = o.now ?? (() => performance.now());
  const first = o.firstSeed ?? 1;
  const summary = emptySummary(first);
  const failures: SeedResult[] = [];
  const t0 = now();
  for (let i = 0; i < o.seeds && !o.stop?.(); i++) {
    const r = await runSeed(first + i, o);
    summary.seeds++;
    summary.steps += r.steps;
    summary.crashes += r.crashes;
    if (r.violations.length) {
      failures.push(r);
      summary.failedSeeds.push(r.seed);
      for (const name of new Set(r.violations.map((v) => v.invariant))) summary.violations[name]++;
    }
    summary.elapsedMs = Math.round(now() - t0);
    summary.seedsPerMinute = summary.elapsedMs > 0 ? Math.round((summary.seeds * 60_000) / summary.elapsedMs) : 0;
    o.onSeed?.(r, summary);
  }
  return { summary, failures };
}

export const totalViolations = (s: SimSummary): number => Object.values(s.violations).reduce((a, b) => a + b, 0);

/** What a failing seed prints: the seed, each invariant broken, the last events, and how to replay it. */
export function formatFailure(r: SeedResult, traceLines = 30): string {
  const lines = [`seed ${r.seed} FAILED ${r.failedAt ?? ''} after ${r.steps} steps and ${r.crashes} power cuts:`];
  for (const v of r.violations.slice(0, 10)) lines.push(`  ${v.invariant}: ${v.detail}`);
  if (r.violations.length > 10) lines.push(`  ... ${r.violations.length - 10} more`);
  lines.push(`  last ${Math.min(traceLines, r.trace.length)} of ${r.events} events:`);
  for (const t of r.trace.slice(-traceLines)) lines.push(`    ${t}`);
  lines.push(`  trace hash ${r.traceHash}`);
  lines.push(`  replay: posj sim --seed ${r.seed}`);
  return lines.join('\n');
}
