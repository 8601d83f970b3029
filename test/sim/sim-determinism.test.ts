// A failing seed is only useful if it replays exactly: the same seed gives the same events (hashed over
// every event, not just the tail), whatever ran before it in the process; another seed gives another run.
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../host-bridge/terminal-sim/sim-clock.js';
import { SimTrace } from '../../host-bridge/terminal-sim/sim-trace.js';
import { runSeed } from '../../host-bridge/terminal-sim/simulator.js';

describe('simulated clock', () => {
  it('fires timers in (time, sequence) order, one at a time, and skips cancelled ones', () => {
    const c = new SimClock(1_000);
    const fired: string[] = [];
    c.setTimer(50, () => fired.push('b50'));
    c.setTimer(10, () => {
      fired.push('a10');
      c.setTimer(40, () => fired.push('c50-set-later'));
    });
    c.setTimer(50, () => fired.push('d50'));
    c.setTimer(30, () => fired.push('never')).cancel();
    while (c.runNext());
    expect(fired).toEqual(['a10', 'b50', 'd50', 'c50-set-later']);
    expect(c.now()).toBe(1_050);
    expect(c.nextAt()).toBeNull();
  });
});

describe('trace', () => {
  it('keeps the last events in a ring and hashes all of them', () => {
    let t = 0;
    const a = new SimTrace(() => t, 0, 3);
    const b = new SimTrace(() => t, 0, 3);
    for (const x of ['one', 'two', 'three', 'four']) {
      t += 1_000;
      a.add(x);
      b.add(x === 'one' ? 'ONE' : x);
    }
    expect(a.tail().map((l) => l.trim())).toEqual(['2.000s two', '3.000s three', '4.000s four']);
    expect(a.events).toBe(4);
    // The ring is the same, the runs are not: the hash covers the events that fell out of the ring too.
    expect(a.tail()).toEqual(b.tail());
    expect(a.digest()).not.toBe(b.digest());
  });
});

describe('replay', () => {
  it('same seed → identical trace hash, steps, power cuts and tail; another seed → another run', async () => {
    const first = await runSeed(42);
    await runSeed(7); // whatever ran in between must not matter
    const again = await runSeed(42);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.trace).toEqual(first.trace);
    expect([again.steps, again.crashes, again.events]).toEqual([first.steps, first.crashes, first.events]);
    expect(first.events).toBeGreaterThan(50);
    const other = await runSeed(43);
    expect(other.traceHash).not.toBe(first.traceHash);
  });

  it('a failing seed replays with the same violations and the same trace', async () => {
    const bugs = { plantedBugs: { reuseStanAfterCrash: true } };
    const a = await runSeed(1, bugs);
    const b = await runSeed(1, bugs);
    expect(a.violations.length).toBeGreaterThan(0);
    expect(b.violations).toEqual(a.violations);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.failedAt).toBe(a.failedAt);
  });
});
