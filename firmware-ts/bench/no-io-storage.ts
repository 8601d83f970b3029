// The journal subject without its file I/O, for `posj bench journal --profile`: writes and syncs of segment
// files return at once, everything else (listing, opening, renaming) is the real storage's. A CPU profile
// of syscall-heavy code is unreliable on some machines (the sampler lands in the write syscall far more
// often than its share of CPU), so the profile is taken of the JavaScript alone, and what the I/O costs is
// the difference between two figures process.cpuUsage() measures in the same run: with and without it.
// The subject never reads back what it did not write: a run makes no reopen, and close() syncs nothing.
import type { Storage, StorageFile } from '../io/storage.js';

export function withoutFileIo(inner: Storage): Storage {
  const quiet = (f: StorageFile): StorageFile => ({
    path: f.path,
    size: () => f.size(),
    read: (buf, offset, length, position) => f.read(buf, offset, length, position),
    write: () => {},
    datasync: () => {},
    sync: () => {},
    truncate: (n) => f.truncate(n),
    close: () => f.close(),
  });
  // No background preallocation: its writes would be real.
  const { preallocate: _preallocate, ...rest } = inner;
  return { ...rest, open: (p, mode) => quiet(inner.open(p, mode)) };
}
