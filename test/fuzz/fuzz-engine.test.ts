// The fuzz engine itself: coverage feedback is what finds a deep bug (the same budget without it does not),
// and a block that only accumulated state reaches costs one search, not one per batch.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { V8Coverage } from '../../host-bridge/fuzz/coverage.js';
import { fuzz } from '../../host-bridge/fuzz/engine.js';
import { deepBug, stateful } from './fixtures/deep-bug-target.js';

const emptyCorpus = () => fs.mkdtempSync(path.join(os.tmpdir(), 'posj-fuzz-'));

describe('fuzz engine', () => {
  it('reaches a bug five comparisons deep with coverage feedback, and not without it', () => {
    const run = (wanted: (url: string) => boolean) =>
      fuzz({ coverage: new V8Coverage(wanted), target: deepBug, corpusDir: emptyCorpus(), crashDir: null, seed: 3, maxExecs: 150_000, maxMs: 120_000, save: false });
    const blind = run(() => false);
    expect(blind.findings).toEqual([]);
    expect(blind.execs).toBeGreaterThanOrEqual(150_000);
    const guided = run((url) => url.includes('deep-bug-target'));
    expect(guided.findings.map((f) => f.key)).toEqual(['Error: planted: five bytes deep']);
    expect(guided.findings[0]!.input.startsWith('9f23817f3d')).toBe(true);
    expect(guided.corpus).toBeGreaterThan(5);
  });

  it('a block reached only by the calls before it is searched for once, not after every batch', () => {
    const coverage = new V8Coverage((url) => url.includes('deep-bug-target'));
    let reads = 0;
    const take = coverage.take.bind(coverage);
    coverage.take = () => (reads++, take());
    const s = fuzz({ coverage, target: stateful, corpusDir: emptyCorpus(), crashDir: null, seed: 1, maxExecs: 100_000, maxMs: 120_000, save: false });
    expect(s.findings).toEqual([]);
    // About 100 batches: one read before and one after each, plus the halving searches of the few fresh ones.
    expect(reads).toBeLessThan(300);
  });
});
