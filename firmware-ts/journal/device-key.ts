// The device key that seals the journal's chain. On a terminal it would come from the secure element; here
// it is a 0600 file kept beside (never inside) the journal directory. Provisioning: protocol/JOURNAL_FORMAT.md §1.1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdirDurable, nodeStorage } from '../io/node-storage.js';
import { parseSegmentFileName } from '../../protocol/journal/format.js';
import { JournalError } from './errors.js';

export const DEVICE_KEY_BYTES = 32;

/** Default key location for a journal directory: a sibling file `<dir>.key`. */
export function defaultKeyPath(journalDir: string): string {
  return path.resolve(journalDir) + '.key';
}

export function readDeviceKey(keyPath: string): Buffer | null {
  if (!fs.existsSync(keyPath)) return null;
  const hex = fs.readFileSync(keyPath, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`device key file ${keyPath} is not 64 hex characters`);
  return Buffer.from(hex, 'hex');
}

/** Segments (live, archived or moved aside by repair) in `dir`: a journal exists there, sealed by some key. */
export function journalExists(dir: string): boolean {
  if (!fs.existsSync(dir)) return false;
  const isSegment = (n: string) => parseSegmentFileName(n) !== null;
  if (fs.readdirSync(dir).some(isSegment)) return true;
  const archive = path.join(dir, 'archive');
  return fs.existsSync(archive) && fs.readdirSync(archive).some(isSegment);
}

/** A journal is there but its key is not: a new key would make every record read as tampered. */
export class DeviceKeyMissingError extends JournalError {
  constructor(
    readonly keyPath: string,
    readonly journalDir: string,
  ) {
    super('DEVICE_KEY_MISSING', `device key missing for an existing journal: ${keyPath} (journal ${journalDir}); restore the terminal's key there, never make a new one (protocol/JOURNAL_FORMAT.md §1.1)`);
  }
}

/**
 * The key for `journalDir`, created (32 random bytes, fsynced, renamed into place) only for a journal that
 * does not exist yet; refused when the journal has segments but the key is gone.
 */
export function loadOrCreateDeviceKey(keyPath: string, journalDir: string | null): Buffer {
  const existing = readDeviceKey(keyPath);
  if (existing) return existing;
  if (journalDir !== null && journalExists(journalDir)) throw new DeviceKeyMissingError(keyPath, journalDir);
  mkdirDurable(path.dirname(keyPath));
  const key = randomBytes(DEVICE_KEY_BYTES);
  const tmp = `${keyPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, key.toString('hex') + '\n', { mode: 0o600 });
  const fd = fs.openSync(tmp, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, keyPath);
  // A rename is durable only with its directory: without this a power cut can lose the key of a sealed journal.
  nodeStorage.syncDir(path.dirname(keyPath));
  return key;
}
