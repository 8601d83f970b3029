// CI's fuzz regression (issue 14): every target replays its committed corpus (host-bridge/fuzz/corpus/,
// which keeps every input that once reached new coverage or broke a property), then runs a short,
// seeded, coverage-guided burst. A finding once found stays found: its input is in the corpus or a unit test.
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { V8Coverage } from '../../host-bridge/fuzz/coverage.js';
import { fuzz } from '../../host-bridge/fuzz/engine.js';
import { TARGETS } from '../../host-bridge/fuzz/targets/index.js';

describe('fuzz targets on their corpus', () => {
  for (const target of TARGETS) {
    it(`${target.name}: the corpus replays and a 3,000-input burst finds nothing`, () => {
      const coverage = new V8Coverage((url) => target.covers.some((c) => url.includes(c)));
        const corpusDir = path.resolve('host-bridge/fuzz/corpus', target.name);
        const replay = fuzz({ coverage, target, corpusDir, crashDir: null, seed: 1, maxExecs: 0, maxMs: 60_000, save: false, replayOnly: true });
        expect(replay.findings).toEqual([]);
        expect(replay.corpus).toBeGreaterThan(0);
        const burst = fuzz({ coverage, target, corpusDir, crashDir: null, seed: 7, maxExecs: 3_000, maxMs: 60_000, save: false });
        expect(burst.findings).toEqual([]);
        expect(burst.execs).toBeGreaterThanOrEqual(3_000);
    });
  }
});
