// `posj bench journal --profile` as a user runs it (the built CLI: the profile is a child under --cpu-prof).
// The journal without its file I/O runs beside the journal, and the profile line puts the file I/O at the
// difference of their measured CPU and the profile's shares on the rest, so its parts add up to the
// journal's own figure.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/host-bridge/cli/posj-bench.js');

describe('posj bench journal --profile', () => {
  it('measures the journal with and without file I/O and breaks the difference and the rest down', () => {
    const dir = tmpDir('bench-profile');
    const r = spawnSync(process.execPath, [POSJ, 'bench', 'journal', '--json', '--only', 'journal', '--no-boot', '--profile', '--sales', '200', '--rounds', '1', '--dir', dir], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const sale = (subject: string) => lines.find((l) => l.workload === 'sale' && l.subject === subject) as { cpu_us_per_sale: number } | undefined;
    expect(sale('journal')).toBeDefined();
    expect(sale('journal-no-io')).toBeDefined();
    // Its syncs return at once: none is claimed.
    expect((sale('journal-no-io') as unknown as { syncs_per_sale: number | null }).syncs_per_sale).toBeNull();
    const profile = lines.find((l) => l.workload === 'profile') as { cpu_us_per_sale: number; us_per_sale: Record<string, number>; percent_of_javascript: Record<string, number>; samples: number };
    expect(profile.cpu_us_per_sale).toBe(sale('journal')!.cpu_us_per_sale);
    expect(profile.us_per_sale['file I/O (by difference)']).toBeCloseTo(sale('journal')!.cpu_us_per_sale - sale('journal-no-io')!.cpu_us_per_sale, 1);
    const parts = Object.values(profile.us_per_sale).reduce((a, x) => a + x, 0);
    expect(Math.abs(parts - profile.cpu_us_per_sale)).toBeLessThan(0.1);
    // Enough samples to mean something, and the journal's own parts among them.
    expect(profile.samples).toBeGreaterThan(100);
    expect(Object.keys(profile.percent_of_javascript)).toEqual(expect.arrayContaining(['mac chain', 'fold', 'pci scan']));
  }, 180_000);

  it('refuses --profile without the journal subject, as bad usage', () => {
    const r = spawnSync(process.execPath, [POSJ, 'bench', 'journal', '--only', 'floor', '--no-boot', '--profile', '--sales', '10', '--rounds', '1', '--dir', tmpDir('bench-profile-floor')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--profile breaks the journal');
    expect(r.stdout).toBe('');
  });
});
