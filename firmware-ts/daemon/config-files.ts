// The file-system half of the config check, run before the journal opens or a byte goes to the acquirer:
// each path the terminal will create or open is looked at now, and a problem is a ConfigError naming the
// key and the path (EISDIR, ENOTDIR, EEXIST, EACCES), never a bare errno from deep inside the boot.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, MAX_SOCKET_PATH_BYTES, type TerminalConfig } from './config.js';

function stat(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function access(key: string, p: string, mode: number, what: string): void {
  try {
    fs.accessSync(p, mode);
  } catch (e) {
    throw new ConfigError(key, `${p}: ${(e as NodeJS.ErrnoException).code ?? 'error'}: ${what}`);
  }
}

/** The directory `p` will be created in: its nearest existing ancestor must be a writable directory. */
function creatable(key: string, p: string): void {
  let dir = path.dirname(p);
  for (let s = stat(dir); s === null; s = stat(dir)) dir = path.dirname(dir);
  if (!stat(dir)!.isDirectory()) throw new ConfigError(key, `${p}: ENOTDIR: ${dir} is not a directory`);
  access(key, dir, fs.constants.W_OK | fs.constants.X_OK, `cannot create it in ${dir}`);
}

function checkStat(key: string, p: string, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(key, `${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function checkConfigFiles(c: TerminalConfig): void {
  // Checked here too, not only when a config file is parsed: the embedded default puts it under --var.
  const socketBytes = Buffer.byteLength(c.socketPath);
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    throw new ConfigError('socketPath', `${c.socketPath} is ${socketBytes} bytes; a Unix socket path is at most ${MAX_SOCKET_PATH_BYTES}: choose a shorter one (or a shorter --var)`);
  }
  checkStat('journalDir', c.journalDir, () => {
    const s = stat(c.journalDir);
    if (s === null) return creatable('journalDir', c.journalDir);
    if (!s.isDirectory()) throw new ConfigError('journalDir', `${c.journalDir}: ENOTDIR: exists and is not a directory`);
    access('journalDir', c.journalDir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK, 'the journal needs to read and write it');
  });
  checkStat('deviceKeyFile', c.deviceKeyFile, () => {
    const s = stat(c.deviceKeyFile);
    if (s === null) return creatable('deviceKeyFile', c.deviceKeyFile);
    if (s.isDirectory()) throw new ConfigError('deviceKeyFile', `${c.deviceKeyFile}: EISDIR: is a directory, not the key file`);
    access('deviceKeyFile', c.deviceKeyFile, fs.constants.R_OK, 'the device key cannot be read');
  });
  checkStat('socketPath', c.socketPath, () => {
    const s = stat(c.socketPath);
    if (s === null) return creatable('socketPath', c.socketPath);
    // A socket left by a dead daemon is replaced; anything else at that path is someone's file.
    if (!s.isSocket()) throw new ConfigError('socketPath', `${c.socketPath}: EEXIST: exists and is not a socket; refusing to replace it`);
  });
  for (const key of ['reader', 'printer'] as const) {
    const d = c[key];
    if (d === 'simulated') continue;
    checkStat(`${key}.path`, d.path, () => {
      // A serial device may be unplugged at boot (the port reconnects), but a directory is never one.
      if (stat(d.path)?.isDirectory()) throw new ConfigError(`${key}.path`, `${d.path}: EISDIR: is a directory, not a serial device`);
    });
  }
}
