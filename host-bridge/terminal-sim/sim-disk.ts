// SimDisk: an in-memory Storage that models what survives a power cut, in the style of SQLite's crash VFS
// (src/test6.c). Every file has a durable image (on the platter) and a current image (what the process
// sees); a write changes the current image and marks its 512-byte sectors pending until datasync/sync.
// Directory entries (create, rename, remove, the LOCK file) are pending until syncDir. crash() decides,
// per pending sector, whether the new data landed, the old data stayed, or garbage was written, and how
// many pending directory operations made it, then restarts the "process": old handles die, locks go.
//
// Model choices, stated so tests know what they are relying on:
// - Sectors are atomic: a sector is all-new, all-old or all-garbage, never mixed.
// - datasync and sync are the same barrier here (both persist the file's data and size).
// - Directory operations form one ordered log, like ext4's metadata journal: a crash keeps a prefix of it,
//   and syncDir(d) commits the log up to the last operation touching d. A rename is atomic in its
//   directory; a rename across directories is one log entry touching both.
// - Directories themselves (mkdirp) are durable at once; the journal's directory predates the journal.
// - A failed sync behaves like Linux after fsync EIO: the dirty data is marked clean without reaching the
//   platter, so a retried sync "succeeds" and the data is still lost at the next crash.
import * as path from 'node:path';
import type { Storage, StorageFile } from '../../firmware-ts/io/storage.js';
import { JournalLockedError } from '../../firmware-ts/journal/errors.js';
import type { Rng } from './rng.js';
import { ByteImage, SECTOR, sectorsOf } from './sector-image.js';

export { SECTOR };

/** What happens to each pending sector at a crash. `tear`: each sector independently all-new or all-old. */
export type CrashMode = 'keep' | 'drop' | 'tear' | 'garbage' | 'random';
/** How many pending directory operations survive: all, none, or a random prefix of the ordered log. */
export type EntryFate = 'keep' | 'drop' | 'prefix';
/** Whether an unsynced file-size change survives. */
export type SizeFate = 'keep' | 'drop' | 'either';

export interface CrashPlan {
  sectors: CrashMode;
  entries?: EntryFate;
  size?: SizeFate;
}

export type SyncKind = 'datasync' | 'sync' | 'syncDir';

export interface SyncEvent {
  /** 1-based position of this barrier among all syncs (datasync, sync and syncDir) on this disk. */
  count: number;
  kind: SyncKind;
  path: string;
  /** `before`: the barrier has not taken effect yet; `after`: it has, but the caller has not been told. */
  phase: 'before' | 'after';
}

export interface SimDiskStats {
  writes: number;
  bytesWritten: number;
  datasyncs: number;
  fsyncs: number;
  dirSyncs: number;
  /** All barriers: datasyncs + fsyncs + dirSyncs. */
  syncs: number;
  crashes: number;
}

export interface SimFileInfo {
  path: string;
  size: number;
  durableSize: number;
  pendingSectors: number;
  /** The directory entry would survive a crash now. */
  entryDurable: boolean;
}

/** Thrown by a sync that a power cut interrupted, and by any handle opened before a power cut. */
export class PowerCutError extends Error {
  readonly code = 'EPOWERCUT';
  constructor(message: string) {
    super(message);
    this.name = 'PowerCutError';
  }
}

function errno(code: string, syscall: string, p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated ${syscall} '${p}'`), { code, syscall, path: p });
}

class Inode {
  cur = new ByteImage();
  dur = new ByteImage();
  /** Sectors written or truncated since the last successful sync, in first-touched order. */
  pending = new Set<number>();
  sizePending = false;
}

interface EntryEffect {
  path: string;
  inode: Inode | null;
}
interface DirOp {
  dirs: string[];
  effects: EntryEffect[];
}
interface FaultRule {
  match: (e: SyncEvent) => boolean;
  remaining: number;
  error?: Error;
}

const canon = (p: string) => path.posix.resolve('/', p);
const sectorFates = ['keep', 'drop', 'garbage'] as const;

class SimFile implements StorageFile {
  private closed = false;
  constructor(
    private readonly disk: SimDisk,
    readonly path: string,
    private readonly inode: Inode,
    private readonly writable: boolean,
    private readonly epoch: number,
  ) {}

  private live(syscall: string, write = false): Inode {
    if (this.epoch !== this.disk.epoch) throw new PowerCutError(`${syscall} on '${this.path}': handle opened before a power cut`);
    if (this.closed || (write && !this.writable)) throw errno('EBADF', syscall, this.path);
    return this.inode;
  }

  size(): number {
    return this.live('fstat').cur.size;
  }
  read(buf: Buffer, offset: number, length: number, position: number): number {
    return this.live('read').cur.read(buf, offset, length, position);
  }
  write(buf: Buffer, position: number): void {
    const inode = this.live('write', true);
    if (buf.length === 0) return;
    if (position + buf.length > inode.cur.size) inode.sizePending = true;
    inode.cur.write(buf, position);
    for (const s of sectorsOf(position, position + buf.length)) inode.pending.add(s);
    this.disk.countWrite(buf.length);
  }
  truncate(length: number): void {
    const inode = this.live('ftruncate', true);
    const old = inode.cur.size;
    if (length === old) return;
    for (const s of sectorsOf(Math.min(old, length), Math.max(old, length))) inode.pending.add(s);
    inode.cur.resize(length);
    inode.sizePending = true;
  }
  datasync(): void {
    this.disk.fileBarrier('datasync', this.path, this.live('fdatasync'));
  }
  sync(): void {
    this.disk.fileBarrier('sync', this.path, this.live('fsync'));
  }
  close(): void {
    this.live('close');
    this.closed = true;
  }
}

export class SimDisk implements Storage {
  /** Bumped by every crash; handles from an older epoch are dead. */
  epoch = 0;
  private readonly dirs = new Set<string>(['/']);
  private readonly files = new Map<string, Inode>();
  private readonly durable = new Map<string, Inode>();
  private ops: DirOp[] = [];
  private readonly locks = new Map<string, number>();
  private nextPid = 4000;
  private faults: FaultRule[] = [];
  private syncHook: ((e: SyncEvent) => void) | null = null;
  private readonly counters: SimDiskStats = { writes: 0, bytesWritten: 0, datasyncs: 0, fsyncs: 0, dirSyncs: 0, syncs: 0, crashes: 0 };

  // ---- Storage ----

  open(p: string, mode: 'r' | 'rw' | 'create'): StorageFile {
    const key = canon(p);
    let inode = this.files.get(key);
    if (mode === 'create') {
      if (inode || this.dirs.has(key)) throw errno('EEXIST', 'open', p);
      this.requireDir(path.posix.dirname(key), 'open', p);
      inode = new Inode();
      this.logOp([{ path: key, inode }]);
    } else if (!inode) {
      throw errno(this.dirs.has(key) ? 'EISDIR' : 'ENOENT', 'open', p);
    }
    return new SimFile(this, p, inode, mode !== 'r', this.epoch);
  }

  exists(p: string): boolean {
    const key = canon(p);
    return this.files.has(key) || this.dirs.has(key);
  }

  list(dir: string): string[] {
    const key = canon(dir);
    this.requireDir(key, 'scandir', dir);
    const names: string[] = [];
    for (const p of [...this.dirs, ...this.files.keys()]) {
      if (p !== '/' && path.posix.dirname(p) === key) names.push(path.posix.basename(p));
    }
    return names;
  }

  mkdirp(dir: string): void {
    for (let d = canon(dir); !this.dirs.has(d); d = path.posix.dirname(d)) {
      if (this.files.has(d)) throw errno('ENOTDIR', 'mkdir', dir);
      this.dirs.add(d);
    }
  }

  rename(from: string, to: string): void {
    const a = canon(from);
    const b = canon(to);
    const inode = this.files.get(a);
    if (!inode) throw errno('ENOENT', 'rename', from);
    this.requireDir(path.posix.dirname(b), 'rename', to);
    if (this.dirs.has(b)) throw errno('EISDIR', 'rename', to);
    if (a === b) return;
    this.logOp([
      { path: a, inode: null },
      { path: b, inode },
    ]);
  }

  remove(p: string): void {
    const key = canon(p);
    if (this.dirs.has(key)) throw errno('EISDIR', 'rm', p);
    if (this.files.has(key)) this.logOp([{ path: key, inode: null }]);
  }

  syncDir(dir: string): void {
    const key = canon(dir);
    this.requireDir(key, 'fsync', dir);
    this.barrier('syncDir', dir, () => {
      let last = -1;
      this.ops.forEach((op, i) => {
        if (op.dirs.includes(key)) last = i;
      });
      for (const op of this.ops.splice(0, last + 1)) this.applyDurably(op);
    });
  }

  lock(dir: string): { release(): void } {
    const key = canon(dir);
    this.requireDir(key, 'open', dir);
    const holder = this.locks.get(key);
    if (holder !== undefined) throw new JournalLockedError(dir, holder);
    const pid = this.nextPid++;
    this.locks.set(key, pid);
    // Like the real adapter, a LOCK file holding the pid; a stale one left by a crash is replaced.
    const lockPath = path.posix.join(key, 'LOCK');
    const inode = new Inode();
    inode.cur.write(Buffer.from(`${pid}\n`), 0);
    inode.pending.add(0);
    inode.sizePending = true;
    this.logOp([{ path: lockPath, inode }]);
    const epoch = this.epoch;
    return {
      release: () => {
        if (epoch !== this.epoch || this.locks.get(key) !== pid) return;
        this.locks.delete(key);
        if (this.files.get(lockPath) === inode) this.logOp([{ path: lockPath, inode: null }]);
      },
    };
  }

  // ---- power loss ----

  /**
   * Power cut: decides the fate of every pending sector, size change and directory operation, makes the
   * result both the durable and the current image, invalidates all handles and releases all locks.
   */
  crash(rng: Rng, plan: CrashMode | CrashPlan = 'random'): void {
    const { sectors, entries, size } = typeof plan === 'string' ? { sectors: plan } : plan;
    const entryFate: EntryFate = entries ?? (sectors === 'keep' ? 'keep' : sectors === 'drop' ? 'drop' : 'prefix');
    const sizeFate: SizeFate = size ?? (sectors === 'keep' ? 'keep' : sectors === 'drop' ? 'drop' : 'either');

    const kept = entryFate === 'keep' ? this.ops.length : entryFate === 'drop' ? 0 : rng.int(this.ops.length + 1);
    for (const op of this.ops.slice(0, kept)) this.applyDurably(op);
    this.ops = [];

    // Inodes in first-seen order so the rng stream, and so the outcome, depends only on the seed.
    const inodes = new Set<Inode>([...this.files.values(), ...this.durable.values()]);
    for (const inode of inodes) {
      const keepSize = inode.sizePending && (sizeFate === 'keep' || (sizeFate === 'either' && rng.chance(0.5)));
      const img = inode.dur;
      img.resize(keepSize ? inode.cur.size : img.size);
      for (const s of inode.pending) {
        const fate = sectors === 'tear' ? (rng.chance(0.5) ? 'keep' : 'drop') : sectors === 'random' ? sectorFates[rng.int(3)]! : sectors;
        if (fate === 'keep') img.copySectorFrom(inode.cur, s);
        else if (fate === 'garbage') img.garbleSector(s, (b) => rng.fill(b));
      }
      inode.cur = img.clone();
      inode.pending.clear();
      inode.sizePending = false;
    }

    this.files.clear();
    for (const [p, inode] of this.durable) this.files.set(p, inode);
    this.locks.clear();
    this.epoch++;
    this.counters.crashes++;
  }

  /** Crashes during the `count`-th barrier (see SyncEvent.count); that sync call throws PowerCutError. */
  crashAtSync(count: number, rng: Rng, plan: CrashMode | CrashPlan = 'random', phase: SyncEvent['phase'] = 'before'): void {
    this.onSync((e) => {
      if (e.count === count && e.phase === phase) {
        this.onSync(null);
        this.crash(rng, plan);
      }
    });
  }

  /** Called before and after every barrier; a hook that calls crash() makes that sync throw PowerCutError. */
  onSync(hook: ((e: SyncEvent) => void) | null): void {
    this.syncHook = hook;
  }

  // ---- other faults ----

  /** The next matching sync (by default the next datasync or sync of a file) fails with EIO. */
  failNextSync(opts: { kind?: SyncKind | 'file'; error?: Error } = {}): void {
    const kind = opts.kind ?? 'file';
    this.failSyncsWhere((e) => (kind === 'file' ? e.kind !== 'syncDir' : e.kind === kind), { times: 1, error: opts.error });
  }

  /** Every sync matching `match` fails (up to `times`), e.g. `e => e.count === 7`. */
  failSyncsWhere(match: (e: SyncEvent) => boolean, opts: { times?: number; error?: Error } = {}): void {
    this.faults.push({ match, remaining: opts.times ?? Infinity, error: opts.error });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Media damage (bit rot, a bad sector): overwrites bytes in both images without any sync. */
  damage(p: string, position: number, bytes: Uint8Array): void {
    const inode = this.files.get(canon(p));
    if (!inode) throw errno('ENOENT', 'damage', p);
    if (position + bytes.length > inode.dur.size) throw new RangeError(`damage past the durable end of ${p}`);
    inode.dur.write(bytes, position);
    inode.cur.write(bytes, position);
  }

  // ---- introspection ----

  get stats(): SimDiskStats {
    return { ...this.counters };
  }

  fileInfo(): SimFileInfo[] {
    return [...this.files]
      .map(([p, inode]) => ({
        path: p,
        size: inode.cur.size,
        durableSize: inode.dur.size,
        pendingSectors: inode.pending.size,
        entryDurable: this.durable.get(p) === inode,
      }))
      .sort((x, y) => (x.path < y.path ? -1 : 1));
  }

  /** What the process sees now. */
  readFile(p: string): Buffer {
    const inode = this.files.get(canon(p));
    if (!inode) throw errno('ENOENT', 'open', p);
    return inode.cur.bytes();
  }

  /** The file's data as it is on the platter (what a crash would keep if every pending sector dropped). */
  durableBytes(p: string): Buffer {
    const inode = this.files.get(canon(p));
    if (!inode) throw errno('ENOENT', 'open', p);
    return inode.dur.bytes();
  }

  // ---- internals used by SimFile ----

  countWrite(bytes: number): void {
    this.counters.writes++;
    this.counters.bytesWritten += bytes;
  }

  fileBarrier(kind: 'datasync' | 'sync', p: string, inode: Inode): void {
    this.barrier(
      kind,
      p,
      () => {
        inode.dur.resize(inode.cur.size);
        for (const s of inode.pending) inode.dur.copySectorFrom(inode.cur, s);
        inode.pending.clear();
        inode.sizePending = false;
      },
      () => {
        // Linux after fsync EIO: dirty pages are marked clean, their data never reached the platter.
        inode.pending.clear();
        inode.sizePending = false;
      },
    );
  }

  private barrier(kind: SyncKind, p: string, effect: () => void, onFail?: () => void): void {
    const epoch = this.epoch;
    const count = ++this.counters.syncs;
    if (kind === 'datasync') this.counters.datasyncs++;
    else if (kind === 'sync') this.counters.fsyncs++;
    else this.counters.dirSyncs++;
    const event: SyncEvent = { count, kind, path: p, phase: 'before' };
    const cut = () => new PowerCutError(`power cut during ${kind} #${count} of '${p}'`);

    this.syncHook?.(event);
    if (epoch !== this.epoch) throw cut();
    const fault = this.faults.find((f) => f.remaining > 0 && f.match(event));
    if (fault) {
      fault.remaining--;
      onFail?.();
      throw fault.error ?? errno('EIO', kind, p);
    }
    effect();
    this.syncHook?.({ ...event, phase: 'after' });
    if (epoch !== this.epoch) throw cut();
  }

  private requireDir(key: string, syscall: string, p: string): void {
    if (!this.dirs.has(key)) throw errno(this.files.has(key) ? 'ENOTDIR' : 'ENOENT', syscall, p);
  }

  private logOp(effects: EntryEffect[]): void {
    for (const e of effects) {
      if (e.inode) this.files.set(e.path, e.inode);
      else this.files.delete(e.path);
    }
    this.ops.push({ dirs: [...new Set(effects.map((e) => path.posix.dirname(e.path)))], effects });
  }

  private applyDurably(op: DirOp): void {
    for (const e of op.effects) {
      if (e.inode) this.durable.set(e.path, e.inode);
      else this.durable.delete(e.path);
    }
  }
}
