// `posj-bridge bench flash [--kib N]` (what `npm run bench:flash` runs): the flash figures as one JSON object.
import type { Command } from 'commander';
import { action } from '../../firmware-ts/cli/exit-codes.js';
import { positiveInt } from '../../firmware-ts/cli/journal-commands.js';

export function registerBenchFlashCommand(bench: Command): void {
  bench
    .command('flash')
    .description('flash over a paced 115200 8N1 line with 10 ms latency each way: goodput on incompressible data, and the real bundle vs its size at line rate (JSON)')
    .option('--kib <n>', 'size of the incompressible image', positiveInt, 256)
    .action(
      action(async (o: { kib: number }) => {
        const { runFlashBench } = await import('../bench/flash-bench.js');
        process.stdout.write(JSON.stringify(await runFlashBench({ root: process.cwd(), incompressibleKiB: o.kib })) + '\n');
      }),
    );
}
