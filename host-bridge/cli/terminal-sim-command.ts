// `posj sim` — the deterministic whole-terminal simulator (host-bridge/terminal-sim/): seeds 1..N (or from --first),
// one seed with --seed S (a replay: same seed, same events, same trace hash), or until stopped (--forever,
// what `npm run sim:long` runs). Exit 0 with zero violations, 1 otherwise.
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { Command } from 'commander';
import { action, ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { positiveInt } from '../../firmware-ts/cli/journal-commands.js';
import { formatFailure, runSeeds, totalViolations, type SimSummary } from '../terminal-sim/sim-run.js';
import { runSeed } from '../terminal-sim/simulator.js';

interface SimCliOptions {
  seeds: number;
  seed?: number;
  first: number;
  ops: number;
  forever?: boolean;
  json?: boolean;
  devices: 'ideal' | 'real';
  workers: number;
}

function devicesMode(v: string): 'ideal' | 'real' {
  if (v !== 'ideal' && v !== 'real') throw Object.assign(new Error(`--devices: ideal or real, not ${v}`), { code: 'USAGE' });
  return v;
}

// V8's parallel GC helpers compete with the seed workers for the same cores: on 2 cores one GC thread per
// isolate gave 5% more seeds per minute. The flag is V8's, read when the process starts, so `posj sim`
// with workers runs itself once more under it.
const SINGLE_THREADED_GC = '--single-threaded-gc';

/** This same command in a child Node started with SINGLE_THREADED_GC; resolves to its exit code. */
function underSingleThreadedGc(): Promise<number> {
  // The IPC channel tells the child when this process is gone (killed outright): it then stops as on Ctrl-C
  // instead of running on, orphaned, under --forever.
  const child = spawn(process.execPath, [SINGLE_THREADED_GC, ...process.execArgv, ...process.argv.slice(1)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  // Ctrl-C reaches the child too (same process group) and it stops on its own; a signal sent to this
  // process alone is passed on.
  const pass = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => [sig, sig === 'SIGINT' ? () => {} : pass(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : ExitCode.failed));
    });
  });
}

function progressLine(s: SimSummary): string {
  return `sim: ${s.seeds} seeds (${s.firstSeed}..${s.firstSeed + s.seeds - 1}), ${s.steps} steps, ${s.crashes} power cuts, ${totalViolations(s)} violations, ${s.seedsPerMinute} seeds/min`;
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('deterministic simulation: the real engine and journal on simulated time, disk and network with seeded faults, money invariants checked after every reboot')
    .option('--seeds <n>', 'how many seeds to run', positiveInt, 100)
    .option('--seed <s>', 'run (replay) this one seed and print its trace')
    .option('--first <s>', 'first seed of the range', positiveInt, 1)
    .option('--ops <n>', 'workload operations per seed', positiveInt, 30)
    .option('--forever', 'run seeds until stopped (Ctrl-C), printing progress')
    .option('--json', 'print one JSON object')
    .option('--workers <n>', 'worker threads, one seed per task; results are taken in seed order, so the summary is the same for any number', positiveInt, os.availableParallelism())
    .option('--devices <mode>', 'real: the real reader and printer drivers over simulated serial lines with line faults; ideal: simulated devices in their place', devicesMode, 'ideal')
    .action(
      action(async (o: SimCliOptions) => {
        if (o.seed !== undefined) {
          const seed = Number(o.seed);
          if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw Object.assign(new Error('--seed: a whole number 0..4294967295'), { code: 'USAGE' });
          const r = await runSeed(seed, { ops: o.ops, devices: o.devices });
          const failed = r.violations.length > 0;
          if (o.json) {
            const violations = Object.fromEntries(r.violations.map((v) => [v.invariant, r.violations.filter((x) => x.invariant === v.invariant).length]));
            process.stdout.write(JSON.stringify({ seeds: 1, steps: r.steps, crashes: r.crashes, violations, seedsPerMinute: null, seed: r.seed, traceHash: r.traceHash, events: r.events, failures: r.violations }) + '\n');
          } else if (failed) process.stdout.write(formatFailure(r, 60) + '\n');
          else process.stdout.write(`seed ${r.seed}: ok, ${r.steps} steps, ${r.crashes} power cuts, ${r.events} events\n${r.trace.map((t) => `    ${t}`).join('\n')}\n  trace hash ${r.traceHash}\n`);
          return failed ? ExitCode.failed : ExitCode.ok;
        }
        if (o.workers > 1 && !process.execArgv.includes(SINGLE_THREADED_GC)) return underSingleThreadedGc();
        let stopping = false;
        const onSigint = () => {
          if (stopping) process.exit(ExitCode.failed);
          stopping = true;
        };
        process.on('SIGINT', onSigint);
        // Started by underSingleThreadedGc: its channel closes when that parent dies.
        const onParentGone = () => (stopping = true);
        process.channel?.unref();
        process.on('disconnect', onParentGone);
        let lastProgress = performance.now();
        const long = o.forever || o.seeds > 200;
        const { summary, failures } = await runSeeds({
          seeds: o.forever ? Infinity : o.seeds,
          firstSeed: o.first,
          ops: o.ops,
          devices: o.devices,
          workers: o.workers,
          stop: () => stopping,
          onSeed: (r, s) => {
            if (r.violations.length && !o.json) process.stdout.write(formatFailure(r) + '\n');
            if (long && performance.now() - lastProgress > 2_000) {
              lastProgress = performance.now();
              process.stderr.write(progressLine(s) + '\n');
            }
          },
        });
        process.off('SIGINT', onSigint);
        process.off('disconnect', onParentGone);
        if (o.json) {
          const { seeds, steps, crashes, violations, seedsPerMinute, firstSeed, failedSeeds, elapsedMs } = summary;
          process.stdout.write(JSON.stringify({ devices: o.devices, workers: o.workers, seeds, steps, crashes, violations, seedsPerMinute, firstSeed, failedSeeds, elapsedMs, failures: failures.slice(0, 5).map((f) => ({ seed: f.seed, failedAt: f.failedAt, violations: f.violations.slice(0, 5), trace: f.trace.slice(-20), traceHash: f.traceHash })) }) + '\n');
        } else process.stdout.write(progressLine(summary) + (totalViolations(summary) ? `\nfailed seeds: ${summary.failedSeeds.slice(0, 20).join(', ')}` : '\nok: zero violations') + '\n');
        return totalViolations(summary) === 0 ? ExitCode.ok : ExitCode.failed;
      }),
    );
}
