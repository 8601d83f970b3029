// Shape tests for the benchmark harness on tiny sizes: the lines it prints, not how fast anything is.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tmpDir } from '../helpers/tmp.js';
import { bootLines, median, runSaleBench, saleRatios, type SaleLine } from '../../firmware-ts/bench/runner.js';
import { floorSubject } from '../../firmware-ts/bench/floor-subject.js';
import { sqliteSubject } from '../../firmware-ts/bench/sqlite-subject.js';
import { payloadBytes, salePayloads } from '../../firmware-ts/bench/payloads.js';
import { framedSize, jsonSaleRecordSizes } from '../../firmware-ts/bench/record-sizes.js';
import { filesystemOf, probeDevice, sectorsWrittenFor, splitDev } from '../../firmware-ts/bench/disk-stats.js';
import { measureBoot } from '../../firmware-ts/bench/boot.js';
import { registerBenchCommands } from '../../firmware-ts/cli/bench-commands.js';
import { findSensitive } from '../../firmware-ts/pci/card-data.js';

const finitePositive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

function expectSaleLine(l: SaleLine, subject: string, sales: number, rounds: number) {
  expect(l).toMatchObject({ bench: 'journal', workload: 'sale', subject, sales, rounds });
  expect(finitePositive(l.us_per_sale)).toBe(true);
  expect(finitePositive(l.cpu_us_per_sale)).toBe(true);
  // The floor and the journal make two syncs per sale (the journal's segment fills aside); SQLite's are not counted.
  if (subject === 'sqlite') expect(l.syncs_per_sale).toBeNull();
  else expect(l.syncs_per_sale).toBeGreaterThanOrEqual(2);
  expect(l.us_per_sale_rounds).toHaveLength(rounds);
  expect(l.detail.length).toBeGreaterThan(10);
  if (l.device_bytes_per_sale === null) expect(l.device_note).toMatch(/\S/);
  else {
    expect(finitePositive(l.device_bytes_per_sale)).toBe(true);
    expect(l.device).toMatch(/\S/);
  }
}

describe('sale payloads', () => {
  it('are about 200 bytes, deterministic, with masked PANs and no PAN-like digit runs', () => {
    for (let i = 0; i < 2000; i++) {
      const p = salePayloads(i);
      for (const payload of [p.intent, p.outcome, p.printed]) {
        const text = payloadBytes(payload).toString();
        expect(text.length).toBeGreaterThan(150);
        expect(text.length).toBeLessThan(260);
        expect(text).not.toMatch(/\d{13}/);
        expect(findSensitive(payload)).toBeNull();
      }
      expect(p.intent.maskedPan).toMatch(/^\d{6}\*{6}\d{4}$/);
      expect(p.intent.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    expect(salePayloads(7)).toEqual(salePayloads(7));
    expect(salePayloads(7)).not.toEqual(salePayloads(8));
  });

  it('frame as payload + 48-byte header rounded up to 8', () => {
    expect(framedSize(200)).toBe(248);
    expect(framedSize(201)).toBe(256);
    for (const n of jsonSaleRecordSizes(3)) expect(n % 8).toBe(0);
  });
});

describe('disk stats', () => {
  it('splits dev_t and reads the sectors-written column', () => {
    expect(splitDev(254n * 256n)).toEqual({ major: 254, minor: 0 });
    expect(splitDev((259n << 8n) | 3n)).toEqual({ major: 259, minor: 3 });
    const stats = '   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0\n 254       0 vda 47771 7058 2078138 5649 2215 9244 761352 791 0 3828 6779\n';
    expect(sectorsWrittenFor(stats, 254, 0)).toEqual({ device: 'vda', sectors: 761352 });
    expect(sectorsWrittenFor(stats, 8, 0)).toBeNull();
  });

  it('maps a directory to a device, or says why not', () => {
    const r = probeDevice(tmpDir('bench-probe'));
    if (r.ok) expect(r.probe.sectorsWritten()).toBeGreaterThanOrEqual(0);
    else expect(r.reason).toMatch(/device/);
  });

  it('labels a directory tmpfs exactly when /proc/mounts says its mount is tmpfs or ramfs', () => {
    // The mount holding a path is the longest mount point that is a prefix of it (the last one listed wins).
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').trim().split('\n').map((l) => l.split(' '));
    const mountType = (dir: string) => {
      let best = { point: '', type: '' };
      for (const [, point, type] of mounts) if ((dir === point || dir.startsWith(point!.endsWith('/') ? point! : `${point}/`)) && point!.length >= best.point.length) best = { point: point!, type: type! };
      return best.type;
    };
    const dirs = [fs.realpathSync(tmpDir('bench-fs')), ...(fs.existsSync('/dev/shm') ? [fs.realpathSync('/dev/shm')] : [])];
    for (const dir of dirs) expect(filesystemOf(dir), dir).toBe(['tmpfs', 'ramfs'].includes(mountType(dir)) ? 'tmpfs' : 'disk');
  });
});

describe('sale runner', () => {
  it('runs floor and sqlite on tiny sizes and reports one line each', async () => {
    const dir = tmpDir('bench-run');
    const lines = await runSaleBench({ dir, sales: 50, rounds: 1, subjects: [floorSubject(), sqliteSubject()], warmup: 5 });
    expect(lines.map((l) => l.subject)).toEqual(['floor', 'sqlite']);
    for (const l of lines) expectSaleLine(l, l.subject, 50, 1);
    expect(fs.readdirSync(dir)).toEqual([]); // run directories are cleaned up
    expect(saleRatios(lines)).toEqual([]); // no journal subject, no ratios
  });

  it('computes journal ratios against floor and sqlite', () => {
    const line = (subject: string, us: number, bytes: number | null): SaleLine => ({
      bench: 'journal',
      workload: 'sale',
      subject,
      us_per_sale: us,
      cpu_us_per_sale: 12,
      syncs_per_sale: subject === 'sqlite' ? null : 2,
      fs: 'disk',
      device_bytes_per_sale: bytes,
      rounds: 1,
      sales: 1,
      us_per_sale_rounds: [us],
      device: 'vda',
      detail: 'x',
    });
    const ratios = saleRatios([line('floor', 100, 8192), line('sqlite', 200, 20480), line('journal', 110, 8192)]);
    expect(ratios).toEqual([
      expect.objectContaining({ ratio: 'journal/floor', us_per_sale: 1.1, device_bytes_per_sale: 1, meets: true }),
      expect.objectContaining({ ratio: 'journal/sqlite', us_per_sale: 0.55, device_bytes_per_sale: 0.4, floor_us_per_sale: 0.5, meets: true }),
      expect.objectContaining({ ratio: 'journal cpu', fs: 'disk', cpu_us_per_sale: 12, floor_cpu_us_per_sale: 12, meets: true }),
      expect.objectContaining({ ratio: 'journal syncs', syncs_per_sale: 2, meets: true }),
    ]);
    const slow = saleRatios([line('floor', 100, null), line('journal', 120, null)]);
    expect(slow.slice(0, 1)).toEqual([expect.objectContaining({ ratio: 'journal/floor', device_bytes_per_sale: null, meets: false })]);
    const bytes = saleRatios([line('floor', 100, 8192), { ...line('journal', 110, 9100), cpu_us_per_sale: 16, syncs_per_sale: 3 }]);
    expect(bytes.map((r) => [r.ratio, r.meets])).toEqual([
      ['journal/floor', false], // 1.11 × the floor's device bytes
      ['journal cpu', false],
      ['journal syncs', false],
    ]);
    // With a tmpfs run, the CPU bar is its figure (the disk's counts the kernel's sync work too).
    const disk = [line('floor', 100, 8192), { ...line('journal', 110, 8192), cpu_us_per_sale: 40 }];
    const tmpfs = [{ ...line('floor', 2, null), fs: 'tmpfs' as const, cpu_us_per_sale: 2 }, { ...line('journal', 14, null), fs: 'tmpfs' as const, cpu_us_per_sale: 14 }];
    expect(saleRatios(disk, tmpfs).find((r) => r.ratio === 'journal cpu')).toEqual(
      expect.objectContaining({ fs: 'tmpfs', cpu_us_per_sale: 14, floor_cpu_us_per_sale: 2, meets: true }),
    );
    expect(saleRatios(disk).find((r) => r.ratio === 'journal cpu')).toEqual(expect.objectContaining({ fs: 'disk', cpu_us_per_sale: 40, meets: false }));
  });

  it('takes the median of rounds', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('boot measurement', () => {
  it('times an open in a fresh child and reports heap after gc', async () => {
    const dir = tmpDir('bench-boot');
    const mod = path.join(dir, 'opener.mjs');
    fs.writeFileSync(mod, 'export async function open(n) { const kept = new Array(n).fill(0).map((_, i) => ({ i })); return { kept, close() {} }; }\n');
    const small = await measureBoot({ module: mod, export: 'open', args: [10] });
    const big = await measureBoot({ module: mod, export: 'open', args: [400_000] });
    for (const m of [small, big]) for (const k of ['boot_ms', 'heap_mb', 'rss_mb'] as const) expect(finitePositive(m[k])).toBe(true);
    expect(big.heap_mb).toBeGreaterThan(small.heap_mb + 5); // the opened object is alive when the heap is read
    await expect(measureBoot({ module: mod, export: 'nope', args: [] })).rejects.toThrow(/exports no function nope/);
  });

  it('adds a largest/smallest history ratio to the boot lines', () => {
    const lines = bootLines([
      { subject: 'journal', history_records: 10_000, open_records: 50, boot_ms: 10, heap_mb: 6 },
      { subject: 'journal', history_records: 1_000_000, open_records: 50, boot_ms: 15, heap_mb: 6 },
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ ratio: 'boot 1000000/10000', boot_ms: 1.5, meets: true });
  });
});

describe('posj bench journal', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('prints one JSON object per line', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const program = new Command('posj').exitOverride();
    registerBenchCommands(program);
    const dir = tmpDir('bench-cli');
    await program.parseAsync(['bench', 'journal', '--json', '--sales', '30', '--rounds', '2', '--dir', dir, '--no-boot'], { from: 'user' });
    vi.restoreAllMocks();
    expect(process.exitCode).toBe(0);
    const lines = out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const subjects = lines.filter((l) => l.workload === 'sale' && 'subject' in l) as unknown as SaleLine[];
    expect(subjects.map((l) => l.subject)).toEqual(expect.arrayContaining(['floor', 'sqlite']));
    for (const l of subjects) expectSaleLine(l, l.subject, 60, 2);
    const hasJournal = subjects.some((l) => l.subject === 'journal');
    expect(lines.filter((l) => 'ratio' in l)).toHaveLength(hasJournal ? 4 : 0);
  });
});
