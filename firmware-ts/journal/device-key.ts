// The device key that seals the journal's chain. On a terminal it would come from the secure element; here
// it is a 0600 file kept beside (never inside) the journal directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdirDurable, nodeStorage } from '../io/node-storage.js';

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

export function loadOrCreateDeviceKey(keyPath: string): Buffer {
  const existing = readDeviceKey(keyPath);
  if (existing) return existing;
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
