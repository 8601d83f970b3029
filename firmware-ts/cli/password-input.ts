// The supervisor password without the command line (where `ps` and shell history keep it): a prompt
// without echo when a terminal is attached, else the first line of stdin, or of a file descriptor a script
// opened (`--password-fd 3 3<secret`). `--password` still works for tests and is never required.
import * as fs from 'node:fs';

export interface PasswordSource {
  password?: string;
  passwordFd?: number;
}

/** Reads lines from a descriptor until `count` lines or end of input. */
function readLines(fd: number, count: number): string[] {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(256);
  for (;;) {
    const text = Buffer.concat(chunks).toString('utf8');
    const lines = text.split('\n');
    if (lines.length > count) return lines.slice(0, count).map((l) => l.replace(/\r$/, ''));
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw new Error(`cannot read the password from fd ${fd}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (n === 0) return lines.slice(0, count).map((l) => l.replace(/\r$/, ''));
    chunks.push(Buffer.from(buf.subarray(0, n)));
    if (Buffer.concat(chunks).length > 4096) throw new Error('password input over 4 KiB: refused');
  }
}

/** A prompt on stderr; what is typed is not echoed. Ctrl-C or Ctrl-D gives up. */
function promptNoEcho(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    // Echo off before the prompt shows: whoever types as soon as they see it must not be echoed.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    let typed = '';
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || ch === '\u0004') return done(new Error('no password given (cancelled)'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The passwords asked for, in order (`prompts`): from the flag, the fd, the terminal or stdin. */
export async function readPasswords(src: PasswordSource, prompts: string[]): Promise<string[]> {
  if (src.password !== undefined && prompts.length === 1) return [src.password];
  let got: string[];
  if (src.passwordFd !== undefined) got = readLines(src.passwordFd, prompts.length);
  else if (process.stdin.isTTY) {
    got = [];
    for (const p of prompts) got.push(await promptNoEcho(p));
  } else got = readLines(0, prompts.length);
  const missing = prompts.findIndex((_, i) => !got[i]);
  if (missing >= 0) throw new Error(`no password read for "${prompts[missing]!.replace(/:\s*$/, '')}" (a prompt on a terminal, a line on stdin, or --password-fd N)`);
  return got;
}
