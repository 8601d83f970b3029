// The supervisor password typed at a real terminal: `posj supervisor set` runs on a pseudo-terminal that
// util-linux `script` allocates (the process's stdin is a TTY, as at a shell), the password is typed only
// after the prompt shows, and everything the terminal displayed is read back: the prompt is there, the
// password is not (a TTY echoes typed characters unless the program turns echo off). The daemon got it:
// the password is set and a wrong one is refused.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import { embeddedConfig, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const PASSWORD = 'Qz7-nOecho';

/** Runs `posj args` on a pty; types `typed` once `prompt` is on the screen. Resolves with the screen and the exit code. */
function onTerminal(args: string[], prompt: string, typed: string): Promise<{ screen: string; code: number | null }> {
  const cmd = [process.execPath, POSJ, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    // -q: no banner; -e: the command's exit code; /dev/null: no typescript file.
    const p = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let sent = false;
    p.stdout.on('data', (c: Buffer) => {
      screen += c.toString('utf8');
      if (!sent && screen.includes(prompt)) {
        sent = true;
        p.stdin.write(`${typed}\r`);
      }
    });
    p.on('error', reject);
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ screen, code });
    });
  });
}

describe('the supervisor password at a terminal', () => {
  it('is prompted for and not echoed; the daemon gets it', async () => {
    const config = embeddedConfig(tmpDir('tty'));
    const sim = await startSimulatedDaemon({ config, log: lineLog(() => undefined, systemClock) });
    try {
      const r = await onTerminal(['supervisor', 'set', '--socket', sim.daemon.socketPath], 'new supervisor password: ', PASSWORD);
      expect(r.screen).toContain('new supervisor password: ');
      expect(r.screen).not.toContain(PASSWORD);
      expect(r.screen).not.toContain(PASSWORD.slice(0, 4));
      expect(r.code).toBe(0);
      const status = (await controlCall(sim.daemon.socketPath, { op: 'status' })) as { result: { supervisor: { set: boolean } } };
      expect(status.result.supervisor.set).toBe(true);
      const wrong = (await controlCall(sim.daemon.socketPath, { op: 'close-reversal', stan: 1, password: 'not-it', reason: 'x' })) as { result: { closed: boolean } };
      expect(wrong.result.closed).toBe(false);
    } finally {
      await sim.daemon.stop();
    }
  });

  it('the same terminal echoes what is typed when nothing turns echo off (the check above can fail)', async () => {
    const r = await new Promise<string>((resolve) => {
      const p = spawn('script', ['-q', '-c', `${process.execPath} -e "process.stdin.once('data', () => process.exit(0)); process.stdout.write('type: ')"`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let screen = '';
      let sent = false;
      // The echo comes back as more output with the prompt still on the screen: type once, or the second
      // write goes to a `script` that has exited (EPIPE, which failed a loaded full-suite run).
      p.stdout.on('data', (c: Buffer) => {
        screen += c.toString('utf8');
        if (!sent && screen.includes('type: ')) {
          sent = true;
          p.stdin.write(`${PASSWORD}\r`);
        }
      });
      p.on('close', () => resolve(screen));
    });
    expect(r).toContain(PASSWORD);
  });
});
