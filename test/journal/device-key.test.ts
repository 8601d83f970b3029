// The device key beside the journal (device-key.ts), in process: the CLI tests reach it only through the
// built daemon. What must hold: a key is made only for a journal that does not exist yet (a new key for a
// sealed journal would make every record read as tampered), it lands whole (0600, 64 hex digits, no temp
// file left), and a key file that is not 64 hex digits is refused by path rather than used.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_KEY_BYTES, DeviceKeyMissingError, defaultKeyPath, journalExists, loadOrCreateDeviceKey, readDeviceKey } from '../../firmware-ts/journal/device-key.js';
import { JournalError } from '../../firmware-ts/journal/errors.js';
import { segmentFileName } from '../../protocol/journal/format.js';
import { tmpDir } from '../helpers/tmp.js';

const dirs: string[] = [];
function fresh(): string {
  const d = tmpDir('device-key');
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('device key', () => {
  it('lives beside the journal directory, never inside it', () => {
    expect(defaultKeyPath('/data/posj/journal')).toBe('/data/posj/journal.key');
    expect(defaultKeyPath('/data/posj/journal/')).toBe('/data/posj/journal.key');
    expect(path.isAbsolute(defaultKeyPath('var/journal'))).toBe(true);
    expect(defaultKeyPath('var/journal')).toBe(path.resolve('var/journal') + '.key');
  });

  it('reads as null when absent, as bytes when 64 hex digits (either case, newline allowed), and refuses anything else by path', () => {
    const d = fresh();
    const p = path.join(d, 'j.key');
    expect(readDeviceKey(p)).toBeNull();
    const hex = 'ab'.repeat(DEVICE_KEY_BYTES);
    fs.writeFileSync(p, hex.toUpperCase() + '\n');
    expect(readDeviceKey(p)).toEqual(Buffer.alloc(DEVICE_KEY_BYTES, 0xab));
    for (const bad of ['ab'.repeat(31), 'ab'.repeat(33), 'zz'.repeat(32), '', `${hex} extra`]) {
      fs.writeFileSync(p, bad);
      expect(() => readDeviceKey(p)).toThrow(`device key file ${p} is not 64 hex characters`);
    }
  });

  it('tells a journal by its segments, live or archived, and nothing else', () => {
    const d = fresh();
    const j = path.join(d, 'journal');
    expect(journalExists(j)).toBe(false);
    fs.mkdirSync(j);
    expect(journalExists(j)).toBe(false);
    fs.writeFileSync(path.join(j, 'notes.txt'), 'x');
    fs.mkdirSync(path.join(j, 'archive'));
    fs.writeFileSync(path.join(j, 'archive', 'readme'), 'x');
    expect(journalExists(j)).toBe(false);
    fs.writeFileSync(path.join(j, 'archive', segmentFileName(1)), '');
    expect(journalExists(j)).toBe(true);
    fs.rmSync(path.join(j, 'archive'), { recursive: true });
    fs.writeFileSync(path.join(j, segmentFileName(7)), '');
    expect(journalExists(j)).toBe(true);
  });

  it('is made once for a new journal: 0600, 64 hex digits and a newline, the same bytes on every later load, no temp file left', () => {
    const d = fresh();
    const keyPath = path.join(d, 'nested', 'journal.key');
    const key = loadOrCreateDeviceKey(keyPath, path.join(d, 'journal'));
    expect(key.length).toBe(DEVICE_KEY_BYTES);
    const text = fs.readFileSync(keyPath, 'utf8');
    expect(text).toBe(key.toString('hex') + '\n');
    expect(fs.statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(keyPath))).toEqual(['journal.key']);
    expect(loadOrCreateDeviceKey(keyPath, path.join(d, 'journal'))).toEqual(key);
    expect(loadOrCreateDeviceKey(keyPath, null)).toEqual(key);
    // Two new journals never share a key.
    expect(loadOrCreateDeviceKey(path.join(d, 'other.key'), null).equals(key)).toBe(false);
  });

  it('is never made for a journal that already has segments: a typed refusal that names both paths', () => {
    const d = fresh();
    const j = path.join(d, 'journal');
    fs.mkdirSync(j);
    fs.writeFileSync(path.join(j, segmentFileName(1)), '');
    const keyPath = path.join(d, 'journal.key');
    let err: unknown;
    try {
      loadOrCreateDeviceKey(keyPath, j);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceKeyMissingError);
    expect(err).toBeInstanceOf(JournalError);
    const e = err as DeviceKeyMissingError;
    expect([e.code, e.keyPath, e.journalDir, e.name]).toEqual(['DEVICE_KEY_MISSING', keyPath, j, 'DeviceKeyMissingError']);
    expect(e.message).toBe(`device key missing for an existing journal: ${keyPath} (journal ${j}); restore the terminal's key there, never make a new one (protocol/JOURNAL_FORMAT.md §1.1)`);
    expect(fs.existsSync(keyPath)).toBe(false);
    expect(fs.readdirSync(d).sort()).toEqual(['journal']);
  });
});
