// Finding PIN blocks on disk after a run, without the blocks themselves ever touching the disk. When
// POSJ_PIN_BLOCK_REGISTRY names a directory (and POSJ_PIN_BLOCK_KEY holds 64 hex digits, set only in the
// run's environment), every PIN block a simulated PIN pad forms is noted there as fingerprints: a keyed
// rolling hash of each form the block could take in a file (raw, as UTF-8 text, upper/lower hex, base64)
// and a keyed HMAC of the block. scanForPinBlocks() then rolls the same hashes over every file and confirms
// a hit with the HMAC — one pass per file, whatever the number of blocks. The test suite's global setup
// uses it (test/global-setup.ts); a bench can point it at a session's directory the same way.
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pinBlockForms } from '../../firmware-ts/pci/pin-blocks-in-flight.js';
import { PIN_BLOCK_LENGTH } from '../../protocol/iso8583/index.js';

export const REGISTRY_ENV = 'POSJ_PIN_BLOCK_REGISTRY';
export const KEY_ENV = 'POSJ_PIN_BLOCK_KEY';

/** The forms pinBlockForms() gives, in its order, and how each turns back into the 8 bytes. */
const FORM_NAMES = ['raw', 'utf8', 'hex', 'hex-lower', 'base64'] as const;
type FormName = (typeof FORM_NAMES)[number];

function decodeForm(form: FormName, window: Buffer): Buffer | undefined {
  switch (form) {
    case 'raw':
      return window;
    case 'utf8':
      return Buffer.from(window.toString('utf8'), 'latin1');
    case 'hex':
    case 'hex-lower':
      return Buffer.from(window.toString('latin1'), 'hex');
    case 'base64':
      return Buffer.from(window.toString('latin1'), 'base64');
  }
}

interface Fingerprint {
  /** HMAC-SHA256 of the block under the run's key, hex, first 32 digits. */
  mac: string;
  /** [form, window length, rolling hash] for each form. */
  forms: [FormName, number, number][];
}

function keyOf(hex: string | undefined): Buffer | undefined {
  return hex !== undefined && /^[0-9a-f]{64}$/i.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/** The rolling hash's base: odd, from the key, so the hashes on disk say nothing without it. */
const baseOf = (key: Buffer) => (key.readUInt32BE(0) | 1) >>> 0;

function rollingHash(bytes: Uint8Array, base: number): number {
  let h = 0;
  for (const b of bytes) h = (Math.imul(h, base) + b) >>> 0;
  return h;
}

const macOf = (key: Buffer, block: Buffer) => createHmac('sha256', key).update(block).digest('hex').slice(0, 32);

/** Notes a block formed by a simulated PIN pad, when the environment asks for it; otherwise nothing. */
export function notePinBlock(block: Buffer, env: NodeJS.ProcessEnv = process.env): void {
  const dir = env[REGISTRY_ENV];
  const key = keyOf(env[KEY_ENV]);
  if (!dir || !key || block.length !== PIN_BLOCK_LENGTH) return;
  const base = baseOf(key);
  const fp: Fingerprint = { mac: macOf(key, block), forms: pinBlockForms(block).map((f, i) => [FORM_NAMES[i]!, f.length, rollingHash(f, base)]) };
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, `${process.pid}.jsonl`), JSON.stringify(fp) + '\n');
}

export interface PinScanResult {
  blocks: number;
  files: number;
  bytes: number;
  /** `file at byte N (form)` for every block found. */
  hits: string[];
}

function readRegistry(dir: string): Fingerprint[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Fingerprint));
}

function* filesUnder(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield p;
  }
}

/** Every file under `root` searched for every block in the registry, in each of its forms. */
export function scanForPinBlocks(root: string, registryDir: string, keyHex: string): PinScanResult {
  const key = keyOf(keyHex);
  if (!key) throw new RangeError(`${KEY_ENV}: 64 hex digits`);
  const base = baseOf(key);
  const prints = readRegistry(registryDir);
  const macs = new Set(prints.map((p) => p.mac));
  // Window length → rolling hash → the forms registered with it.
  const byLength = new Map<number, Map<number, Set<FormName>>>();
  for (const p of prints) {
    for (const [form, len, h] of p.forms) {
      const table = byLength.get(len) ?? new Map<number, Set<FormName>>();
      byLength.set(len, table);
      table.set(h, (table.get(h) ?? new Set()).add(form));
    }
  }
  const result: PinScanResult = { blocks: macs.size, files: 0, bytes: 0, hits: [] };
  for (const file of filesUnder(root)) {
    const bytes = fs.readFileSync(file);
    result.files++;
    result.bytes += bytes.length;
    for (const [len, table] of byLength) {
      if (bytes.length < len) continue;
      let top = 1;
      for (let i = 1; i < len; i++) top = Math.imul(top, base) >>> 0;
      let h = rollingHash(bytes.subarray(0, len), base);
      for (let at = 0; ; at++) {
        const forms = table.get(h);
        if (forms) {
          const window = bytes.subarray(at, at + len);
          for (const form of forms) {
            const block = decodeForm(form, window);
            if (block?.length === PIN_BLOCK_LENGTH && macs.has(macOf(key, block))) result.hits.push(`${file} at byte ${at} (${form})`);
          }
        }
        if (at + len >= bytes.length) break;
        h = (Math.imul((h - Math.imul(bytes[at]!, top)) >>> 0, base) + bytes[at + len]!) >>> 0;
      }
    }
  }
  return result;
}
