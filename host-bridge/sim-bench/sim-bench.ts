// `posj bench sim`: seeds per minute of `posj sim` on every core (issue 13, item 4), with simulated devices
// (the bar: at least 10,000 a minute on 2 cores) and with the real reader and printer drivers (reported).
// Each run is `posj sim --json` in a child, as a user runs it, so its start-up and worker pool are counted.
import { spawn } from 'node:child_process';
import * as os from 'node:os';

export const SEEDS_PER_MINUTE_BAR = 10_000;
/** The bar is stated for this many cores; on another count the figure is reported, not judged. */
export const BAR_CORES = 2;

export interface SimBenchOptions {
  /** The `posj` bench build (dist/host-bridge/cli/posj-bench.js). */
  posj: string;
  seeds: number;
  workers: number;
  progress: (message: string) => void;
}

export type SimBenchLine =
  | { bench: 'sim'; figure: 'seeds per minute'; devices: 'ideal' | 'real'; workers: number; cores: number; seeds: number; seeds_per_minute: number; elapsed_ms: number; violations: number }
  | { bench: 'sim'; ratio: string; measured: number; target: string; met: boolean | null; detail?: string };

interface SimJson {
  seeds: number;
  seedsPerMinute: number;
  elapsedMs: number;
  violations: Record<string, number>;
}

function runSim(o: SimBenchOptions, devices: 'ideal' | 'real'): Promise<SimJson> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [o.posj, 'sim', '--seeds', String(o.seeds), '--workers', String(o.workers), '--devices', devices, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        const r = JSON.parse(out) as SimJson;
        // Exit 1 with violations still has a figure: the violations are reported beside it.
        if (code !== 0 && code !== 1) throw new Error(`exit ${code}`);
        resolve(r);
      } catch (e) {
        reject(new Error(`posj sim --devices ${devices} gave no summary (${e instanceof Error ? e.message : String(e)}): ${out.slice(0, 200)}`));
      }
    });
  });
}

export async function runSimBench(o: SimBenchOptions): Promise<SimBenchLine[]> {
  const cores = os.availableParallelism();
  const lines: SimBenchLine[] = [];
  for (const devices of ['ideal', 'real'] as const) {
    o.progress(`${o.seeds} seeds, ${devices} devices, ${o.workers} workers`);
    const r = await runSim(o, devices);
    const violations = Object.values(r.violations).reduce((a, b) => a + b, 0);
    lines.push({ bench: 'sim', figure: 'seeds per minute', devices, workers: o.workers, cores, seeds: r.seeds, seeds_per_minute: r.seedsPerMinute, elapsed_ms: r.elapsedMs, violations });
    if (devices === 'ideal') {
      const judged = cores === BAR_CORES && o.workers === cores;
      lines.push({
        bench: 'sim',
        ratio: 'seeds per minute, simulated devices, every core',
        measured: r.seedsPerMinute,
        target: `>= ${SEEDS_PER_MINUTE_BAR} on ${BAR_CORES} cores`,
        met: judged ? r.seedsPerMinute >= SEEDS_PER_MINUTE_BAR && violations === 0 : null,
        ...(judged ? {} : { detail: `not judged: the bar is for ${BAR_CORES} cores and ${BAR_CORES} workers; this run had ${cores} cores and ${o.workers} workers` }),
      });
    }
  }
  return lines;
}
