// posj sim with the real card-reader and printer drivers over simulated serial lines (issue 8 item 3): a
// seed replays bit for bit.
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../host-bridge/terminal-sim/simulator.js';

describe('posj sim --devices real', () => {
  it('replays a seed exactly, and differs from the ideal devices on the same seed', async () => {
    const a = await runSeed(4242, { devices: 'real' });
    const b = await runSeed(4242, { devices: 'real' });
    const ideal = await runSeed(4242, { devices: 'ideal' });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.events).toBe(b.events);
    expect(ideal.traceHash).not.toBe(a.traceHash);
  });
});
