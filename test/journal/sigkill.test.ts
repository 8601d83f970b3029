// A real process on the real file system, killed with SIGKILL at random moments: every acknowledged
// durable batch must be there intact, no batch partly visible, and the next open needs no help.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { loadOrCreateDeviceKey } from '../../firmware-ts/journal/device-key.js';
import { CRASH_PROBE, killDrill } from '../../firmware-ts/journal/kill-drill.js';
import { tmpDir } from '../helpers/tmp.js';

// The drill runs the compiled probe; vitest resolves this module from source, so point at dist/.
const PROBE = path.resolve('dist/firmware-ts/journal/crash-probe.js');
const KILLS = 210;
const PARALLEL = 3;

describe('journal under SIGKILL (real process, real files, real fsync)', () => {
  it(`survives ${KILLS} kills at random moments`, async () => {
    if (!fs.existsSync(PROBE)) throw new Error(`${PROBE} is missing: run \`npm run build\` first (npm test does)`);
    expect(CRASH_PROBE.endsWith('crash-probe.js')).toBe(true);
    const root = tmpDir('sigkill');
    const loops = Array.from({ length: PARALLEL }, async (_, i) => {
      const dir = path.join(root, `journal-${i}`);
      const keyPath = path.join(root, `journal-${i}.key`);
      loadOrCreateDeviceKey(keyPath, dir);
      const rng = createRng(1000 + i);
      let survived = 0;
      for (let k = 0; k < Math.ceil(KILLS / PARALLEL); k++) {
        const r = await killDrill({ dir, keyPath, afterBatches: 1 + rng.int(40), seed: rng.u32(), segmentBytes: 256 * 1024, probe: PROBE });
        expect(r.violations, `kill ${k}`).toEqual([]);
        survived += r.survivedAcked;
      }
      return survived;
    });
    const survived = (await Promise.all(loops)).reduce((a, b) => a + b, 0);
    expect(survived).toBeGreaterThan(KILLS);
  }, 300_000);
});
