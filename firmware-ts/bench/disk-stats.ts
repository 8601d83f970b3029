// Bytes a run really sent to the block device, from /proc/diskstats (sectors written, always 512-byte
// units) around a `sync`. When the directory's filesystem has no block device of its own (overlayfs,
// tmpfs, btrfs subvolumes, network filesystems) there is no honest number, so we say why instead.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface DeviceProbe {
  /** Kernel name of the device, e.g. "vda" or "nvme0n1p2". */
  device: string;
  /** Sectors written to the device since boot, 512 bytes each. */
  sectorsWritten(): number;
}

export type DeviceProbeResult = { ok: true; probe: DeviceProbe } | { ok: false; reason: string };

/** Linux dev_t split as glibc's major()/minor() do it. */
export function splitDev(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

/** Sectors-written column (the 10th) of the /proc/diskstats row for major:minor, or null if absent. */
export function sectorsWrittenFor(diskstats: string, major: number, minor: number): { device: string; sectors: number } | null {
  for (const line of diskstats.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && Number(f[0]) === major && Number(f[1]) === minor) return { device: f[2]!, sectors: Number(f[9]) };
  }
  return null;
}

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/** What a directory is on: 'tmpfs' (memory: a sync costs nothing) or 'disk' (anything else). */
export function filesystemOf(dir: string): 'disk' | 'tmpfs' {
  const type = fs.statfsSync(dir).type;
  return type === TMPFS_MAGIC || type === RAMFS_MAGIC ? 'tmpfs' : 'disk';
}

export function probeDevice(dir: string): DeviceProbeResult {
  const { major, minor } = splitDev(fs.statSync(dir, { bigint: true }).dev);
  const id = `${major}:${minor}`;
  if (!fs.existsSync(`/sys/dev/block/${id}`)) {
    return { ok: false, reason: `${dir} is on device ${id}, which is not a block device (overlayfs, tmpfs, btrfs subvolume or network filesystem?)` };
  }
  let stats: string;
  try {
    stats = fs.readFileSync('/proc/diskstats', 'utf8');
  } catch (e) {
    return { ok: false, reason: `cannot read /proc/diskstats: ${(e as Error).message}` };
  }
  const row = sectorsWrittenFor(stats, major, minor);
  if (!row) return { ok: false, reason: `block device ${id} has no row in /proc/diskstats` };
  return {
    ok: true,
    probe: {
      device: row.device,
      sectorsWritten() {
        const now = sectorsWrittenFor(fs.readFileSync('/proc/diskstats', 'utf8'), major, minor);
        if (!now) throw new Error(`block device ${id} (${row.device}) vanished from /proc/diskstats`);
        return now.sectors;
      },
    },
  };
}

/** Flushes every dirty page in the system, so a diskstats reading covers all of a run's writes. */
export function flushAll(): void {
  execFileSync('sync', { stdio: 'ignore' });
}
