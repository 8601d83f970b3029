// A pair of connected pseudo-terminals made by socat, so drivers and simulators talk through a real tty and
// real `serialport` instead of a mock (tests and `posj-bridge bench serial-abuse`). The links live under a
// scratch dir; `a` and `b` are stable paths, so a caller can kill the pair (unplug) and make a new one at
// the same paths (replug).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The socat binary: $SOCAT, else /usr/bin/socat (where `.ci/run` installs it with apt). */
export function socatPath(): string {
  return process.env.SOCAT ?? '/usr/bin/socat';
}

export interface PtyPair {
  /** Link path of one end (a symlink to /dev/pts/N). */
  a: string;
  /** Link path of the other end. */
  b: string;
  /** Kills socat and waits for it to exit: both ends see the line go away. */
  close(): Promise<void>;
}

export interface PtyPairOptions {
  /** Where fresh link paths are made; default a new directory under the system temp dir. */
  dir?: string;
  /** Reuse these link paths (replug at the same place); default: fresh paths under `dir`. */
  a?: string;
  b?: string;
  /** How long to wait for socat to create both links. */
  readyTimeoutMs?: number;
}

function socatPresent(socat: string): boolean {
  try {
    fs.accessSync(socat, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function createPtyPair(opts: PtyPairOptions = {}): Promise<PtyPair> {
  // Pty tests must fail loudly, never skip, when the tool that makes the ptys is absent.
  const socat = socatPath();
  if (!socatPresent(socat)) {
    throw new Error(`socat not found at ${socat}: the serial pty tests need it (apt-get install socat, or set SOCAT=/path/to/socat)`);
  }
  const dir = opts.a && opts.b ? undefined : (opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'posj-pty-')));
  const a = opts.a ?? path.join(dir!, 'a');
  const b = opts.b ?? path.join(dir!, 'b');
  // A stale link from a killed socat would make the readiness check pass too early.
  for (const p of [a, b]) fs.rmSync(p, { force: true });
  const child: ChildProcess = spawn(
    socat,
    ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('latin1');
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  const deadline = (opts.readyTimeoutMs ?? 5000) / 20;
  for (let i = 0; ; i++) {
    // socat logs "starting data transfer loop" once both ptys are made and linked.
    if (fs.existsSync(a) && fs.existsSync(b) && stderr.includes('starting data transfer loop')) break;
    if (exited) throw new Error(`socat exited before the pty pair was ready: ${stderr.trim()}`);
    if (i >= deadline) {
      child.kill('SIGKILL');
      throw new Error(`socat did not create ${a} and ${b} in time: ${stderr.trim()}`);
    }
    await sleep(20);
  }
  return {
    a,
    b,
    async close() {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
  };
}
