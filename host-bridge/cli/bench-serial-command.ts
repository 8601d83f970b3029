// `posj-bridge bench serial-abuse [--mb N] [--mode M] [--json]`: the daemon under serial-line garbage, with
// and without a device that reads (host-bridge/bench/serial-abuse.ts). Prints the figures as JSON.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { action, ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { runSerialAbuse, type SerialAbuseOptions } from '../bench/serial-abuse.js';

const POSJ = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../firmware-ts/cli/posj.js');

export function registerBenchSerialCommand(program: Command): void {
  program
    .command('bench-serial-abuse')
    .description('the terminal daemon on socat ptys under megabytes of reader-line garbage: RSS, status latency, recovery (JSON)')
    .option('--mb <n>', 'megabytes of garbage per run', '100')
    .option('--mode <mode>', 'not-reading, reading, or both', 'both')
    .option('--dir <dir>', 'keep the runs (journals, configs, daemon logs) here')
    .option('--posj <file>', 'the terminal CLI to run as the daemon', POSJ)
    .action(
      action(async (opts: { mb: string; mode: string; dir?: string; posj: string }) => {
        const megabytes = Number(opts.mb);
        if (!Number.isInteger(megabytes) || megabytes < 1 || megabytes > 10_000) throw new Error(`--mb ${opts.mb} is not 1..10000`);
        const modes: SerialAbuseOptions['modes'] =
          opts.mode === 'both' ? ['not-reading', 'reading'] : opts.mode === 'not-reading' || opts.mode === 'reading' ? [opts.mode] : [];
        if (modes.length === 0) throw new Error(`--mode ${opts.mode} is not not-reading, reading or both`);
        const out = await runSerialAbuse({ megabytes, modes, posj: opts.posj, ...(opts.dir ? { dir: opts.dir } : {}) });
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return ExitCode.ok;
      }),
    );
}
