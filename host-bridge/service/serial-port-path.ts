// The bench's check of a serial port path before it opens one. ReconnectingPort retries an open that fails
// for ever (right for a cable re-plugged mid-flash), so a path that can never be a serial line — a typo
// (ENOENT), a plain file, /dev/null — would otherwise cost every request's timeout and retries and end as
// "the line is down". Checked once, before the first open: a port that vanishes later (a USB cable pulled
// during --retry-for) is still waited for by the port itself.
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { systemClock } from '../../protocol/io/clock.js';
import type { DeviceLog } from '../../protocol/io/device-log.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';

export class SerialPortPathError extends Error {
  constructor(
    readonly code: 'SERIAL_PORT_MISSING' | 'SERIAL_PORT_NOT_A_TTY',
    readonly path: string,
    readonly reason: string,
  ) {
    super(`serial port ${path}: ${reason}`);
    this.name = 'SerialPortPathError';
  }
}

function kindOf(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a character device';
}

/** Why `path` cannot be a serial line now, or null when it is a terminal device (a tty, a pty, a USB serial port). */
export function serialPathProblem(path: string): SerialPortPathError | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return new SerialPortPathError('SERIAL_PORT_MISSING', path, code === 'ENOENT' ? 'does not exist (ENOENT)' : `cannot be read (${code})`);
  }
  if (!st.isCharacterDevice()) return new SerialPortPathError('SERIAL_PORT_NOT_A_TTY', path, `is ${kindOf(st)}, not a terminal device`);
  // A character device may still be no tty (/dev/null): only an open fd can tell. O_NONBLOCK so a modem
  // line without carrier does not hold the open, O_NOCTTY so it never becomes our controlling terminal.
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    // Busy or not ours to open: the port's own open says so; not a reason to call the path wrong.
    if (code === 'EBUSY' || code === 'EACCES' || code === 'EPERM') return null;
    return new SerialPortPathError('SERIAL_PORT_MISSING', path, `cannot be opened (${code})`);
  }
  try {
    return tty.isatty(fd) ? null : new SerialPortPathError('SERIAL_PORT_NOT_A_TTY', path, 'is a character device but not a terminal (a tty, pty or USB serial port)');
  } finally {
    fs.closeSync(fd);
  }
}

/** Throws the SerialPortPathError when `path` cannot be a serial line. */
export function checkSerialPath(path: string): void {
  const problem = serialPathProblem(path);
  if (problem) throw problem;
}

/** Waits (bounded) for the serial line to open, so the first frames are not sent into a closed port. */
export function untilOpen(port: ReconnectingPort, ms = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (port.health().state === 'open') return resolve();
    const timer = systemClock.setTimer(ms, () => (off(), resolve()));
    const off = port.onState((h) => {
      if (h.state !== 'open') return;
      timer.cancel();
      off();
      resolve();
    });
  });
}

const quiet: DeviceLog = { info: () => undefined, warn: () => undefined };

/** A terminal's service port for a bench command: the path checked first, then opened (bounded wait). */
export async function openServicePort(o: { path: string; baud: number; log?: DeviceLog; openMs?: number }): Promise<ReconnectingPort> {
  checkSerialPath(o.path);
  const port = new ReconnectingPort({ path: o.path, baudRate: o.baud, clock: systemClock, log: o.log ?? quiet });
  port.start();
  await untilOpen(port, o.openMs);
  return port;
}
