// The journal's single-writer lock: a `LOCK` file naming its holder by boot, PID and the PID's start time,
// so that no power cut, reboot or reused PID can leave a lock an operator must remove by hand (issue 8
// item 9). A PID alone is not a holder: after a reboot it may belong to another live process, and in a
// container every boot's daemon may be PID 1. The holder is live only if the boot is this boot, the PID
// is running, and it started when the holder did.
//
// The file appears whole or not at all: written to a temp file, fsynced, then hard-linked to `LOCK` (link
// fails if `LOCK` exists, like O_EXCL), then the directory is fsynced. A LOCK from an older version (a bare
// PID) is judged by its time: written before this boot, or before its PID started, it is stale.
//
// Two processes that find the same stale LOCK at the same instant would both remove it; the kernel-held
// guard (holder-guard.ts), taken before the LOCK, lets only one of them get this far.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { JournalLockedError } from '../journal/errors.js';
import { syncDir } from './sync-dir.js';
import { GuardHeldError, guardName, takeHolderGuard } from './holder-guard.js';

interface Holder {
  pid: number;
  /** `/proc/sys/kernel/random/boot_id`, or null where there is no /proc. */
  bootId: string | null;
  /** Field 22 of `/proc/PID/stat` (clock ticks after boot), or null where there is no /proc. */
  startTime: string | null;
  nonce: string;
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** 12 characters: too short to hold a 13-digit run, so a LOCK never looks like a card number to the PCI scan
 *  (16 hex digits did, about one LOCK in a thousand). */
function lockNonce(): string {
  return randomBytes(9).toString('base64url');
}

export function bootId(): string | null {
  return readOrNull('/proc/sys/kernel/random/boot_id')?.trim() || null;
}

/** When the PID started, in clock ticks after boot; null if it is not running (or no /proc). */
export function processStartTime(pid: number): string | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

/** This boot's start, epoch ms (btime in /proc/stat), or null. */
function bootTimeMs(): number | null {
  const m = /^btime (\d+)$/m.exec(readOrNull('/proc/stat') ?? '');
  return m ? Number(m[1]) * 1000 : null;
}

/**
 * A zombie is not running: it holds no file, and after a power-cut-like kill of a launcher and its daemon,
 * an init that is slow to reap (or never reaps, in some containers) would otherwise block every boot.
 */
function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = readOrNull(`/proc/${pid}/stat`);
  const state = stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function parseHolder(text: string): Holder | { legacyPid: number } | null {
  if (/^\d+\s*$/.test(text) && Number(text) > 0) return { legacyPid: Number(text) };
  try {
    const v = JSON.parse(text) as Partial<Holder>;
    if (typeof v === 'object' && v !== null && Number.isInteger(v.pid) && typeof v.nonce === 'string') {
      return { pid: v.pid!, bootId: v.bootId ?? null, startTime: v.startTime ?? null, nonce: v.nonce };
    }
  } catch {
    // neither form: unreadable
  }
  return null;
}

/** Why the LOCK's holder is known gone, or null when it may still be writing. */
export function staleReason(lockPath: string): string | null {
  const text = readOrNull(lockPath);
  if (text === null) return 'LOCK vanished';
  const h = parseHolder(text);
  if (h === null) return 'LOCK unreadable';
  if ('legacyPid' in h) {
    const written = fs.statSync(lockPath, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    const boot = bootTimeMs();
    if (!pidRunning(h.legacyPid)) return `pid ${h.legacyPid} not running`;
    if (boot !== null && written < boot) return 'written before this boot';
    const started = processStartTime(h.legacyPid);
    // Start ticks are 1/100 s after boot on Linux; a PID that started after the LOCK was written is not its writer.
    if (boot !== null && started !== null && boot + Number(started) * 10 > written + 1000) return `pid ${h.legacyPid} started after the LOCK was written`;
    return null;
  }
  const boot = bootId();
  if (h.bootId !== null && boot !== null && h.bootId !== boot) return 'taken in an earlier boot';
  if (!pidRunning(h.pid)) return `pid ${h.pid} not running`;
  const started = processStartTime(h.pid);
  if (h.startTime !== null && started !== null && started !== h.startTime) return `pid ${h.pid} is another process now`;
  return null;
}

function holderPid(lockPath: string): number {
  const h = parseHolder(readOrNull(lockPath) ?? '');
  return h === null ? -1 : 'legacyPid' in h ? h.legacyPid : h.pid;
}

/**
 * Takes the lock on `dir` or throws JournalLockedError naming the live holder's PID. `onStale` hears why
 * a LOCK left by a gone holder was taken over.
 */
export function takeLock(dir: string, onStale?: (reason: string) => void): { release(): void } {
  const lockPath = path.join(dir, 'LOCK');
  const me: Holder = { pid: process.pid, bootId: bootId(), startTime: processStartTime(process.pid), nonce: lockNonce() };
  const text = JSON.stringify(me) + '\n';
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = path.join(dir, `LOCK.${process.pid}.${me.nonce}.tmp`);
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } catch (e) {
      // A full disk fails the write: the empty temp file must not stay behind for an operator to find.
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    try {
      fs.linkSync(tmp, lockPath);
      fs.rmSync(tmp);
      syncDir(dir);
      return {
        release() {
          if (readOrNull(lockPath) === text) {
            fs.rmSync(lockPath, { force: true });
            syncDir(dir);
          }
        },
      };
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const stale = staleReason(lockPath);
      if (stale === null) throw new JournalLockedError(dir, holderPid(lockPath));
      onStale?.(stale);
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new JournalLockedError(dir, -1);
}

/**
 * The guard of `dir`, or JournalLockedError naming the PID its holder answered with. A holder too busy to
 * answer (a long synchronous step) is named after the LOCK file when that names a live process; a LOCK
 * naming a process long gone is not repeated.
 */
export async function takeGuard(dir: string): Promise<{ release(): void }> {
  try {
    return (await takeHolderGuard(dir)) ?? { release() {} };
  } catch (e) {
    if (!(e instanceof GuardHeldError)) throw e;
    const lockPath = path.join(dir, 'LOCK');
    const pid = e.pid > 0 ? e.pid : staleReason(lockPath) === null ? holderPid(lockPath) : -1;
    throw new JournalLockedError(dir, pid, `is held by a live process that did not say its PID (its guard ${guardName(dir).slice(1)} is bound)`);
  }
}
