// `npm run fuzz -- [--target NAME]... [--seconds S] [--runs N] [--seed N] [--json]`: each target for S
// seconds or N executions (whichever ends first), corpus in host-bridge/fuzz/corpus/<target>/ (new coverage
// is added there), findings written to var/fuzz-findings/. `--minimize` rewrites each corpus to the inputs
// that add coverage; `--regress` replays the corpus only; `--no-save` leaves the corpus as it is; `--cost`
// runs the worst-case cost probes.
// Exit 1 when any target has a finding.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PROBES, runProbes } from './cost-probes.js';
import { V8Coverage } from './coverage.js';
import { fuzz, minimizeCorpus, type FuzzStats } from './engine.js';
import { TARGETS } from './targets/index.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', multiple: true },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: String(Number.MAX_SAFE_INTEGER) },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    minimize: { type: 'boolean', default: false },
    regress: { type: 'boolean', default: false },
    cost: { type: 'boolean', default: false },
    'no-save': { type: 'boolean', default: false },
  },
});

const out = (s: string) => process.stdout.write(s + '\n');
if (values.cost) {
  runProbes(PROBES, out);
  process.exit(0);
}

const unknown = (values.target ?? []).filter((t) => !TARGETS.some((x) => x.name === t));
if (unknown.length) {
  process.stderr.write(`unknown target ${unknown.join(', ')}; targets: ${TARGETS.map((t) => t.name).join(', ')}\n`);
  process.exit(2);
}
const chosen = values.target?.length ? TARGETS.filter((t) => values.target!.includes(t.name)) : TARGETS;
const corpusRoot = path.resolve('host-bridge/fuzz/corpus');

let failed = false;
for (const target of chosen) {
  // Coverage counts the target's own compiled sources, never the fuzzer's.
  const own = new V8Coverage((url) => target.covers.some((c) => url.includes(c)));
  const corpusDir = path.join(corpusRoot, target.name);
  if (values.minimize) {
    out(JSON.stringify({ target: target.name, minimized: minimizeCorpus(own, target, corpusDir) }));
    own.close();
    continue;
  }
  const stats: FuzzStats = fuzz({
    coverage: own,
    target,
    corpusDir,
    crashDir: path.resolve('var/fuzz-findings'),
    seed: Number(values.seed),
    maxExecs: Number(values.runs),
    maxMs: Number(values.seconds) * 1000,
    save: !values['no-save'] && !values.regress,
    replayOnly: values.regress,
    rssLimitMb: 1024,
    onProgress: values.json ? undefined : (s) => process.stderr.write(`fuzz ${s.target}: ${s.execs} execs, ${s.execsPerSecond}/s, corpus ${s.corpus}, blocks ${s.coveredBlocks}, findings ${s.findings.length}\n`),
  });
  own.close();
  if (stats.findings.length) failed = true;
  out(values.json ? JSON.stringify(stats) : `${stats.target}: ${stats.execs} execs in ${stats.seconds} s (${stats.execsPerSecond}/s), corpus ${stats.corpus}, ${stats.coveredBlocks} blocks covered, ${stats.findings.length} findings${stats.findings.map((f) => `\n  ${f.key} ×${f.count}\n  input ${f.input.slice(0, 200)}\n${f.stack.replace(/^/gm, '    ')}`).join('')}`);
}
process.exit(failed ? 1 : 0);
