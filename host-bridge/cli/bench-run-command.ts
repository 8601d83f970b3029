// `posj-bridge bench run SCENARIO... [--bench BENCH.yaml] [--junit FILE] [--json] [--dir DIR]`: runs bench
// scenarios (host-bridge/bench/scenarios/*.yaml) against a terminal and says whether money was lost. Every
// scenario file is checked before anything starts (a mistake is file:line: key: reason, exit 2). Exit 0
// only when every assertion of every scenario held, 1 otherwise.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { action, ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { loadScenario, type Scenario } from '../bench/scenario.js';
import { runScenarios } from '../bench/bench-runner.js';
import { jsonReport, junitXml, narrationLines, stepLines, summaryText, verdictText } from '../bench/bench-report.js';
import { startSimulatedBench } from '../bench/sim-bench.js';
import { startRealBench } from '../bench/real-bench.js';
import { loadBenchFile } from '../bench/bench-file.js';

/**
 * Scenario arguments: files, or directories whose *.yaml files run in name order. A directory without one
 * is bad usage: a wrong path in CI must not build a bench, run nothing and pass.
 */
export function scenarioFiles(args: readonly string[]): string[] {
  return args.flatMap((a) => {
    if (fs.existsSync(a) && fs.statSync(a).isDirectory()) {
      const files = fs
        .readdirSync(a)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => path.join(a, f));
      if (files.length === 0) throw Object.assign(new Error(`${a}: a directory with no scenario files (*.yaml, *.yml) in it; give scenario files or a directory of them, e.g. host-bridge/bench/scenarios`), { code: 'USAGE' });
      return files;
    }
    return [a];
  });
}

interface RunOpts {
  bench?: string;
  junit?: string;
  json?: boolean;
  dir?: string;
  receipts?: string;
  narrate?: boolean;
}

export function registerBenchRunCommand(bench: Command): void {
  bench
    .command('run')
    .description('run bench scenarios (YAML) against a terminal: without --bench on a simulated bench of separate processes; JUnit and a readable summary')
    .argument('<scenario...>', 'scenario files, or directories of them (e.g. host-bridge/bench/scenarios)')
    .option('--bench <file>', 'bench file of a real bench (YAML: terminal service port, power relay on/off commands, acquirer listen address and ledger, reader and printer simulator ports)')
    .option('--junit <file>', 'write a JUnit XML report here')
    .option('--json', 'print the results as one JSON object instead of the summary')
    .option('--dir <dir>', 'where the simulated bench keeps journal, ledger, receipts and logs (default: a new temp dir); reused, the journal and ledger carry on')
    .option('--receipts <dir>', 'where the printer simulator writes receipt-NNNN.svg / .txt (default DIR/receipts)')
    .option('--narrate', 'tell each step in the scenario\'s words and end with the verdict and the receipts printed (what npm start shows)')
    .action(
      action(async (args: string[], o: RunOpts) => {
        const scenarios: Scenario[] = scenarioFiles(args).map(loadScenario);
        const benchFile = o.bench ? loadBenchFile(o.bench) : null;
        const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'posj-bench-'));
        // A run that flashes needs the terminal on firmware slots with its service port: the simulated bench builds it so.
        const flashes = scenarios.some((s) => s.steps.some((st) => st.do === 'flash'));
        const b = benchFile ? await startRealBench(benchFile, dir) : await startSimulatedBench(dir, { ...(o.receipts ? { receiptsDir: o.receipts } : {}), ...(flashes ? { firmware: true } : {}) });
        const say = (s: string) => !o.json && process.stdout.write(s + '\n');
        say(b.description.join('\n'));
        const receiptsBefore = b.printer.receiptsSeen().length;
        let results;
        try {
          results = await runScenarios(b, scenarios, {
            scenarioStart: (s) => say(o.narrate ? `\n${s.story}` : `\n== ${s.name} (${s.file})${s.story ? `\n   ${s.story}` : ''}`),
            step: (_s, r) => say((o.narrate ? narrationLines(r) : stepLines(r)).join('\n')),
          });
        } finally {
          await b.close();
        }
        if (o.junit) fs.writeFileSync(o.junit, junitXml(results));
        const printed = b.printer.receiptsSeen().slice(receiptsBefore).map((r) => `${path.relative(process.cwd(), r.svg) || r.svg}  ${r.label}`);
        if (o.json) process.stdout.write(JSON.stringify(jsonReport(results)) + '\n');
        else if (o.narrate) say(verdictText(results, printed) + `\nthe daemon's log: ${path.join(b.dir, 'logs', 'posj.log')}`);
        else say('\n' + summaryText(results, ['== summary', ...b.description]) + `\nreceipts (SVG) under ${b.receiptsDir}; logs under ${path.join(b.dir, 'logs')}`);
        return results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
      }),
    );
}
