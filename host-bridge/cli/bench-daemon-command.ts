// `posj bench daemon`: the daemon's own cost per sale, and sales and lookups with 1k and 1M records of
// history (host-bridge/daemon-bench/daemon-bench.ts). JSON lines on stdout, progress on stderr.
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { action } from '../../firmware-ts/cli/exit-codes.js';

const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
};

const histories = (value: string) => {
  // "none": only the terminal-added and RSS runs (a 100,000-sale RSS run is long enough alone).
  if (value === 'none') return [];
  const xs = value.split(',').map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new InvalidArgumentError('--history takes record counts separated by commas');
  return xs;
};

export function registerBenchDaemonCommand(bench: Command): void {
  bench
    .command('daemon')
    .description('posj run with an acquirer answering at once: time the terminal adds per sale, RSS over a long run, sale and lookups with little and much history')
    .option('--sales <n>', 'timed sales per history size (and on tmpfs)', positiveInt('--sales'), 2_000)
    .option('--rss-sales <n>', 'sales of the long run that samples RSS', positiveInt('--rss-sales'), 100_000)
    .option('--history <list>', 'records of history to compare ("none" to skip)', histories, [1_000, 1_000_000])
    .option('--dir <dir>', 'directory to run in (its filesystem is the one measured)', 'var/bench')
    .option('--tmpfs <dir>', 'a tmpfs directory for the CPU-only run ("none" to skip)', '/dev/shm/posj-bench')
    .option('--cpu-prof <dir>', 'run each posj run under node --cpu-prof, its .cpuprofile written here when it stops')
    .action(
      action(async (o: { sales: number; rssSales: number; history: number[]; dir: string; tmpfs: string; cpuProf?: string }) => {
        const { runDaemonBench } = await import('../daemon-bench/daemon-bench.js');
        const lines = await runDaemonBench({
          dir: path.resolve(o.dir),
          sales: o.sales,
          rssSales: o.rssSales,
          histories: o.history,
          tmpfsDir: o.tmpfs === 'none' ? null : o.tmpfs,
          ...(o.cpuProf ? { cpuProfDir: path.resolve(o.cpuProf) } : {}),
          progress: (m) => process.stderr.write(`bench daemon: ${m}\n`),
        });
        process.stdout.write(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      }),
    );
}
