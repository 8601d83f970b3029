// Runs scenarios one after another on one bench (one daemon lifetime where the story allows: the journal and
// the ledger carry on from scenario to scenario). Each scenario starts from a known state — terminal
// powered, acquirer rules empty, network up, device cables plugged (where the bench owns them), printer normal, the default card presented —
// and ends with the money invariants and `posj journal verify`, whatever its own checks said.
import { randomBytes } from 'node:crypto';
import { INVARIANTS, type Scenario, type Step } from './scenario.js';
import { runStep, type RunContext, type StepResult } from './bench-steps.js';
import type { Bench } from './sim-bench.js';
import type { ToldCashier } from '../../firmware-ts/txn/money-invariants.js';

export interface ScenarioResult {
  name: string;
  file: string;
  story: string;
  steps: StepResult[];
  ok: boolean;
  ms: number;
  /** Steps not run after one could not be carried out. */
  skipped: number;
}

export interface BenchReporter {
  scenarioStart?(s: Scenario): void;
  step?(s: Scenario, r: StepResult): void;
  scenarioEnd?(r: ScenarioResult): void;
}

/** The card the reader simulator presents at the start of every scenario (host-bridge/sim/reader-cards.ts). */
export const DEFAULT_CARD = 'unionpay-chip';

async function knownState(b: Bench): Promise<void> {
  if (!b.terminal.powered) await b.terminal.powerRestore();
  await b.acquirer.rules({ rules: [] });
  await b.gate.apply({ kind: 'up' });
  if (b.reader.pluggable) await b.reader.apply({ kind: 'replug' });
  if (b.printer.pluggable) await b.printer.apply({ kind: 'replug' });
  await b.printer.apply({ kind: 'control', lines: ['reset'] });
  await b.reader.apply({ kind: 'control', lines: [`card ${DEFAULT_CARD}`] });
}

const FINAL: Step = { do: 'check', checks: { invariants: INVARIANTS, journalClean: true }, line: 0, title: 'end of scenario' };

export async function runScenarios(bench: Bench, scenarios: readonly Scenario[], reporter: BenchReporter = {}): Promise<ScenarioResult[]> {
  const nonce = randomBytes(3).toString('hex');
  const told: ToldCashier[] = [];
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    reporter.scenarioStart?.(scenario);
    const t0 = Date.now();
    const steps: StepResult[] = [];
    let skipped = 0;
    try {
      await knownState(bench);
    } catch (e) {
      steps.push({ line: 0, what: 'bring the bench to a known state', error: (e as Error).message, judgements: [], evidence: [], ok: false, ms: Date.now() - t0 });
    }
    const ctx: RunContext = { bench, scenario, labels: new Map(), told, receiptsFrom: bench.printer.receiptsSeen().length, nonce, afterRestore: [] };
    const final: Step = { ...FINAL, line: scenario.steps.at(-1)!.line };
    const plan = steps.length ? [] : scenario.steps;
    for (let i = 0; i < plan.length; i++) {
      const r = await runStep(ctx, plan[i]!);
      steps.push(r);
      reporter.step?.(scenario, r);
      if (r.error !== undefined) {
        skipped = plan.length - i - 1;
        break;
      }
    }
    // The money is judged even when a step could not run (the bench may have got halfway through a fault).
    if (bench.terminal.powered || bench.terminal.readableWhileOff) {
      const r = await runStep(ctx, final);
      steps.push(r);
      reporter.step?.(scenario, r);
    }
    const result: ScenarioResult = { name: scenario.name, file: scenario.file, story: scenario.story, steps, ok: steps.every((s) => s.ok) && skipped === 0, ms: Date.now() - t0, skipped };
    results.push(result);
    reporter.scenarioEnd?.(result);
  }
  return results;
}
