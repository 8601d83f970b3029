import { describe, expect, it } from 'vitest';
import { PowerCutError, SECTOR, SimDisk, type CrashMode } from '../../host-bridge/terminal-sim/sim-disk.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { JournalLockedError } from '../../firmware-ts/journal/errors.js';

const MODES: CrashMode[] = ['keep', 'drop', 'tear', 'garbage', 'random'];

/** A disk with /j/seg holding `synced` durable bytes, then `unsynced` more written after them. */
function diskWith(synced: Buffer, unsynced: Buffer) {
  const disk = new SimDisk();
  disk.mkdirp('/j');
  const f = disk.open('/j/seg', 'create');
  f.write(synced, 0);
  f.datasync();
  disk.syncDir('/j');
  f.write(unsynced, synced.length);
  return { disk, f };
}

const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe('SimDisk crash model', () => {
  it('drop loses unsynced data and unsynced growth', () => {
    const { disk } = diskWith(pattern(1000, 1), pattern(700, 2));
    expect(disk.readFile('/j/seg').length).toBe(1700);
    disk.crash(createRng(1), 'drop');
    expect(disk.readFile('/j/seg')).toEqual(pattern(1000, 1));
  });

  it('keep lands every unsynced write', () => {
    const { disk } = diskWith(pattern(1000, 1), pattern(700, 2));
    disk.crash(createRng(1), 'keep');
    expect(disk.readFile('/j/seg')).toEqual(Buffer.concat([pattern(1000, 1), pattern(700, 2)]));
  });

  it('synced data survives every mode, for many seeds', () => {
    for (const mode of MODES) {
      for (let seed = 0; seed < 20; seed++) {
        // Synced data ends on a sector boundary so no pending sector overlaps it.
        const synced = pattern(3 * SECTOR, seed);
        const { disk, f } = diskWith(synced, pattern(2000, seed + 7));
        f.write(pattern(100, 9), 3 * SECTOR + 50);
        disk.crash(createRng(seed), mode);
        expect(disk.readFile('/j/seg').subarray(0, synced.length), `${mode} seed ${seed}`).toEqual(synced);
      }
    }
  });

  it('overwriting synced data is not durable until datasync; then it is', () => {
    const disk = new SimDisk();
    disk.mkdirp('/j');
    const f = disk.open('/j/a', 'create');
    f.write(Buffer.alloc(SECTOR, 1), 0);
    f.datasync();
    disk.syncDir('/j');
    f.write(Buffer.alloc(SECTOR, 2), 0);
    expect(disk.durableBytes('/j/a')).toEqual(Buffer.alloc(SECTOR, 1));
    f.datasync();
    expect(disk.durableBytes('/j/a')).toEqual(Buffer.alloc(SECTOR, 2));
    disk.crash(createRng(3), 'drop');
    expect(disk.readFile('/j/a')).toEqual(Buffer.alloc(SECTOR, 2));
  });

  it('tear keeps each sector whole: all new or all old, and both happen', () => {
    const sectors = 16;
    const seen = new Set<string>();
    for (let seed = 0; seed < 10; seed++) {
      const { disk, f } = diskWith(Buffer.alloc(sectors * SECTOR, 0xaa), Buffer.alloc(0));
      f.write(Buffer.alloc(sectors * SECTOR, 0x55), 0);
      disk.crash(createRng(seed), 'tear');
      const after = disk.readFile('/j/seg');
      for (let s = 0; s < sectors; s++) {
        const sector = after.subarray(s * SECTOR, (s + 1) * SECTOR);
        const value = sector[0]!;
        expect([0xaa, 0x55]).toContain(value);
        expect(sector.every((b) => b === value)).toBe(true);
        seen.add(value === 0x55 ? 'new' : 'old');
      }
    }
    expect(seen).toEqual(new Set(['new', 'old']));
  });

  it('garbage changes bytes only in unsynced sectors', () => {
    const synced = pattern(4 * SECTOR, 3);
    const { disk, f } = diskWith(synced, Buffer.alloc(0));
    f.write(pattern(SECTOR, 4), SECTOR); // sector 1
    f.write(pattern(10, 5), 3 * SECTOR + 100); // sector 3
    const seen = disk.readFile('/j/seg');
    disk.crash(createRng(11), 'garbage');
    const after = disk.readFile('/j/seg');
    const sector = (b: Buffer, s: number) => b.subarray(s * SECTOR, (s + 1) * SECTOR);
    expect(after.length).toBe(synced.length);
    for (const s of [0, 2]) expect(sector(after, s)).toEqual(sector(synced, s));
    for (const s of [1, 3]) {
      expect(sector(after, s).equals(sector(synced, s))).toBe(false);
      expect(sector(after, s).equals(sector(seen, s))).toBe(false);
    }
  });

  it('a lost size change truncates back; a kept one reads zeros where data dropped', () => {
    const { disk } = diskWith(pattern(SECTOR, 1), pattern(3 * SECTOR, 2));
    disk.crash(createRng(5), { sectors: 'drop', size: 'keep' });
    expect(disk.readFile('/j/seg')).toEqual(Buffer.concat([pattern(SECTOR, 1), Buffer.alloc(3 * SECTOR)]));
    const again = diskWith(pattern(SECTOR, 1), pattern(3 * SECTOR, 2)).disk;
    again.crash(createRng(5), { sectors: 'keep', size: 'drop' });
    expect(again.readFile('/j/seg')).toEqual(pattern(SECTOR, 1));
  });

  it('an unsynced truncate may be undone', () => {
    const { disk, f } = diskWith(pattern(2 * SECTOR, 1), Buffer.alloc(0));
    f.truncate(10);
    expect(f.size()).toBe(10);
    disk.crash(createRng(1), 'drop');
    expect(disk.readFile('/j/seg')).toEqual(pattern(2 * SECTOR, 1));
  });

  it('is deterministic for a seed, and differs across seeds', () => {
    const run = (seed: number) => {
      const { disk, f } = diskWith(pattern(SECTOR, 1), pattern(20 * SECTOR, 2));
      disk.rename('/j/seg', '/j/seg2');
      f.write(pattern(64, 3), 7 * SECTOR + 3);
      disk.crash(createRng(seed), 'random');
      return disk.fileInfo().map((i) => `${i.path}:${disk.readFile(i.path).toString('hex')}`).join('|');
    };
    expect(run(42)).toBe(run(42));
    expect(run(42)).not.toBe(run(43));
  });
});

describe('SimDisk directory entries', () => {
  it('a rename without syncDir may revert; with syncDir it survives', () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const { disk } = diskWith(pattern(100, 1), Buffer.alloc(0));
      disk.rename('/j/seg', '/j/seg.done');
      disk.crash(createRng(seed), 'random');
      outcomes.add(disk.list('/j').sort().join(','));
    }
    expect(outcomes).toEqual(new Set(['seg', 'seg.done']));

    const { disk } = diskWith(pattern(100, 1), Buffer.alloc(0));
    disk.rename('/j/seg', '/j/seg.done');
    disk.syncDir('/j');
    disk.crash(createRng(1), 'drop');
    expect(disk.list('/j')).toEqual(['seg.done']);
    expect(disk.readFile('/j/seg.done')).toEqual(pattern(100, 1));
  });

  it('a rename is atomic: the file is under exactly one name after any crash', () => {
    for (let seed = 0; seed < 30; seed++) {
      const { disk } = diskWith(pattern(100, 1), Buffer.alloc(0));
      const tmp = disk.open('/j/seg.tmp', 'create');
      tmp.write(pattern(50, 2), 0);
      tmp.datasync();
      disk.rename('/j/seg.tmp', '/j/seg');
      disk.crash(createRng(seed), 'random');
      const names = disk.list('/j').sort();
      expect(names.filter((n) => n === 'seg')).toHaveLength(1);
      const seg = disk.readFile('/j/seg');
      // Old segment (tmp created or not), or the new one with no tmp left over; never a mix.
      if (seg.equals(pattern(50, 2))) expect(names).toEqual(['seg']);
      else expect(seg).toEqual(pattern(100, 1));
    }
  });

  it('an unsynced create vanishes and an unsynced remove reappears on drop', () => {
    const { disk } = diskWith(pattern(100, 1), Buffer.alloc(0));
    const f = disk.open('/j/new', 'create');
    f.write(pattern(10, 1), 0);
    f.datasync();
    disk.remove('/j/seg');
    expect(disk.list('/j').sort()).toEqual(['new']);
    disk.crash(createRng(1), 'drop');
    expect(disk.list('/j')).toEqual(['seg']);
    expect(disk.readFile('/j/seg')).toEqual(pattern(100, 1));
  });

  it('crash keeps an ordered prefix of directory operations', () => {
    for (let seed = 0; seed < 30; seed++) {
      const disk = new SimDisk();
      disk.mkdirp('/j');
      for (const n of ['a', 'b', 'c', 'd']) disk.open(`/j/${n}`, 'create').close();
      disk.crash(createRng(seed), 'random');
      const names = disk.list('/j').sort().join('');
      expect('abcd'.startsWith(names)).toBe(true);
    }
  });

  it('follows the open-mode rules of the real adapter', () => {
    const disk = new SimDisk();
    disk.mkdirp('/j/sub');
    expect(() => disk.open('/j/x', 'rw')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => disk.open('/nope/x', 'create')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    disk.open('/j/x', 'create').close();
    expect(() => disk.open('/j/x', 'create')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    const r = disk.open('/j/x', 'r');
    expect(() => r.write(Buffer.from('a'), 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    r.close();
    expect(() => r.size()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(disk.list('/j').sort()).toEqual(['sub', 'x']);
    expect(disk.exists('/j/sub') && disk.exists('/j/x') && !disk.exists('/j/y')).toBe(true);
    disk.remove('/j/missing');
  });
});

describe('SimDisk handles and locks across a crash', () => {
  it('old handles throw PowerCutError after a crash', () => {
    const { disk, f } = diskWith(pattern(10, 1), Buffer.alloc(0));
    disk.crash(createRng(1));
    expect(() => f.write(Buffer.from('x'), 0)).toThrow(PowerCutError);
    expect(() => f.size()).toThrow(PowerCutError);
    expect(disk.open('/j/seg', 'rw').size()).toBe(10);
  });

  it('a second lock throws JournalLockedError; a crash or release frees it; LOCK is a real entry', () => {
    const disk = new SimDisk();
    disk.mkdirp('/j');
    const held = disk.lock('/j');
    expect(disk.list('/j')).toEqual(['LOCK']);
    let err: unknown;
    try {
      disk.lock('/j');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalLockedError);
    expect((err as JournalLockedError).pid).toBeGreaterThan(0);
    expect((err as Error).message).toMatch(/locked by pid \d+/);
    held.release();
    expect(disk.list('/j')).toEqual([]);
    disk.lock('/j');
    disk.syncDir('/j');
    disk.crash(createRng(1), 'drop');
    expect(disk.list('/j')).toEqual(['LOCK']); // stale, like after a real power cut
    const again = disk.lock('/j');
    again.release();
  });
});

describe('SimDisk sync faults and crash points', () => {
  it('failNextSync throws EIO once, and the lost data stays lost even though a retry succeeds', () => {
    const { disk, f } = diskWith(pattern(SECTOR, 1), Buffer.alloc(0));
    f.write(pattern(SECTOR, 2), 0);
    disk.failNextSync();
    expect(() => f.datasync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    f.datasync(); // the retry "succeeds", as on Linux
    expect(disk.readFile('/j/seg')).toEqual(pattern(SECTOR, 2));
    disk.crash(createRng(1), 'keep');
    expect(disk.readFile('/j/seg')).toEqual(pattern(SECTOR, 1));
  });

  it('failSyncsWhere fails the chosen sync with the given error', () => {
    const { disk, f } = diskWith(Buffer.alloc(0), Buffer.alloc(0));
    const base = disk.stats.syncs;
    const boom = Object.assign(new Error('boom'), { code: 'EIO' });
    disk.failSyncsWhere((e) => e.count === base + 2, { error: boom });
    f.datasync();
    expect(() => f.datasync()).toThrow(boom);
    f.datasync();
  });

  it('crashAtSync before: the sync throws and its data is not durable', () => {
    const { disk, f } = diskWith(Buffer.alloc(0), Buffer.alloc(0));
    f.write(pattern(SECTOR, 1), 0);
    disk.crashAtSync(disk.stats.syncs + 1, createRng(1), 'drop', 'before');
    expect(() => f.datasync()).toThrow(PowerCutError);
    expect(disk.readFile('/j/seg').length).toBe(0);
  });

  it('crashAtSync after: the sync throws but its data is durable', () => {
    const { disk, f } = diskWith(Buffer.alloc(0), Buffer.alloc(0));
    f.write(pattern(SECTOR, 1), 0);
    disk.crashAtSync(disk.stats.syncs + 1, createRng(1), 'drop', 'after');
    expect(() => f.datasync()).toThrow(PowerCutError);
    expect(disk.readFile('/j/seg')).toEqual(pattern(SECTOR, 1));
  });

  it('onSync sees every barrier, numbered, with its kind and phase', () => {
    const disk = new SimDisk();
    disk.mkdirp('/j');
    const seen: string[] = [];
    disk.onSync((e) => seen.push(`${e.count}:${e.kind}:${e.phase}`));
    const f = disk.open('/j/a', 'create');
    f.datasync();
    f.sync();
    disk.syncDir('/j');
    expect(seen).toEqual(['1:datasync:before', '1:datasync:after', '2:sync:before', '2:sync:after', '3:syncDir:before', '3:syncDir:after']);
    expect(disk.stats).toMatchObject({ syncs: 3, datasyncs: 1, fsyncs: 1, dirSyncs: 1 });
  });
});

describe('SimDisk introspection', () => {
  it('counts writes and bytes, lists files with durable state, and models media damage', () => {
    const { disk, f } = diskWith(pattern(1000, 1), pattern(24, 2));
    expect(disk.stats).toMatchObject({ writes: 2, bytesWritten: 1024 });
    expect(disk.fileInfo()).toEqual([{ path: '/j/seg', size: 1024, durableSize: 1000, pendingSectors: 1, entryDurable: true }]);
    f.datasync();
    disk.damage('/j/seg', 5, Buffer.from([0xff]));
    expect(disk.durableBytes('/j/seg')[5]).toBe(0xff);
    disk.crash(createRng(1), 'drop');
    expect(disk.readFile('/j/seg')[5]).toBe(0xff);
    expect(disk.stats.crashes).toBe(1);
  });
});
