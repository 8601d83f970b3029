// Many seeds, one summary: what `posj sim` and the tests report. Each seed is single-threaded and
// deterministic; with `workers` > 1 seeds run on worker threads, one seed per task, and their results are
// taken in seed order, so the summary (and every onSeed call) is the same whatever the number of workers —
// only seedsPerMinute and elapsedMs depend on the machine.
import { Worker } from 'node:worker_threads';
import { SIM_INVARIANTS, type SimInvariant } from './sim-checks.js';
import { runSeed, type SeedResult, type SimOptions } from './simulator.js';
import type { SeedTask } from './sim-worker.js';

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
  /** Worker threads to run seeds on; 1 (the default) runs them on this thread. */
  workers?: number;
  /** The compiled worker module (sim-worker.js); beside this module by default. */
  workerUrl?: URL;
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
  const take = (r: SeedResult) => {
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
  };
  if ((o.workers ?? 1) > 1) await runOnWorkers(o, first, take);
  else for (let i = 0; i < o.seeds && !o.stop?.(); i++) take(await runSeed(first + i, o));
  return { summary, failures };
}

function simOptionsOf(o: RunSeedsOptions): SimOptions {
  const { ops, crashRate, traceSize, faultScale, devices, plantedBugs } = o;
  return Object.fromEntries(Object.entries({ ops, crashRate, traceSize, faultScale, devices, plantedBugs }).filter(([, v]) => v !== undefined)) as SimOptions;
}

/** Seeds handed to a worker ahead of the one it runs, so it starts the next without waiting for the pool. */
const AHEAD = 2;

/**
 * Hands seeds to the workers, AHEAD at a time, a new one as each result comes back, and takes the results
 * in seed order: a result that arrives early waits for the seeds before it. Once stop() says so no new seed
 * is handed out; the seeds already handed out finish and are taken in order.
 */
function runOnWorkers(o: RunSeedsOptions, first: number, take: (r: SeedResult) => void): Promise<void> {
  const options = simOptionsOf(o);
  const url = o.workerUrl ?? new URL('./sim-worker.js', import.meta.url);
  const workers = Array.from({ length: o.workers! }, () => new Worker(url));
  const done = new Map<number, SeedResult>();
  let handedOut = 0;
  let next = first;
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const finish = (e?: unknown) => {
      if (finished) return;
      finished = true;
      void Promise.all(workers.map((w) => w.terminate())).then(() => (e === undefined ? resolve() : reject(e)));
    };
    const hand = (w: Worker) => {
      if (handedOut >= o.seeds || o.stop?.()) return false;
      const task: SeedTask = { seed: first + handedOut++, options };
      w.postMessage(task);
      return true;
    };
    let busy = 0;
    for (const w of workers) {
      w.on('error', finish);
      w.on('message', (m: { ok: true; result: SeedResult } | { ok: false; seed: number; error: string }) => {
        busy--;
        if (!m.ok) return finish(new Error(`seed ${m.seed} threw on a worker: ${m.error}`));
        done.set(m.result.seed, m.result);
        try {
          for (let r = done.get(next); r; r = done.get(next)) {
            done.delete(next++);
            take(r);
          }
        } catch (e) {
          return finish(e);
        }
        if (hand(w)) busy++;
        else if (busy === 0) finish();
      });
      for (let k = 0; k < AHEAD; k++) if (hand(w)) busy++;
    }
    if (busy === 0) finish();
  });
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
