// Finding PIN blocks on disk after a run, without the blocks themselves ever touching the disk. When
// POSJ_PIN_BLOCK_REGISTRY names a directory (and POSJ_PIN_BLOCK_KEY holds 64 hex digits, set only in the
// run's environment), every PIN block a simulated PIN pad forms is noted there as fingerprints: a keyed
// rolling hash of each form the block takes in a file (raw, upper and lower hex, base64) and a keyed HMAC
// of the block. scanForPinBlocks() rolls the same hashes over every file — a bit test per byte and form,
// whatever the number of blocks — and confirms a hit with the HMAC. The test suite's global setup uses it
// (test/global-setup.ts); a bench can point it at a session's directory the same way.
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PIN_BLOCK_LENGTH } from '../../protocol/iso8583/index.js';

export const REGISTRY_ENV = 'POSJ_PIN_BLOCK_REGISTRY';
export const KEY_ENV = 'POSJ_PIN_BLOCK_KEY';

/** Text forms, each of one length and one character class: 16 hex digits in either case, 11 base64 characters. */
const TEXT_FORMS = [
  { name: 'hex', length: 16, of: (b: Buffer) => Buffer.from(b.toString('hex').toUpperCase(), 'latin1'), back: (w: Buffer) => Buffer.from(w.toString('latin1'), 'hex') },
  { name: 'hex-lower', length: 16, of: (b: Buffer) => Buffer.from(b.toString('hex'), 'latin1'), back: (w: Buffer) => Buffer.from(w.toString('latin1'), 'hex') },
  { name: 'base64', length: 11, of: (b: Buffer) => Buffer.from(b.toString('base64').slice(0, 11), 'latin1'), back: (w: Buffer) => Buffer.from(w.toString('latin1'), 'base64') },
] as const;

/** Which bytes each text form is made of (hex serves both cases). */
const HEX_CHARS = classOf('0123456789ABCDEFabcdef');
const BASE64_CHARS = classOf('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

function classOf(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  return t;
}

interface Fingerprint {
  /** HMAC-SHA256 of the block under the run's key, hex, first 32 digits. */
  mac: string;
  /** A keyed 24-bit index of the block's first 4 bytes (the raw form). */
  raw: number;
  /** The rolling hash of each text form, in TEXT_FORMS order. */
  text: number[];
}

function keyOf(hex: string | undefined): Buffer | undefined {
  return hex !== undefined && /^[0-9a-f]{64}$/i.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/** The rolling hash's base and the raw index's multiplier: odd, from the key, so the notes say nothing without it. */
const baseOf = (key: Buffer) => (key.readUInt32BE(0) | 1) >>> 0;
const multiplierOf = (key: Buffer) => (key.readUInt32BE(4) | 1) >>> 0;
const rawIndex = (word: number, k: number) => Math.imul(word, k) >>> 8;

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
  const fp: Fingerprint = { mac: macOf(key, block), raw: rawIndex(block.readUInt32BE(0), multiplierOf(key)), text: TEXT_FORMS.map((f) => rollingHash(f.of(block), base)) };
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

/** A 2^24-bit set: the first test per byte, so a pass costs a bit test, not a map lookup. */
class Filter {
  private readonly bits = new Uint8Array(1 << 21);
  add(i: number): void {
    this.bits[i >>> 3]! |= 1 << (i & 7);
  }
  has(i: number): boolean {
    return (this.bits[i >>> 3]! & (1 << (i & 7))) !== 0;
  }
}

/** Every file under `root` searched for every block in the registry, in each of its forms. */
export function scanForPinBlocks(root: string, registryDir: string, keyHex: string): PinScanResult {
  const key = keyOf(keyHex);
  if (!key) throw new RangeError(`${KEY_ENV}: 64 hex digits`);
  const base = baseOf(key);
  const k = multiplierOf(key);
  const prints = readRegistry(registryDir);
  const macs = new Set(prints.map((p) => p.mac));
  const raw = new Filter();
  for (const p of prints) raw.add(p.raw);
  // Text forms by length (hex upper and lower share one): rolling hash → the forms registered with it.
  const texts = [16, 11].map((length) => {
    const table = new Map<number, (typeof TEXT_FORMS)[number][]>();
    const filter = new Filter();
    TEXT_FORMS.forEach((form, i) => {
      if (form.length !== length) return;
      for (const p of prints) {
        const h = p.text[i]!;
        table.set(h, [...(table.get(h) ?? []), form]);
        filter.add(h >>> 8);
      }
    });
    let top = 1;
    for (let n = 1; n < length; n++) top = Math.imul(top, base) >>> 0;
    return { length, chars: length === 16 ? HEX_CHARS : BASE64_CHARS, table, filter, top };
  });
  const result: PinScanResult = { blocks: macs.size, files: 0, bytes: 0, hits: [] };
  const confirm = (file: string, at: number, form: string, block: Buffer) => {
    if (block.length === PIN_BLOCK_LENGTH && macs.has(macOf(key, block))) result.hits.push(`${file} at byte ${at} (${form})`);
  };
  for (const file of filesUnder(root)) {
    const whole = fs.readFileSync(file);
    result.files++;
    result.bytes += whole.length;
    if (prints.length === 0) continue;
    for (const [from, to] of nonZeroSpans(whole)) {
      const bytes = whole.subarray(from, to);
      const where = (at: number) => from + at;
      scanSpan(bytes, (at, form, block) => confirm(file, where(at), form, block));
    }
  }
  return result;

  function scanSpan(bytes: Buffer, found: (at: number, form: string, block: Buffer) => void): void {
    // Raw: a sliding 32-bit word of the first 4 bytes of each 8-byte window.
    let word = 0;
    for (let at = 0; at + 4 <= bytes.length; at++) {
      word = at === 0 ? bytes.readUInt32BE(0) : ((word << 8) | bytes[at + 3]!) >>> 0;
      if (at + PIN_BLOCK_LENGTH <= bytes.length && raw.has(rawIndex(word, k))) found(at, 'raw', bytes.subarray(at, at + PIN_BLOCK_LENGTH));
    }
    // Text: rolling hashes only inside runs of the form's characters that are long enough.
    for (const { length, chars, table, filter, top } of texts) {
      let at = 0;
      while (at < bytes.length) {
        if (!chars[bytes[at]!]) {
          at++;
          continue;
        }
        let end = at;
        while (end < bytes.length && chars[bytes[end]!]) end++;
        if (end - at >= length) {
          let h = rollingHash(bytes.subarray(at, at + length), base);
          for (let i = at; ; i++) {
            if (filter.has(h >>> 8)) for (const form of table.get(h) ?? []) found(i, form.name, form.back(bytes.subarray(i, i + length)));
            if (i + length >= end) break;
            h = (Math.imul((h - Math.imul(bytes[i]!, top)) >>> 0, base) + bytes[i + length]!) >>> 0;
          }
        }
        at = end;
      }
    }
  }
}

/** Below this many zero bytes in a row, a gap is scanned through rather than skipped. */
const ZERO_GAP = 64;
const ZERO_CHUNK = Buffer.alloc(4096);

/**
 * The parts of a file that are not long runs of zero bytes (preallocated journal space is mostly zeros),
 * each widened by a block's length on both sides: a window that is all zeros is skipped — a PIN block of
 * eight zero bytes has odds of 2^-64 — and every other window lies inside a span.
 */
function nonZeroSpans(bytes: Buffer): [number, number][] {
  const spans: [number, number][] = [];
  const n = bytes.length;
  let at = 0;
  while (at < n) {
    // Zeros: whole aligned chunks by a native compare, the rest byte by byte.
    while (at < n) {
      if (at % ZERO_CHUNK.length === 0 && at + ZERO_CHUNK.length <= n && bytes.compare(ZERO_CHUNK, 0, ZERO_CHUNK.length, at, at + ZERO_CHUNK.length) === 0) at += ZERO_CHUNK.length;
      else if (bytes[at] === 0) at++;
      else break;
    }
    if (at >= n) break;
    const start = at;
    let zeros = 0;
    while (at < n && zeros < ZERO_GAP) {
      zeros = bytes[at] === 0 ? zeros + 1 : 0;
      at++;
    }
    spans.push([Math.max(0, start - PIN_BLOCK_LENGTH), Math.min(n, at - zeros + PIN_BLOCK_LENGTH)]);
  }
  return spans;
}
