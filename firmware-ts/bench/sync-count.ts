// Counts the fdatasync/fsync calls a subject makes through its Storage, so the bench can show that the
// journal issues exactly the floor's syncs per sale (two), whatever else it does.
import type { Storage, StorageFile } from '../io/storage.js';

export interface CountingStorage extends Storage {
  readonly syncs: number;
}

export function countSyncs(inner: Storage): CountingStorage {
  let syncs = 0;
  const wrap = (f: StorageFile): StorageFile => ({
    path: f.path,
    size: () => f.size(),
    read: (buf, offset, length, position) => f.read(buf, offset, length, position),
    write: (buf, position) => f.write(buf, position),
    datasync: () => {
      syncs++;
      f.datasync();
    },
    sync: () => {
      syncs++;
      f.sync();
    },
    truncate: (n) => f.truncate(n),
    close: () => f.close(),
  });
  return {
    get syncs() {
      return syncs;
    },
    open: (p, mode) => wrap(inner.open(p, mode)),
    exists: (p) => inner.exists(p),
    list: (d) => inner.list(d),
    mkdirp: (d) => inner.mkdirp(d),
    rename: (a, b) => inner.rename(a, b),
    remove: (p) => inner.remove(p),
    syncDir: (d) => {
      syncs++;
      inner.syncDir(d);
    },
    lock: (d) => inner.lock(d),
    ...(inner.guard ? { guard: (d: string) => inner.guard!(d) } : {}),
    // The background zero-fill of the next segment ends with one fsync.
    ...(inner.preallocate ? { preallocate: (p: string, size: number) => (syncs++, inner.preallocate!(p, size)) } : {}),
    ...(inner.freeBytes ? { freeBytes: (d: string) => inner.freeBytes!(d) } : {}),
  };
}
