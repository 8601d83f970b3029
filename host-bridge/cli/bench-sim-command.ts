// `posj bench sim`: the simulator's seeds per minute on every core, simulated and real device drivers
// (host-bridge/sim-bench/sim-bench.ts). JSON lines on stdout, progress on stderr.
import * as os from 'node:os';
import type { Command } from 'commander';
import { action } from '../../firmware-ts/cli/exit-codes.js';
import { positiveInt } from '../../firmware-ts/cli/journal-commands.js';

export function registerBenchSimCommand(bench: Command): void {
  bench
    .command('sim')
    .description('posj sim on every core: seeds per minute with simulated devices (the bar) and with the real drivers')
    .option('--seeds <n>', 'seeds per run (a longer run spreads the start-up of the workers)', positiveInt, 3_000)
    .option('--workers <n>', 'worker threads', positiveInt, os.availableParallelism())
    .action(
      action(async (o: { seeds: number; workers: number }) => {
        const { runSimBench } = await import('../sim-bench/sim-bench.js');
        const lines = await runSimBench({ posj: process.argv[1]!, seeds: o.seeds, workers: o.workers, progress: (m) => process.stderr.write(`bench sim: ${m}\n`) });
        process.stdout.write(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      }),
    );
}
