// Shape of `posj bench daemon` on tiny sizes: a real `posj run` process, the lines it prints and that
// every bar carries its measured figure, target and verdict (how fast anything is, is not tested).
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDaemonBench } from '../../host-bridge/daemon-bench/daemon-bench.js';
import { tmpDir } from '../helpers/tmp.js';

describe('posj bench daemon', () => {
  it('prints the terminal-added time, RSS and the history ratios with their bars', async () => {
    const lines = await runDaemonBench({ dir: tmpDir('bench-daemon'), sales: 20, rssSales: 40, histories: [200, 400], tmpfsDir: null, progress: () => undefined, posj: path.resolve('dist/host-bridge/cli/posj-bench.js') });
    const ops = lines.filter((l) => l.figure === 'ops');
    expect(ops.map((l) => l.history_records)).toEqual([200, 400]);
    for (const l of ops) for (const op of ['sale', 'status', 'reprint', 'repeated_request_id'] as const) expect((l[op] as { n: number }).n).toBeGreaterThan(0);
    const bars = lines.filter((l) => 'ratio' in l);
    expect(bars.map((l) => String(l.ratio).split(' ')[0])).toEqual(['sale', 'status', 'reprint', 'void', 'repeated_request_id', 'terminal-added', 'terminal-added', 'rss']);
    for (const b of bars) {
      expect(typeof b.measured).toBe('number');
      expect(Number.isFinite(b.measured)).toBe(true);
      expect(typeof b.target).toBe('string');
      expect(typeof b.met).toBe('boolean');
    }
    expect(lines.find((l) => l.figure === 'rss')?.samples).toEqual([expect.objectContaining({ sales: 40 })]);
    const added = lines.find((l) => String(l.figure).startsWith('terminal-added per sale'))!;
    // The probes' own tail beside the median taken out: at least the median, the tail of the same probes.
    expect(added.sync_probe_p99_ms as number).toBeGreaterThanOrEqual(added.two_syncs_ms as number / 2);
  }, 120_000);
});
