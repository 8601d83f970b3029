// The journal lock's kernel half: an abstract Unix socket named after the journal directory's device and
// inode, bound for as long as the journal is open. The kernel frees the name the moment its holder dies,
// however it dies, so when two processes find the same stale LOCK at once only the one holding the name
// may take it over; the LOCK file alone cannot tell them apart (both read "stale", both replace it).
// Abstract names exist on Linux, Android included; elsewhere the LOCK file decides alone. They are per
// network namespace: two containers with their own namespaces sharing one journal directory fall back to
// the LOCK file's PID and boot checks.
import * as fs from 'node:fs';
import * as net from 'node:net';

export interface HolderGuard {
  release(): void;
}

/** The abstract socket name for `dir` (its device and inode, so every path to it names the same guard). */
export function guardName(dir: string): string {
  const st = fs.statSync(dir, { bigint: true });
  return `\0pos-journal-lock:${st.dev}:${st.ino}`;
}

/** Raised when a live process holds the guard; `pid` is what the holder answered (-1 if it did not). */
export class GuardHeldError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the journal in ${dir} is open in a live process${pid > 0 ? ` (pid ${pid})` : ''}`);
  }
}

/** Asks the guard's holder for its PID: the LOCK file may name a gone process while the holder lives. */
function askHolder(name: string): Promise<number> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect(name);
    const done = () => {
      socket.destroy();
      resolve(/^\d+\n/.test(answer) ? Number.parseInt(answer, 10) : -1);
    };
    socket.setTimeout(1000, done);
    socket.on('data', (c: Buffer) => {
      answer += c.toString('latin1');
      if (answer.length > 32 || answer.includes('\n')) done();
    });
    socket.on('end', done);
    socket.on('error', done);
  });
}

/**
 * Binds the guard of `dir`. Resolves with it, with null where the platform has no abstract sockets, or
 * rejects with GuardHeldError when a live process holds it.
 */
export function takeHolderGuard(dir: string): Promise<HolderGuard | null> {
  if (process.platform !== 'linux') return Promise.resolve(null);
  const name = guardName(dir);
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.end(`${process.pid}\n`));
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') void askHolder(name).then((pid) => reject(new GuardHeldError(dir, pid)));
      else reject(e);
    });
    server.listen(name, () => {
      // The guard must not keep a finished command (verify, repair) alive.
      server.unref();
      resolve({ release: () => server.close() });
    });
  });
}
