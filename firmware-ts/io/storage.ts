// The file-system surface the journal needs, shaped like SQLite's VFS: small, synchronous, and easy to
// replace with a fault-injecting fake that loses or tears unsynced writes at a simulated power cut.

export interface StorageFile {
  readonly path: string;
  /** Current length in bytes as this process sees it (synced or not). */
  size(): number;
  /** Reads up to `length` bytes at `position` into `buf` at `offset`; returns the count read. */
  read(buf: Buffer, offset: number, length: number, position: number): number;
  /** Positional write of the whole buffer (pwrite). Not durable until datasync/sync. */
  write(buf: Buffer, position: number): void;
  /** fdatasync: makes written data durable. Throws on failure; callers must treat that as fatal. */
  datasync(): void;
  /** fsync: data and metadata. */
  sync(): void;
  truncate(length: number): void;
  close(): void;
}

export interface Storage {
  /** `create` fails if the file exists; `rw` and `r` fail if it does not. */
  open(path: string, mode: 'r' | 'rw' | 'create'): StorageFile;
  exists(path: string): boolean;
  /** File names (not paths) in `dir`, unsorted. */
  list(dir: string): string[];
  mkdirp(dir: string): void;
  /** Atomic rename; durable only after syncDir of the directory. */
  rename(from: string, to: string): void;
  remove(path: string): void;
  /** fsync of a directory, making creates, renames and removes in it durable. */
  syncDir(dir: string): void;
  /**
   * Optional: creates `path` (which must not exist) zero-filled to `size` bytes and fsyncs it, without
   * blocking the caller's thread, so the next segment is ready before it is needed. Adapters without a
   * background thread leave it out and the journal preallocates inline.
   */
  preallocate?(path: string, size: number): Promise<void>;
  /** Optional: bytes an unprivileged writer may still use on the filesystem holding `dir` (statfs). */
  freeBytes?(dir: string): number;
  /**
   * Takes the single-writer lock on `dir`. Throws JournalLockedError naming the holder's pid when another
   * live process holds it.
   */
  lock(dir: string): { release(): void };
  /**
   * Optional: an exclusion the kernel holds for the journal's opener and frees when it dies, taken before
   * `lock`, so that two openers finding the same stale LOCK cannot both take it over. Rejects with
   * JournalLockedError while a live process holds it.
   */
  guard?(dir: string): Promise<{ release(): void }>;
}
