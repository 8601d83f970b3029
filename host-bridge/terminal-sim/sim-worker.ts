// A worker thread of `posj sim --workers N`: runs the seeds it is handed, one at a time, and posts each
// result back. A seed is deterministic and touches nothing outside its own simulated world, so where it
// runs changes nothing but the wall clock.
import { parentPort } from 'node:worker_threads';
import { runSeed, type SimOptions } from './simulator.js';

export interface SeedTask {
  seed: number;
  options: SimOptions;
}

// Tasks are queued and run one after another: the pool hands out the next seed before this one ends, so
// the thread never waits for a round trip, and two seeds never interleave on one event loop.
const queue: SeedTask[] = [];
let running = false;

async function drain(): Promise<void> {
  running = true;
  for (let task = queue.shift(); task; task = queue.shift()) {
    try {
      parentPort!.postMessage({ ok: true, result: await runSeed(task.seed, task.options) });
    } catch (e) {
      parentPort!.postMessage({ ok: false, seed: task.seed, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }
  running = false;
}

parentPort!.on('message', (task: SeedTask) => {
  queue.push(task);
  if (!running) void drain();
});
