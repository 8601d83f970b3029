import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Storage, StorageFile } from './storage.js';
import { JournalLockedError } from '../journal/errors.js';

class NodeFile implements StorageFile {
  constructor(
    readonly path: string,
    private fd: number,
  ) {}
  size(): number {
    return fs.fstatSync(this.fd).size;
  }
  read(buf: Buffer, offset: number, length: number, position: number): number {
    return fs.readSync(this.fd, buf, offset, length, position);
  }
  write(buf: Buffer, position: number): void {
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, position + done);
  }
  datasync(): void {
    fs.fdatasyncSync(this.fd);
  }
  sync(): void {
    fs.fsyncSync(this.fd);
  }
  truncate(length: number): void {
    fs.ftruncateSync(this.fd, length);
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The real file system. */
export const nodeStorage: Storage = {
  open(p, mode) {
    const flags = mode === 'r' ? 'r' : mode === 'rw' ? 'r+' : 'wx+';
    return new NodeFile(p, fs.openSync(p, flags, 0o600));
  },
  exists: (p) => fs.existsSync(p),
  list: (dir) => fs.readdirSync(dir),
  mkdirp: (dir) => void fs.mkdirSync(dir, { recursive: true, mode: 0o700 }),
  rename: (a, b) => fs.renameSync(a, b),
  remove: (p) => fs.rmSync(p, { force: true }),
  syncDir(dir) {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
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
  lock(dir) {
    // A pid file created with O_EXCL; a lock left by a dead process (power cut, SIGKILL) is taken over.
    const lockPath = path.join(dir, 'LOCK');
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(lockPath, 'wx', 0o600);
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        return {
          release() {
            try {
              if (fs.readFileSync(lockPath, 'utf8').trim() === String(process.pid)) fs.rmSync(lockPath);
            } catch {
              /* already gone */
            }
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = Number.parseInt(fs.readFileSync(lockPath, 'utf8').trim(), 10);
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
          throw new JournalLockedError(dir, holder);
        }
        if (holder === process.pid) throw new JournalLockedError(dir, holder);
        fs.rmSync(lockPath, { force: true });
      }
    }
    throw new JournalLockedError(dir, -1);
  },
};
