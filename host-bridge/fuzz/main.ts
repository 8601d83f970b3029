// `npm run fuzz -- --help`: the coverage-guided fuzz targets, one after another or `--jobs N` at a time in
// child processes (one target each, so each has its own coverage session), results in target order.
// Exit 0: no finding; 1: a finding (its input is in var/fuzz-findings/); 2: a usage error.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PROBES, runProbes } from './cost-probes.js';
import { V8Coverage } from './coverage.js';
import { fuzz, minimizeCorpus, type FuzzStats } from './engine.js';
import { TARGETS } from './targets/index.js';

interface Options {
  target?: string[];
  seconds: number;
  runs: number;
  seed: number;
  jobs: number;
  json: boolean;
  minimize: boolean;
  regress: boolean;
  cost: boolean;
  save: boolean;
  list: boolean;
}

const count = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a whole number ≥ 0`);
  return n;
};

const program = new Command('npm run fuzz --')
  .description(
    'Coverage-guided, structure-aware fuzzing of every decoder (serial frames, reader messages, EMV TLV, ISO 8583, ESC/POS, ' +
      'journal segments, control lines, config, the acquirer simulator). Each target runs until --seconds or --runs ends, ' +
      'whichever comes first; inputs that reach new V8 blocks join host-bridge/fuzz/corpus/<target>/, and inputs that break ' +
      "a target's property are written to var/fuzz-findings/. Long runs belong under `nice -n 19`.",
  )
  .addOption(new Option('-t, --target <name...>', `targets to run (default: all): ${TARGETS.map((t) => t.name).join(', ')}`))
  .addOption(new Option('--seconds <s>', 'time per target').default(10).argParser(count('--seconds')))
  .addOption(new Option('--runs <n>', 'executions per target (e.g. 10000000 for the long run)').default(Number.MAX_SAFE_INTEGER, 'no limit').argParser(count('--runs')))
  .addOption(new Option('--seed <n>', 'seed of the mutation generator (a run replays from it)').default(1).argParser(count('--seed')))
  .addOption(new Option('-j, --jobs <n>', 'targets run at once, each in its own process').default(1).argParser(count('--jobs')))
  .option('--json', 'one JSON line of stats per target on stdout', false)
  .option('--regress', 'only replay each corpus (what CI does), no mutation', false)
  .option('--minimize', 'rewrite each corpus to the smallest inputs that keep its coverage', false)
  .option('--no-save', 'leave the corpus as it is (new coverage is not written)')
  .option('--cost', 'run the worst-case cost probes instead (the ISO 8583 FrameReader bar)', false)
  .option('--list', 'list the targets and the sources whose coverage guides each', false)
  .showHelpAfterError('(npm run fuzz -- --help lists the options)')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
program.parse(process.argv);
const o = program.opts<Options>();

const out = (s: string) => process.stdout.write(s + '\n');
const progress = (s: FuzzStats) => process.stderr.write(`fuzz ${s.target}: ${s.execs} execs, ${s.execsPerSecond}/s, corpus ${s.corpus}, blocks ${s.coveredBlocks}/${s.knownBlocks}, findings ${s.findings.length}\n`);

if (o.cost) {
  runProbes(PROBES, out);
  process.exit(0);
}
if (o.list) {
  for (const t of TARGETS) out(`${t.name.padEnd(18)} covers ${t.covers.join(', ')}`);
  process.exit(0);
}
const unknown = (o.target ?? []).filter((t) => !TARGETS.some((x) => x.name === t));
if (unknown.length) {
  process.stderr.write(`unknown target ${unknown.join(', ')}; targets: ${TARGETS.map((t) => t.name).join(', ')}\n`);
  process.exit(2);
}
if (o.jobs < 1) {
  process.stderr.write('--jobs must be at least 1\n');
  process.exit(2);
}
const chosen = o.target?.length ? TARGETS.filter((t) => o.target!.includes(t.name)) : TARGETS;
const corpusRoot = path.resolve('host-bridge/fuzz/corpus');

const report = (stats: FuzzStats) =>
  out(
    o.json
      ? JSON.stringify(stats)
      : `${stats.target}: ${stats.execs} execs in ${stats.seconds} s (${stats.execsPerSecond}/s), corpus ${stats.corpus}, ${stats.coveredBlocks} of ${stats.knownBlocks} blocks covered, peak RSS ${stats.peakRssMb} MB, ${stats.findings.length} findings${stats.findings
          .map((f) => `\n  ${f.key} ×${f.count}\n  input ${f.input.slice(0, 200)}\n${f.stack.replace(/^/gm, '    ')}`)
          .join('')}`,
  );

function runHere(name: string): FuzzStats | undefined {
  const target = TARGETS.find((t) => t.name === name)!;
  // Coverage counts the target's own compiled sources, never the fuzzer's.
  const own = new V8Coverage((url) => target.covers.some((c) => url.includes(c)));
  const corpusDir = path.join(corpusRoot, target.name);
  if (o.minimize) {
    out(JSON.stringify({ target: target.name, minimized: minimizeCorpus(own, target, corpusDir) }));
    return undefined;
  }
  return fuzz({
    coverage: own,
    target,
    corpusDir,
    crashDir: path.resolve('var/fuzz-findings'),
    seed: o.seed,
    maxExecs: o.runs,
    maxMs: o.seconds * 1000,
    save: o.save && !o.regress,
    replayOnly: o.regress,
    rssLimitMb: 1024,
    onProgress: progress,
  });
}

/** One target in a child process: its JSON stats line, or an error naming how the child ended. */
function runChild(name: string): Promise<FuzzStats> {
  const args = [fileURLToPath(import.meta.url), '--target', name, '--json', '--seconds', String(o.seconds), '--runs', String(o.runs), '--seed', String(o.seed)];
  if (!o.save) args.push('--no-save');
  if (o.regress) args.push('--regress');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as FuzzStats);
      } catch {
        reject(new Error(`fuzz target ${name} ended (${signal ?? `exit ${code}`}) without its stats`));
      }
    });
  });
}

async function runAll(): Promise<FuzzStats[]> {
  if (o.jobs === 1 || o.minimize || chosen.length === 1) {
    const all: FuzzStats[] = [];
    for (const t of chosen) {
      const s = runHere(t.name);
      if (s) {
        report(s);
        all.push(s);
      }
    }
    return all;
  }
  const results = new Array<FuzzStats>(chosen.length);
  let next = 0;
  const worker = async () => {
    while (next < chosen.length) {
      const i = next++;
      results[i] = await runChild(chosen[i]!.name);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, chosen.length) }, worker));
  for (const s of results) report(s);
  return results;
}

runAll().then(
  (all) => process.exit(all.some((s) => s.findings.length) ? 1 : 0),
  (e: Error) => {
    process.stderr.write(`fuzz: ${e.message}\n`);
    process.exit(1);
  },
);
