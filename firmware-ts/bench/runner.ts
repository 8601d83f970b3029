// Runs the "sale" workload for every subject in one directory (so on one filesystem and device), in
// rounds that interleave the subjects, so a burst of machine noise hits all of them rather than one.
// Only sale() is timed; open (preallocation, schema) and close happen off the clock. Device bytes are
// read from /proc/diskstats after a `sync` before and after the timed loop.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchSubject, BootResult } from './subject.js';
import { filesystemOf, flushAll, probeDevice } from './disk-stats.js';

export interface SaleBenchOptions {
  /** Runs happen in a fresh subdirectory of this, removed afterwards. */
  dir: string;
  /** Sales per subject per round. */
  sales: number;
  rounds: number;
  subjects: BenchSubject[];
  /** Unmeasured sales per subject before round 1, so the first round does not pay for JIT warm-up. */
  warmup?: number;
  /** Progress messages (stderr); stdout carries only the result lines. */
  progress?: (message: string) => void;
}

export interface SaleLine {
  bench: 'journal';
  workload: 'sale';
  subject: string;
  /** Median over rounds. */
  us_per_sale: number;
  /** CPU time (user + system, process.cpuUsage) per sale, median over rounds: the subject's own work, syncs' kernel time included. */
  cpu_us_per_sale: number;
  /** fdatasync/fsync per sale (the journal's background segment fill included), or null when the subject cannot count them. */
  syncs_per_sale: number | null;
  /** Which filesystem: the bench directory's, or tmpfs (the CPU-only figure: syncs cost nothing there). */
  fs: 'disk' | 'tmpfs';
  /** Median over rounds; null when the filesystem has no measurable block device (see device_note). */
  device_bytes_per_sale: number | null;
  rounds: number;
  /** Sales measured in total (rounds × sales per round). */
  sales: number;
  us_per_sale_rounds: number[];
  device: string | null;
  device_note?: string;
  detail: string;
}

export type BootLine = BootResult & { bench: 'journal'; workload: 'boot' };

/**
 * `--profile`: the journal's CPU per sale (process.cpuUsage) by category: file I/O by difference from the
 * journal without it, the rest by the profile's shares of that JavaScript (cpu-profile.ts).
 */
export interface ProfileLine {
  bench: 'journal';
  workload: 'profile';
  fs: 'disk' | 'tmpfs';
  sales: number;
  samples: number;
  cpu_us_per_sale: number;
  us_per_sale: Record<string, number>;
  percent_of_javascript: Record<string, number>;
}

export type BenchLine = SaleLine | RatioLine | BootLine | ProfileLine;

export interface RatioLine {
  bench: 'journal';
  workload: 'sale' | 'boot';
  ratio: string;
  [figure: string]: unknown;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

export function median(xs: number[]): number {
  if (xs.length === 0) throw new RangeError('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function timedSales(subject: BenchSubject, dir: string, sales: number, probe: ReturnType<typeof probeDevice>) {
  fs.mkdirSync(dir, { recursive: true });
  await subject.open(dir, { sales });
  try {
    let before = 0;
    if (probe.ok) {
      flushAll();
      before = probe.probe.sectorsWritten();
    }
    const syncs0 = subject.syncs?.() ?? null;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < sales; i++) await subject.sale(i);
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const syncs = syncs0 === null ? null : (subject.syncs!() - syncs0) / sales;
    let deviceBytes: number | null = null;
    if (probe.ok) {
      flushAll();
      deviceBytes = (probe.probe.sectorsWritten() - before) * 512;
    }
    return { usPerSale: elapsedNs / 1000 / sales, cpuUsPerSale: (cpu.user + cpu.system) / sales, syncsPerSale: syncs, deviceBytesPerSale: deviceBytes === null ? null : deviceBytes / sales };
  } finally {
    await subject.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function runSaleBench(opts: SaleBenchOptions): Promise<SaleLine[]> {
  const { sales, rounds, subjects } = opts;
  if (!Number.isInteger(sales) || sales < 1) throw new RangeError(`sales must be a positive integer, got ${sales}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  if (new Set(subjects.map((s) => s.name)).size !== subjects.length) throw new Error('bench subjects need distinct names');
  const log = opts.progress ?? (() => {});

  fs.mkdirSync(opts.dir, { recursive: true });
  const runDir = fs.mkdtempSync(path.join(opts.dir, 'run-'));
  const probe = probeDevice(runDir);
  // Read from the filesystem, not assumed from how the run was asked for: `--dir /dev/shm` is tmpfs too.
  const filesystem = filesystemOf(runDir);
  log(probe.ok ? `measuring device ${probe.probe.device} under ${runDir}` : `device bytes not measured: ${probe.reason}`);
  const noProbe = { ok: false, reason: 'warm-up' } as const;
  const times = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const cpus = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const syncCounts = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const bytes = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  try {
    const warmup = Math.min(opts.warmup ?? 200, sales);
    for (const s of subjects) if (warmup > 0) await timedSales(s, path.join(runDir, `${s.name}-warmup`), warmup, noProbe);
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no subject always runs first (cold) or last.
      const order = subjects.map((_, k) => subjects[(k + r) % subjects.length]!);
      for (const s of order) {
        const m = await timedSales(s, path.join(runDir, `${s.name}-r${r}`), sales, probe);
        times.get(s.name)!.push(m.usPerSale);
        cpus.get(s.name)!.push(m.cpuUsPerSale);
        if (m.syncsPerSale !== null) syncCounts.get(s.name)!.push(m.syncsPerSale);
        if (m.deviceBytesPerSale !== null) bytes.get(s.name)!.push(m.deviceBytesPerSale);
        log(`round ${r + 1}/${rounds} ${s.name}: ${m.usPerSale.toFixed(1)} us/sale${m.deviceBytesPerSale === null ? '' : `, ${Math.round(m.deviceBytesPerSale)} device B/sale`}`);
      }
    }
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }

  return subjects.map((s) => {
    const b = bytes.get(s.name)!;
    return {
      bench: 'journal',
      workload: 'sale',
      subject: s.name,
      us_per_sale: round(median(times.get(s.name)!), 2),
      cpu_us_per_sale: round(median(cpus.get(s.name)!), 2),
      syncs_per_sale: syncCounts.get(s.name)!.length ? round(median(syncCounts.get(s.name)!), 3) : null,
      fs: filesystem,
      device_bytes_per_sale: b.length ? round(median(b), 1) : null,
      rounds,
      sales: sales * rounds,
      us_per_sale_rounds: times.get(s.name)!.map((t) => round(t, 2)),
      device: probe.ok ? probe.probe.device : null,
      ...(probe.ok ? {} : { device_note: probe.reason }),
      detail: s.detail,
    };
  });
}

// Targets from issue 13: journal ≤ 1.15 × floor and ≤ 0.8 × sqlite in time, ≤ 1.1 × floor in device bytes,
// journal CPU ≤ 15 µs per sale (this machine), and the floor's two syncs per sale.
const SALE_TARGETS: Record<string, { us_per_sale: number; device_bytes_per_sale?: number }> = {
  floor: { us_per_sale: 1.15, device_bytes_per_sale: 1.1 },
  sqlite: { us_per_sale: 0.8 },
};
const JOURNAL_CPU_US = 15;
const JOURNAL_SYNCS = 2;

/**
 * journal/floor and journal/sqlite, when those subjects ran. The CPU bar is judged on `cpuOnly` (the same
 * workload on tmpfs) when given: on a disk, process.cpuUsage also counts the kernel's work inside fdatasync,
 * which the floor pays as much as the journal.
 */
export function saleRatios(lines: SaleLine[], cpuOnly?: SaleLine[]): RatioLine[] {
  const journal = lines.find((l) => l.subject === 'journal');
  if (!journal) return [];
  const floor = lines.find((l) => l.subject === 'floor');
  const out: RatioLine[] = [];
  for (const base of lines) {
    const target = SALE_TARGETS[base.subject];
    if (!target) continue;
    const us = journal.us_per_sale / base.us_per_sale;
    const dev = journal.device_bytes_per_sale !== null && base.device_bytes_per_sale ? journal.device_bytes_per_sale / base.device_bytes_per_sale : null;
    const meets = us <= target.us_per_sale && (target.device_bytes_per_sale === undefined || (dev !== null && dev <= target.device_bytes_per_sale));
    out.push({
      bench: 'journal',
      workload: 'sale',
      ratio: `journal/${base.subject}`,
      us_per_sale: round(us, 3),
      device_bytes_per_sale: dev === null ? null : round(dev, 3),
      target_us_per_sale: target.us_per_sale,
      ...(target.device_bytes_per_sale === undefined ? {} : { target_device_bytes_per_sale: target.device_bytes_per_sale }),
      // What no journal can beat: the floor's own time against this subject (the syncs alone).
      ...(floor && base !== floor ? { floor_us_per_sale: round(floor.us_per_sale / base.us_per_sale, 3) } : {}),
      meets,
    });
  }
  const cpuJournal = cpuOnly?.find((l) => l.subject === 'journal') ?? journal;
  const cpuFloor = cpuJournal === journal ? floor : cpuOnly?.find((l) => l.subject === 'floor');
  out.push({
    bench: 'journal',
    workload: 'sale',
    ratio: 'journal cpu',
    fs: cpuJournal.fs,
    cpu_us_per_sale: cpuJournal.cpu_us_per_sale,
    ...(cpuFloor ? { floor_cpu_us_per_sale: cpuFloor.cpu_us_per_sale } : {}),
    target_cpu_us_per_sale: JOURNAL_CPU_US,
    meets: cpuJournal.cpu_us_per_sale <= JOURNAL_CPU_US,
  });
  // Within 1% of two: the background fill of the next segment adds one sync per segment (~1,000 sales).
  const syncs = journal.syncs_per_sale;
  out.push({ bench: 'journal', workload: 'sale', ratio: 'journal syncs', syncs_per_sale: syncs, target_syncs_per_sale: JOURNAL_SYNCS, meets: syncs !== null && Math.abs(syncs - JOURNAL_SYNCS) <= 0.02 * JOURNAL_SYNCS });
  return out;
}

// Boot targets from issue 13: ≤ 40 ms at the largest history, ≤ 1.5 × the smallest history's figure, and the
// heap after boot flat in history (≤ 1.2 × the smallest's).
const BOOT_MAX_MS = 40;
const BOOT_GROWTH = 1.5;
const HEAP_GROWTH = 1.2;

/** Boot result lines, plus the largest/smallest history ratio when there are at least two sizes. */
export function bootLines(results: BootResult[]): (BootLine | RatioLine)[] {
  const lines: (BootLine | RatioLine)[] = results.map((r) => ({
    bench: 'journal',
    workload: 'boot',
    ...r,
    boot_ms: round(r.boot_ms, 2),
    heap_mb: round(r.heap_mb, 2),
  }));
  if (results.length >= 2) {
    const bySize = [...results].sort((a, b) => a.history_records - b.history_records);
    const small = bySize[0]!;
    const large = bySize[bySize.length - 1]!;
    const growth = large.boot_ms / small.boot_ms;
    lines.push({
      bench: 'journal',
      workload: 'boot',
      ratio: `boot ${large.history_records}/${small.history_records}`,
      boot_ms: round(growth, 3),
      heap_mb: round(large.heap_mb / small.heap_mb, 3),
      target_boot_ms: BOOT_GROWTH,
      target_max_boot_ms: BOOT_MAX_MS,
      target_heap_mb: HEAP_GROWTH,
      meets: growth <= BOOT_GROWTH && large.boot_ms <= BOOT_MAX_MS && large.heap_mb / small.heap_mb <= HEAP_GROWTH,
    });
  }
  return lines;
}
