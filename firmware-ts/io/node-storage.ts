import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Storage, StorageFile } from './storage.js';
import { takeGuard, takeLock } from './lock-file.js';
import { syncDir } from './sync-dir.js';

/** Node's ENOSPC / EIO messages name the syscall, not the file: add the path, keep code and errno. */
function named<T>(p: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw withPath(e, p);
  }
}

function withPath(e: unknown, p: string): unknown {
  if (e instanceof Error && !e.message.includes(p)) {
    e.message = `${e.message} '${p}'`;
    (e as NodeJS.ErrnoException).path ??= p;
  }
  return e;
}

class NodeFile implements StorageFile {
  constructor(
    readonly path: string,
    private fd: number,
  ) {}
  size(): number {
    return named(this.path, () => fs.fstatSync(this.fd).size);
  }
  read(buf: Buffer, offset: number, length: number, position: number): number {
    return named(this.path, () => fs.readSync(this.fd, buf, offset, length, position));
  }
  // The journal's append path calls these twice per durable record: no closure per call.
  write(buf: Buffer, position: number): void {
    try {
      let done = 0;
      while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, position + done);
    } catch (e) {
      throw withPath(e, this.path);
    }
  }
  datasync(): void {
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw withPath(e, this.path);
    }
  }
  sync(): void {
    named(this.path, () => fs.fsyncSync(this.fd));
  }
  truncate(length: number): void {
    named(this.path, () => fs.ftruncateSync(this.fd, length));
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

/** mkdir -p whose new entries survive a power cut: each created directory's parent is fsynced (ALICE). */
export function mkdirDurable(dir: string, mode = 0o700): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    syncDir(path.dirname(d));
    if (d === path.resolve(first)) return;
  }
}

/** The real file system. */
export const nodeStorage: Storage = {
  open(p, mode) {
    const flags = mode === 'r' ? 'r' : mode === 'rw' ? 'r+' : 'wx+';
    return new NodeFile(p, named(p, () => fs.openSync(p, flags, 0o600)));
  },
  exists: (p) => fs.existsSync(p),
  list: (dir) => fs.readdirSync(dir),
  mkdirp: (dir) => mkdirDurable(dir),
  rename: (a, b) => named(b, () => fs.renameSync(a, b)),
  remove: (p) => named(p, () => fs.rmSync(p, { force: true })),
  syncDir: (dir) => named(dir, () => syncDir(dir)),
  freeBytes(dir) {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  },
  async preallocate(p, size) {
    const fh = await fs.promises.open(p, 'wx', 0o600);
    try {
      const zeros = Buffer.alloc(256 * 1024);
      for (let at = 0; at < size; at += zeros.length) await fh.write(zeros, 0, Math.min(zeros.length, size - at), at);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  // Boot, PID and start time in LOCK, so a reboot or a reused PID never leaves a lock an operator must clear.
  lock: (dir) => takeLock(dir),
  guard: (dir) => takeGuard(dir),
};
