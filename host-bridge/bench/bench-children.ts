// Every process a bench run starts (acquirer simulator, network gate, socat, reader and printer simulators,
// the terminal daemon) is spawned here, each as the leader of its own process group, and killed as a group:
// a socat or daemon left behind by a crashed or interrupted run holds ptys, ports and the journal lock.
// `killAllGroups` runs on normal exit, on SIGINT/SIGTERM and on an uncaught error. The tests' process rig
// (test/helpers/kill-rig.ts) reads its children's output with the same `readLines`.
import { spawn, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const groups = new Set<number>();
let hooked = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** SIGKILLs every process group the bench started (synchronous: safe in an exit handler). */
export function killAllGroups(): void {
  for (const pid of groups) {
    killGroup(pid, 'SIGCONT');
    killGroup(pid, 'SIGKILL');
  }
  groups.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllGroups);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllGroups();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** A line of output that is a JSON object, parsed (a log line that only looks like JSON is not). */
function jsonEvent(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Calls `each` with every whole line of an output stream (UTF-8 split across chunks kept whole), and its JSON object if it is one. */
export function readLines(stream: Readable, each: (line: string, event: Record<string, unknown> | undefined) => void, raw?: (chunk: Buffer) => void): void {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  stream.on('data', (c: Buffer) => {
    raw?.(c);
    buf += decoder.write(c);
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      each(line, jsonEvent(line));
    }
  });
}

/** A child whose output lines are kept (stdout and stderr both); JSON lines are parsed too. */
export class BenchChild {
  readonly lines: string[] = [];
  readonly events: Array<Record<string, unknown>> = [];
  readonly exited: Promise<ChildExit>;
  private exitInfo: ChildExit | null = null;
  private readonly listeners = new Set<(line: string) => void>();
  readonly pid: number;
  /** Lines seen so far (`lines` keeps only the newest): a mark for `linesSince`. */
  seen = 0;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    /** `keepGroupAfterExit`: a shell command (a power relay's) may start something meant to outlive it. */
    opts: { logFile?: string; stdin?: boolean; env?: NodeJS.ProcessEnv; keepGroupAfterExit?: boolean } = {},
  ) {
    hookExit();
    const spawnOpts: SpawnOptions = { detached: true, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) };
    const proc = spawn(command, args, spawnOpts);
    if (proc.pid === undefined) throw new Error(`${name}: could not start ${command}`);
    this.pid = proc.pid;
    groups.add(this.pid);
    this.proc = proc;
    const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : null;
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        groups.delete(this.pid);
        // Whatever the leader left in its group goes with it (a launcher's daemon, say).
        if (!opts.keepGroupAfterExit) killGroup(this.pid, 'SIGKILL');
        this.exitInfo = { code, signal };
        log?.end();
        resolve(this.exitInfo);
      }),
    );
    for (const stream of [proc.stdout!, proc.stderr!]) {
      readLines(
        stream,
        (line, event) => {
          this.lines.push(line);
          this.seen++;
          if (this.lines.length > 5000) this.lines.splice(0, 1000);
          if (event) this.events.push(event);
          for (const l of this.listeners) l(line);
        },
        (c) => log?.write(c),
      );
    }
  }

  private readonly proc: ReturnType<typeof spawn>;

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** The lines after `mark` (a value of `seen`) that are still kept. */
  linesSince(mark: number): string[] {
    return this.lines.slice(Math.max(0, this.lines.length - (this.seen - mark)));
  }

  /** Writes one control line to the child's stdin. */
  send(line: string): void {
    if (!this.proc.stdin) throw new Error(`${this.name}: no stdin to send "${line}" to`);
    this.proc.stdin.write(line + '\n');
  }

  /** Resolves with the first line (from now on, or already seen when `seen` is true) matching `re`. */
  waitLine(re: RegExp, what: string, ms: number, opts: { seen?: boolean } = {}): Promise<string> {
    if (opts.seen) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit !== undefined) return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.name}: timed out after ${ms} ms waiting for ${what}\n${this.lines.slice(-8).join('\n')}`)), ms);
      const onLine = (line: string) => re.test(line) && done(null, line);
      const onExit = () => done(new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) while waiting for ${what}\n${this.lines.slice(-8).join('\n')}`));
      const done = (err: Error | null, line?: string) => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
        if (err) reject(err);
        else resolve(line!);
      };
      this.listeners.add(onLine);
      void this.exited.then(() => setTimeout(onExit, 20));
    });
  }

  /** SIGKILLs the child's whole group and waits for the leader to go. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ChildExit> {
    if (this.running) {
      killGroup(this.pid, 'SIGCONT');
      killGroup(this.pid, signal);
    }
    return this.exited;
  }
}
