// `posj bench journal`: the sale workload for journal, floor and SQLite, then the journal's boot figures.
// The bench modules are imported when the command runs, not when posj starts: SQLite is a dev
// dependency, and a terminal running `posj run` must not need it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { action } from './exit-codes.js';
import type { BenchLine } from '../bench/runner.js';

const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
};

interface BenchOptions {
  json?: boolean;
  sales: number;
  rounds: number;
  dir: string;
  boot: boolean;
  tmpfs?: string;
  only?: string;
  profile?: boolean;
}

/** Registers `posj bench journal`; returns the `bench` command so the bench build can add its own subjects. */
export function registerBenchCommands(program: Command): Command {
  const bench = program.command('bench').description('measure this terminal against the physical floor and SQLite');
  bench
    .command('journal')
    .description('sale workload (intent durable, outcome durable, printed lazy) per subject, then journal boot time')
    .option('--json', 'one JSON object per line')
    .option('--sales <n>', 'sales per subject per round', positiveInt('--sales'), 5000)
    .option('--rounds <n>', 'rounds; subjects are interleaved and the median round is reported', positiveInt('--rounds'), 5)
    .option('--dir <dir>', 'directory to run in; its filesystem and block device are what is measured', 'var/bench')
    .option('--no-boot', 'skip the boot measurement')
    .option('--only <subject>', 'run one subject (floor, sqlite or journal)')
    .option('--profile', 'also run the journal without its file I/O, profile that (node --cpu-prof), and break the journal\'s CPU per sale down: file I/O by difference, the rest by the profile\'s shares')
    .option('--tmpfs <dir>', 'also run the sale workload in this tmpfs directory: the CPU-only figure (a sync costs nothing there)')
    .action(
      action(async (opts: BenchOptions) => {
        const { runSaleBench, saleRatios, bootLines } = await import('../bench/runner.js');
        const { benchSubjects } = await import('../bench/subjects.js');
        const { formatBenchTable } = await import('../bench/format.js');
        const { filesystemOf } = await import('../bench/disk-stats.js');
        const dir = path.resolve(opts.dir);
        const all = await benchSubjects();
        const known = all.withoutIo ? [...all.subjects, all.withoutIo] : all.subjects;
        const subjects = opts.only ? known.filter((s) => s.name === opts.only) : all.subjects;
        if (subjects.length === 0) throw new InvalidArgumentError(`--only: no subject named ${opts.only} (${known.map((s) => s.name).join(', ')})`);
        const boot = opts.only && opts.only !== 'journal' ? null : all.boot;
        // --profile: the journal without its file I/O runs beside the journal in the CPU-only run (or the main
        // one), so the profile's shares can be put in microseconds that process.cpuUsage() measured.
        const profiled = opts.profile && all.withoutIo && subjects.some((s) => s.name === 'journal') ? all.withoutIo : null;
        if (opts.profile && !profiled) throw new InvalidArgumentError(all.withoutIo ? `--profile breaks the journal's CPU down: it needs the journal subject, not --only ${opts.only}` : '--profile: this build has no journal subject to profile');
        const progress = (m: string) => process.stderr.write(`bench: ${m}\n`);
        const tmpfs = opts.tmpfs ? path.resolve(opts.tmpfs) : null;
        if (tmpfs) {
          fs.mkdirSync(tmpfs, { recursive: true });
          if (filesystemOf(tmpfs) !== 'tmpfs') throw new InvalidArgumentError(`--tmpfs: ${tmpfs} is not on tmpfs, so its figure would not be CPU-only (try /dev/shm/posj-bench)`);
        }
        const withProfiled = (list: typeof subjects) => (profiled ? [...list, profiled] : list);
        const sale = await runSaleBench({ dir, sales: opts.sales, rounds: opts.rounds, subjects: tmpfs ? subjects : withProfiled(subjects), progress: opts.json ? undefined : progress });
        const cpuOnly = tmpfs ? await runSaleBench({ dir: tmpfs, sales: opts.sales, rounds: opts.rounds, subjects: withProfiled(subjects), progress: opts.json ? undefined : progress }) : [];
        const lines: BenchLine[] = [...sale, ...cpuOnly, ...saleRatios(sale, tmpfs ? cpuOnly : undefined)];
        if (profiled) {
          const { measuredBreakdown, profileJournal } = await import('../bench/cpu-profile.js');
          const where = tmpfs ?? dir;
          const measured = tmpfs ? cpuOnly : sale;
          const cpuOf = (name: string) => measured.find((l) => l.subject === name)?.cpu_us_per_sale as number;
          const b = await profileJournal({ posj: process.argv[1]!, dir: where, sales: opts.sales, subject: profiled.name });
          lines.push({ bench: 'journal', workload: 'profile', fs: filesystemOf(where), sales: opts.sales, ...measuredBreakdown(b, cpuOf('journal'), cpuOf(profiled.name)) });
        }
        if (opts.boot && boot) lines.push(...bootLines(await boot(dir)));
        else if (opts.boot) progress('no journal subject yet (firmware-ts/bench/journal-subject.ts): boot not measured');
        process.stdout.write(opts.json ? lines.map((l) => JSON.stringify(l)).join('\n') + '\n' : formatBenchTable(lines));
      }),
    );
  return bench;
}
