// `posj sim --workers N`: seeds on worker threads, one seed per task, results taken in seed order — the
// summary, the failures and the order onSeed sees them in are the same for 1 and for 3 workers, with a
// planted bug so that there are failures to merge, and with the real device drivers.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSeeds, type RunSeedsOptions } from '../../host-bridge/terminal-sim/sim-run.js';

const WORKER = pathToFileURL(path.resolve('dist/host-bridge/terminal-sim/sim-worker.js'));

async function run(workers: number, o: Partial<RunSeedsOptions>) {
  const order: number[] = [];
  const { summary, failures } = await runSeeds({ seeds: 36, firstSeed: 1, workers, workerUrl: WORKER, onSeed: (r) => order.push(r.seed), ...o });
  const { seedsPerMinute: _spm, elapsedMs: _ms, ...same } = summary;
  return { same, order, failures: failures.map((f) => ({ seed: f.seed, traceHash: f.traceHash, violations: f.violations })) };
}

describe('posj sim on worker threads', () => {
  it('gives the same summary and failures, in seed order, whatever the number of workers', async () => {
    const o = { plantedBugs: { deleteReversalAfterRetries: true } };
    const one = await run(1, o);
    const three = await run(3, o);
    expect(one.failures.length, 'the planted bug is caught').toBeGreaterThan(0);
    expect(three).toEqual(one);
    expect(one.order).toEqual(Array.from({ length: 36 }, (_, i) => i + 1));
  }, 120_000);

  it('the same with the real device drivers over simulated lines', async () => {
    const o = { devices: 'real' as const, seeds: 12 };
    expect(await run(2, o)).toEqual(await run(1, o));
  }, 120_000);
});
