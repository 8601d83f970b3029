// The full-disk reserve on its own, on a simulated disk whose free space the test sets: made only with room
// for it plus slack, released only when the next segment would not fit, kept (and said to be kept) across a
// reopen, never made half, and what the background spare may use. The journal's full-disk behaviour as a
// whole is test/journal/full-disk.test.ts on a real 2 MiB tmpfs.
import { describe, expect, it } from 'vitest';
import type { Storage } from '../../firmware-ts/io/storage.js';
import { RESERVE_NAME, SpaceReserve } from '../../firmware-ts/journal/space-reserve.js';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { JournalLockedError } from '../../firmware-ts/journal/errors.js';
import { writeZeros } from '../../firmware-ts/journal/segment-io.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';

const DIR = '/j';
const FILE = `${DIR}/${RESERVE_NAME}`;
/** The slack space-reserve.ts keeps beyond the reserve (LOCK file, directory blocks, a spare's tail). */
const SLACK = 256 * 1024;
const BYTES = 64 * 1024;

/** The disk with a free-space figure the test controls (null: the storage cannot tell). */
function rig(free: number | null = 10 << 20) {
  const disk = new SimDisk();
  disk.mkdirp(DIR);
  const box = { free };
  const storage = new Proxy(disk, {
    get(target, key) {
      if (key === 'freeBytes') return box.free === null ? undefined : () => box.free;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as Storage;
  return { disk, storage, box };
}

describe('SpaceReserve', () => {
  it('is made whole (zeros, its size, synced) with room for it and the slack, not one byte less', () => {
    const { disk, storage, box } = rig(BYTES + SLACK - 1);
    const r = new SpaceReserve(storage, DIR, BYTES);
    expect(r.state).toBe('none');
    r.ensure();
    expect(disk.exists(FILE)).toBe(false);
    expect(r.state).toBe('none');
    box.free = BYTES + SLACK;
    r.ensure();
    expect(r.state).toBe('held');
    expect(disk.durableBytes(FILE).equals(Buffer.alloc(BYTES))).toBe(true);
    expect(disk.list(DIR)).toContain(RESERVE_NAME);
  });

  it('not made when the storage cannot tell its free space, nor with a size of 0', () => {
    const unknown = rig(null);
    const r = new SpaceReserve(unknown.storage, DIR, BYTES);
    expect(r.freeBytes()).toBeNull();
    r.ensure();
    expect(r.state).toBe('none');
    expect(unknown.disk.exists(FILE)).toBe(false);
    const none = rig();
    const z = new SpaceReserve(none.storage, DIR, 0);
    z.ensure();
    expect(none.disk.exists(FILE)).toBe(false);
    expect(z.state).toBe('none');
  });

  it('an existing reserve is held from the start and not rewritten', () => {
    const { disk, storage, box } = rig();
    new SpaceReserve(storage, DIR, BYTES).ensure();
    disk.damage(FILE, 0, Buffer.from([7]));
    const again = new SpaceReserve(storage, DIR, BYTES);
    expect(again.state).toBe('held');
    box.free = 0;
    again.ensure();
    expect(again.state).toBe('held');
    expect(disk.readFile(FILE)[0]).toBe(7);
  });

  it('a reserve whose write fails is removed, not left half made, and the error reaches the caller', () => {
    const { disk, storage } = rig();
    const r = new SpaceReserve(storage, DIR, BYTES);
    disk.failNextSync({ kind: 'file' });
    expect(() => r.ensure()).toThrow();
    expect(disk.exists(FILE)).toBe(false);
    expect(r.state).toBe('none');
  });

  it('released only when fewer than the bytes needed plus slack are free, and then it says so', () => {
    const { disk, storage, box } = rig();
    const r = new SpaceReserve(storage, DIR, BYTES);
    expect(r.releaseIfShort(1_000)).toBe(false); // nothing held yet
    r.ensure();
    box.free = 1_000 + SLACK;
    expect(r.releaseIfShort(1_000)).toBe(false);
    expect(disk.exists(FILE)).toBe(true);
    expect(r.state).toBe('held');
    box.free = 1_000 + SLACK - 1;
    expect(r.releaseIfShort(1_000)).toBe(true);
    expect(disk.exists(FILE)).toBe(false);
    expect(r.state).toBe('released');
    expect(r.releaseIfShort(1_000)).toBe(false);
    expect(r.release()).toBe(false);
  });

  it('released when the free space is unknown and a segment is short of room', () => {
    const { disk, storage, box } = rig();
    const r = new SpaceReserve(storage, DIR, BYTES);
    r.ensure();
    box.free = null;
    expect(r.releaseIfShort(1)).toBe(true);
    expect(disk.exists(FILE)).toBe(false);
  });

  it('after a release it stays released until there is room again, then it is held again', () => {
    const { disk, storage, box } = rig();
    const r = new SpaceReserve(storage, DIR, BYTES);
    r.ensure();
    expect(r.release()).toBe(true);
    box.free = BYTES;
    r.ensure();
    expect(r.state).toBe('released');
    expect(disk.exists(FILE)).toBe(false);
    box.free = BYTES + SLACK;
    r.ensure();
    expect(r.state).toBe('held');
    expect(disk.exists(FILE)).toBe(true);
  });

  it('the background spare may use what is free beyond the slack while the reserve is held, and beyond the reserve too when it is not', () => {
    const { storage, box } = rig();
    const r = new SpaceReserve(storage, DIR, BYTES);
    const spare = 100_000;
    box.free = spare + BYTES + SLACK;
    expect(r.roomFor(spare)).toBe(true);
    box.free = spare + BYTES + SLACK - 1;
    expect(r.roomFor(spare)).toBe(false);
    box.free = 10 << 20;
    r.ensure();
    box.free = spare + SLACK;
    expect(r.roomFor(spare)).toBe(true);
    box.free = spare + SLACK - 1;
    expect(r.roomFor(spare)).toBe(false);
    box.free = null;
    expect(r.roomFor(spare)).toBe(true);
  });
});

describe('the journal opening on a full disk', () => {
  const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });
  /** A disk that is full while `box.full`: the LOCK file cannot be written while the reserve still holds its blocks, and making a reserve fails with `box.reserveError`. */
  function fullRig() {
    const disk = new SimDisk();
    const box: { free: number; full: boolean; reserveError: string | null } = { free: 10 << 20, full: false, reserveError: null };
    const storage = new Proxy(disk, {
      get(target, key) {
        if (key === 'freeBytes') return () => box.free;
        if (key === 'lock')
          return (dir: string) => {
            if (box.full && target.exists(FILE)) throw errno('ENOSPC');
            return target.lock(dir);
          };
        if (key === 'open')
          return (p: string, mode: 'r' | 'rw' | 'create') => {
            const f = target.open(p, mode);
            if (p !== FILE || box.reserveError === null) return f;
            const code = box.reserveError;
            return Object.assign(Object.create(f) as object, { write: () => { throw errno(code); }, close: () => f.close() });
          };
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as unknown as Storage;
    const open = (reserveBytes = BYTES) =>
      Journal.open({ dir: DIR, deviceKey: Buffer.alloc(32, 3), fold: { initial: () => null, apply: () => {}, toCheckpoint: () => null, fromCheckpoint: () => null, oldestOpenSeq: () => null }, types: new RecordTypes([]), storage, segmentBytes: 64 * 1024, space: { reserveBytes } });
    return { disk, box, open };
  }

  it('gives the reserve back to take the lock when the LOCK file cannot be written, and only then', async () => {
    const { disk, box, open } = fullRig();
    const first = await open();
    expect(first.diskUsage().reserve).toEqual({ bytes: BYTES, state: 'held' });
    // A second opener is refused by the lock, and the reserve stays where it is.
    await expect(open()).rejects.toThrow(JournalLockedError);
    expect(disk.exists(FILE)).toBe(true);
    await first.close();
    box.full = true;
    box.free = 0;
    const again = await open();
    expect(again.diskUsage().reserve).toEqual({ bytes: BYTES, state: 'released' });
    expect(disk.exists(FILE)).toBe(false);
    await again.close();
  });

  it('without a reserve, the full disk\'s ENOSPC is what the opener is told', async () => {
    const { disk, box, open } = fullRig();
    await (await open()).close();
    box.full = true;
    await expect(open(0)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(disk.exists(FILE)).toBe(true);
  });

  it('a reserve that cannot be made for want of room is left for later; any other failure to make it fails the open', async () => {
    const { disk, box, open } = fullRig();
    box.reserveError = 'ENOSPC';
    const j = await open();
    expect(j.diskUsage().reserve).toEqual({ bytes: BYTES, state: 'none' });
    expect(disk.exists(FILE)).toBe(false);
    await j.close();
    box.reserveError = 'EIO';
    await expect(open()).rejects.toMatchObject({ code: 'EIO' });
    // The failed open let go of the lock.
    box.reserveError = null;
    await (await open()).close();
    expect(disk.exists(FILE)).toBe(true);
  });
});

describe('the journal rotating on a full disk', () => {
  it('a ready spare segment pays for the rotation: the reserve is kept', async () => {
    const disk = new SimDisk();
    const box = { free: 10 << 20 };
    const storage = new Proxy(disk, {
      get(target, key) {
        if (key === 'freeBytes') return () => box.free;
        if (key === 'preallocate')
          return async (p: string, size: number) => {
            const f = target.open(p, 'create');
            writeZeros(f, 0, size);
            f.sync();
            f.close();
          };
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as unknown as Storage;
    const types = new RecordTypes([{ name: 'test.note', code: 100, version: 1 }]);
    const fold = { initial: () => null, apply: () => {}, toCheckpoint: () => null, fromCheckpoint: () => null, oldestOpenSeq: () => null };
    const j = await Journal.open({ dir: DIR, deviceKey: Buffer.alloc(32, 3), fold, types, storage, segmentBytes: 64 * 1024, space: { reserveBytes: BYTES } });
    expect(await j.whenSpareReady()).toBe(true);
    box.free = 0;
    while (j.segmentNames().length < 2) await j.append([{ type: 'test.note', payload: { pad: 'x'.repeat(1_000) } }], { durable: true });
    expect(j.diskUsage().reserve).toEqual({ bytes: BYTES, state: 'held' });
    // The next rotation has no spare (no room to make one): now the reserve pays.
    expect(await j.whenSpareReady()).toBe(false);
    while (j.segmentNames().length < 3) await j.append([{ type: 'test.note', payload: { pad: 'x'.repeat(1_000) } }], { durable: true });
    expect(j.diskUsage().reserve).toEqual({ bytes: BYTES, state: 'released' });
    await j.close();
  });

  it('a spare whose zero-fill runs out of room gives its blocks back at once', async () => {
    const disk = new SimDisk();
    const storage = new Proxy(disk, {
      get(target, key) {
        if (key === 'preallocate')
          return async (p: string) => {
            // Half made, then the filesystem is full.
            const f = target.open(p, 'create');
            writeZeros(f, 0, 4096);
            f.close();
            throw Object.assign(new Error('ENOSPC: simulated'), { code: 'ENOSPC' });
          };
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as unknown as Storage;
    const fold = { initial: () => null, apply: () => {}, toCheckpoint: () => null, fromCheckpoint: () => null, oldestOpenSeq: () => null };
    const j = await Journal.open({ dir: DIR, deviceKey: Buffer.alloc(32, 3), fold, types: new RecordTypes([]), storage });
    expect(await j.whenSpareReady()).toBe(false);
    expect(disk.exists(`${DIR}/spare.tmp`)).toBe(false);
    await j.close();
  });

  it('a storage that cannot preallocate has no spare to wait for', async () => {
    const j = await Journal.open({ dir: DIR, deviceKey: Buffer.alloc(32, 3), fold: { initial: () => null, apply: () => {}, toCheckpoint: () => null, fromCheckpoint: () => null, oldestOpenSeq: () => null }, types: new RecordTypes([]), storage: new SimDisk() });
    expect(await j.whenSpareReady()).toBe(false);
    await j.close();
  });
});
