// A worker thread of `posj sim --workers N`: runs the seeds it is handed, one at a time, and posts each
// result back. A seed is deterministic and touches nothing outside its own simulated world, so where it
// runs changes nothing but the wall clock.
import { parentPort } from 'node:worker_threads';
import { runSeed, type SimOptions } from './simulator.js';

export interface SeedTask {
  seed: number;
  options: SimOptions;
}

parentPort!.on('message', (task: SeedTask) => {
  runSeed(task.seed, task.options).then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (e: unknown) => parentPort!.postMessage({ ok: false, seed: task.seed, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
