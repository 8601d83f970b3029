// The coverage-guided loop. Inputs are mutated from the corpus (structure-aware half the time, bytes the
// rest) and run in batches; after each batch V8's block coverage is read once, and only when the batch ran
// a block never seen before is it halved, and halved again, to find the inputs that did — those join the
// corpus. A coverage read costs 0.5–1 ms (the inspector reports every script): once per input it would cost
// more than the decoders themselves; per batch it is a small fraction, and new coverage is rare once a
// target warms up.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { V8Coverage } from './coverage.js';
import { mutateBytes, Rng } from './mutate.js';
import type { FuzzTarget } from './target.js';

export interface Finding {
  /** Error name and first line of its message: one finding per distinct failure. */
  key: string;
  count: number;
  /** The first input that showed it, as hex. */
  input: string;
  stack: string;
}

export interface FuzzStats {
  target: string;
  execs: number;
  seconds: number;
  execsPerSecond: number;
  corpus: number;
  /** V8 blocks of the target's own source files that some input ran. */
  coveredBlocks: number;
  /** V8 blocks those files have (as V8 reported them): coveredBlocks / knownBlocks is the coverage. */
  knownBlocks: number;
  findings: Finding[];
  peakRssMb: number;
}

export interface FuzzOptions {
  coverage: V8Coverage;
  target: FuzzTarget;
  corpusDir: string;
  /** Where inputs that broke the property are written (one file per finding), or null not to write. */
  crashDir: string | null;
  seed: number;
  maxExecs: number;
  maxMs: number;
  /** Add inputs that found new coverage to corpusDir. */
  save: boolean;
  /** Run only the corpus (and the target's seeds), no mutation: the regression check. */
  replayOnly?: boolean;
  rssLimitMb?: number;
  onProgress?: (s: FuzzStats) => void;
}

const BATCH = 1024;
const RESET_EVERY = 100_000;

export const inputName = (b: Buffer) => createHash('sha1').update(b).digest('hex').slice(0, 16);

export function readCorpus(dir: string): Buffer[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f)));
}

// Decoders refuse most fuzz inputs with a typed error, and capturing each error's stack costs more than the
// decoding (62% of the ESC/POS target's time): inputs run without stacks.
function withStackLimit<T>(limit: number, f: () => T): T {
  const before = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = before;
  }
}

const findingKey = (err: Error) => `${err.name}: ${err.message.split('\n')[0]!.slice(0, 160)}`;

/** Inputs run without stacks: a new finding's input is run once more, with them, to show where it failed. */
function stackOf(target: FuzzTarget, input: Buffer, err: Error): string {
  const again = withStackLimit(10, () => {
    try {
      target.run(input);
    } catch (e) {
      return e instanceof Error && findingKey(e) === findingKey(err) ? e : undefined;
    }
    return undefined;
  });
  return (again?.stack ?? err.stack ?? '').split('\n').slice(0, 6).join('\n');
}

export function fuzz(o: FuzzOptions): FuzzStats {
  return withStackLimit(0, () => fuzzLoop(o));
}

function fuzzLoop(o: FuzzOptions): FuzzStats {
  const { target, coverage } = o;
  const rng = new Rng(o.seed);
  const findings = new Map<string, Finding>();
  const seen = new Set<string>();
  const corpus: Buffer[] = [];
  const started = Date.now();
  let execs = 0;
  let peakRss = 0;
  const dictionary = target.dictionary ?? [];

  const exec = (input: Buffer) => {
    execs++;
    try {
      target.run(input);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const key = findingKey(err);
      const f = findings.get(key);
      if (f) f.count++;
      else {
        findings.set(key, { key, count: 1, input: input.toString('hex'), stack: stackOf(target, input, err) });
        if (o.crashDir) {
          fs.mkdirSync(o.crashDir, { recursive: true });
          fs.writeFileSync(path.join(o.crashDir, `${target.name}-${inputName(input)}`), input);
        }
      }
    }
  };
  const addIfNew = (input: Buffer, fromDisk: boolean) => {
    coverage.take();
    exec(input);
    let fresh = false;
    for (const f of coverage.take()) {
      if (!seen.has(f)) {
        seen.add(f);
        fresh = true;
      }
    }
    if (fresh || fromDisk) corpus.push(input);
    if (fresh && o.save && !fromDisk) {
      fs.mkdirSync(o.corpusDir, { recursive: true });
      fs.writeFileSync(path.join(o.corpusDir, inputName(input)), input);
    }
    return fresh;
  };
  /** Finds the inputs of a batch that ran new blocks by halving it: a few coverage reads, not two per input. */
  const attribute = (inputs: Buffer[]) => {
    if (inputs.length === 1) {
      addIfNew(inputs[0]!, false);
      return;
    }
    coverage.take();
    for (const input of inputs) exec(input);
    let fresh = false;
    for (const f of coverage.take()) if (!seen.has(f)) fresh = true;
    if (!fresh) return;
    const mid = inputs.length >> 1;
    attribute(inputs.slice(0, mid));
    attribute(inputs.slice(mid));
  };
  const stats = (): FuzzStats => {
    const seconds = (Date.now() - started) / 1000;
    return {
      target: target.name,
      execs,
      seconds: Number(seconds.toFixed(1)),
      execsPerSecond: Math.round(execs / Math.max(seconds, 0.001)),
      corpus: corpus.length,
      coveredBlocks: seen.size,
      knownBlocks: coverage.knownBlocks,
      findings: [...findings.values()],
      peakRssMb: Math.round(peakRss / 2 ** 20),
    };
  };

  for (const input of [...target.seeds(), ...readCorpus(o.corpusDir)]) addIfNew(input, true);
  if (o.replayOnly) return stats();

  let lastProgress = Date.now();
  while (execs < o.maxExecs && Date.now() - started < o.maxMs) {
    const batch: Buffer[] = [];
    for (let i = 0; i < BATCH; i++) {
      const base = rng.pick(corpus);
      let input: Buffer | undefined;
      if (target.structured && rng.chance(0.5)) input = target.structured(base, rng);
      if (!input || rng.chance(0.1)) input = mutateBytes(input ?? base, rng, rng.pick(corpus), dictionary, target.maxLen);
      batch.push(input);
    }
    // The structured mutator runs decoders too: its coverage is not the inputs' and is thrown away.
    coverage.take();
    for (const input of batch) exec(input);
    let fresh = false;
    const batchFeatures = coverage.take();
    for (const f of batchFeatures) if (!seen.has(f)) fresh = true;
    if (fresh) {
      attribute(batch);
      // A block that ran in the batch but in none of its parts alone depends on state left by the inputs
      // before it (the acquirer's ledger, say): no single input earns it, and left unseen it would send
      // every later batch through the search again.
      for (const f of batchFeatures) seen.add(f);
    }
    if (execs % (target.resetEvery ?? RESET_EVERY) < BATCH) target.reset?.();
    if (execs % RESET_EVERY < BATCH) {
      const rss = process.memoryUsage().rss;
      peakRss = Math.max(peakRss, rss);
      if (o.rssLimitMb && rss > o.rssLimitMb * 2 ** 20) {
        findings.set('memory', { key: `memory: RSS ${Math.round(rss / 2 ** 20)} MB over ${o.rssLimitMb} MB`, count: 1, input: '', stack: '' });
        break;
      }
    }
    if (o.onProgress && Date.now() - lastProgress > 10_000) {
      lastProgress = Date.now();
      o.onProgress(stats());
    }
  }
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return stats();
}

/** Keeps, smallest first, only the corpus files that add coverage; rewrites the directory with them and the seeds. */
export function minimizeCorpus(coverage: V8Coverage, target: FuzzTarget, dir: string): { before: number; after: number; coveredBlocks: number } {
  const all = [...target.seeds(), ...readCorpus(dir)].sort((a, b) => a.length - b.length || Buffer.compare(a, b));
  const seen = new Set<string>();
  const keep: Buffer[] = [];
  coverage.take();
  for (const input of all) {
    try {
      target.run(input);
    } catch {
      // A failing input is a finding, not corpus.
      coverage.take();
      continue;
    }
    let fresh = false;
    for (const f of coverage.take()) {
      if (!seen.has(f)) {
        seen.add(f);
        fresh = true;
      }
    }
    if (fresh) keep.push(input);
  }
  const before = readCorpus(dir).length;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const input of keep) fs.writeFileSync(path.join(dir, inputName(input)), input);
  return { before, after: keep.length, coveredBlocks: seen.size };
}
