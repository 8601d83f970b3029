// The journal's PCI guard on the bytes it is about to write: one pass over a payload's JSON text (as
// JSON.stringify wrote it) deciding what findSensitive decides on the value — a Luhn-valid 13–19 digit
// run, track 1 / track 2 shapes inside a string, a forbidden field name with a value — without regexes,
// string slices or a walk of the object. Judging the bytes also covers what a walk cannot see (toJSON).
import { FORBIDDEN_KEY_NAMES, type SensitiveFinding } from './card-data.js';

export interface CardDataHit {
  what: SensitiveFinding['what'];
  /** Byte offset in the scanned bytes. */
  offset: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const lowerAscii = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
const isAlnum = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
// Inside a string value, every byte but a digit, '"' and '\\' is plain.
const PLAIN = 0;
const CLASS = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = 1;
CLASS[QUOTE] = 1;
CLASS[BACKSLASH] = 1;

// Forbidden names by FNV-1a hash of their lower-case bytes, confirmed byte by byte: no key becomes a string.
const fnvStep = (h: number, c: number) => Math.imul(h ^ c, 0x01000193) >>> 0;
const FNV_START = 0x811c9dc5;
const FORBIDDEN_BY_HASH = new Map<number, Uint8Array[]>();
// Which low 10 bits the forbidden names' hashes have: most keys are told apart by one byte read, not a Map look-up.
const HASH_FILTER_MASK = 1023;
const HASH_FILTER = new Uint8Array(HASH_FILTER_MASK + 1);
let KEY_MIN = Infinity;
let KEY_MAX = 0;
for (const name of FORBIDDEN_KEY_NAMES) {
  const bytes = Buffer.from(name, 'latin1');
  let h = FNV_START;
  for (const c of bytes) h = fnvStep(h, c);
  FORBIDDEN_BY_HASH.set(h, [...(FORBIDDEN_BY_HASH.get(h) ?? []), bytes]);
  HASH_FILTER[h & HASH_FILTER_MASK] = 1;
  KEY_MIN = Math.min(KEY_MIN, bytes.length);
  KEY_MAX = Math.max(KEY_MAX, bytes.length);
}

/** Each ASCII letter or digit as its lower-case byte; 0 for every other byte. */
const LOWER_ALNUM = new Uint8Array(256);
for (let c = 0; c < 256; c++) if (isAlnum(c)) LOWER_ALNUM[c] = lowerAscii(c);

/**
 * What scanKey leaves for isForbiddenKey: the FNV-1a hash of the key it just read, or -1 when that key
 * cannot be a forbidden name (an escape or a byte other than an ASCII letter or digit: every forbidden
 * name is letters and digits). Module state, as the scan is synchronous and never re-entered.
 */
let keyHash = -1;

/** End (the closing quote) of the key string starting at `start`, or -1 when it never ends; hashes the key as it goes. */
function scanKey(b: Uint8Array, start: number, to: number): number {
  let h = FNV_START;
  let plain = true;
  let j = start;
  while (j < to) {
    const c = b[j]!;
    if (c === QUOTE) {
      keyHash = plain ? h : -1;
      return j;
    }
    if (c === BACKSLASH) {
      plain = false;
      j += b[j + 1] === 0x75 ? 6 : 2;
      continue;
    }
    const lower = LOWER_ALNUM[c]!;
    if (lower === 0) plain = false;
    else h = fnvStep(h, lower);
    j++;
  }
  return -1;
}

/** Whether the key b[start..end) that scanKey just read (hashed into keyHash) is a forbidden name. */
function isForbiddenKey(b: Uint8Array, start: number, end: number): boolean {
  const h = keyHash;
  if (h < 0 || HASH_FILTER[h & HASH_FILTER_MASK] === 0) return false;
  const candidates = FORBIDDEN_BY_HASH.get(h);
  if (!candidates) return false;
  for (const name of candidates) {
    if (name.length !== end - start) continue;
    let k = 0;
    while (k < name.length && lowerAscii(b[start + k]!) === name[k]) k++;
    if (k === name.length) return true;
  }
  return false;
}

/** Luhn over the ASCII digits b[start..start+len). */
function luhnAt(b: Uint8Array, start: number, len: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = start + len - 1; i >= start; i--) {
    let d = b[i]! - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** First window of the digit run b[start..end) that is a PAN: 13–19 digits, not starting with 0, Luhn-valid. */
function panInRun(b: Uint8Array, start: number, end: number): number {
  const runLen = end - start;
  for (let len = 13; len <= Math.min(19, runLen); len++) {
    for (let s = start; s + len <= end; s++) if (b[s] !== 0x30 && luhnAt(b, s, len)) return s;
  }
  return -1;
}

/**
 * Track 1 after its PAN: the run ends at '^' and another '^' follows within 26 characters of the same
 * string (an escape is one character, a UTF-8 sequence one UTF-16 unit or two), as /\^[^^]{0,26}\^/.
 */
function track1NameEnds(b: Uint8Array, caret: number, end: number): boolean {
  let chars = 0;
  let i = caret + 1;
  while (i < end && chars <= 26) {
    const c = b[i]!;
    if (c === CARET) return true;
    if (c === QUOTE) return false;
    if (c === BACKSLASH) {
      i += b[i + 1] === 0x75 ? 6 : 2;
      chars++;
      continue;
    }
    if (c < 0x80 || c >= 0xc0) chars += c >= 0xf0 ? 2 : 1;
    i++;
  }
  return false;
}

/** What a digit run b[start..end) of a string or number is, if anything; `inString` enables the track shapes. */
function judgeRun(b: Uint8Array, start: number, end: number, limit: number, inString: boolean): CardDataHit | null {
  const runLen = end - start;
  if (inString && runLen >= 12 && runLen <= 19) {
    const next = b[end];
    if ((next === 0x3d || next === 0x44) && end + 5 <= limit && isDigit(b[end + 1]!) && isDigit(b[end + 2]!) && isDigit(b[end + 3]!) && isDigit(b[end + 4]!)) {
      return { what: 'track data', offset: start };
    }
    if (next === CARET && b[start - 1] === 0x42 && track1NameEnds(b, end, limit)) return { what: 'track data', offset: start - 1 };
  }
  if (runLen >= 13) {
    const at = panInRun(b, start, end);
    if (at >= 0) return { what: 'full PAN', offset: at };
  }
  return null;
}

/**
 * The first card data in `b[from..to)`, a JSON text without insignificant whitespace (JSON.stringify's
 * output), or null. Digit runs count inside string values and numbers, not inside keys (findSensitive
 * does not judge keys); an escape (`\n`, `\u0007`) ends a run, as the character it stands for does.
 */
export function findCardDataInJson(b: Uint8Array, from = 0, to = b.length): CardDataHit | null {
  // Containers: true = object. In an object, the string after '{' or ',' is a key.
  const inObject: boolean[] = [];
  let expectKey = false;
  let i = from;
  while (i < to) {
    const c = b[i]!;
    if (c === QUOTE) {
      const isKey = expectKey;
      expectKey = false;
      const start = i + 1;
      if (isKey) {
        const end = scanKey(b, start, to);
        if (end < 0) return null; // not JSON: nothing more to judge
        if (end - start >= KEY_MIN && end - start <= KEY_MAX && isForbiddenKey(b, start, end) && end + 1 < to && b[end + 1] === 0x3a && !valueIsEmpty(b, end + 2, to)) {
          return { what: 'PIN block or CVV field', offset: i };
        }
        i = end + 1;
        continue;
      }
      let j = start;
      for (;;) {
        // Plain bytes of a string value are most of a payload: skip them with one table look-up each.
        while (j < to && CLASS[b[j]!] === PLAIN) j++;
        if (j >= to) return null;
        const d = b[j]!;
        if (d === QUOTE) break;
        if (d === BACKSLASH) {
          j += b[j + 1] === 0x75 ? 6 : 2;
          continue;
        }
        const runStart = j;
        while (j < to && isDigit(b[j]!)) j++;
        const hit = judgeRun(b, runStart, j, to, true);
        if (hit) return hit;
      }
      i = j + 1;
      continue;
    }
    if (isDigit(c)) {
      let j = i + 1;
      while (j < to && isDigit(b[j]!)) j++;
      const hit = judgeRun(b, i, j, to, false);
      if (hit) return hit;
      i = j;
      continue;
    }
    if (c === 0x7b) {
      inObject.push(true);
      expectKey = true;
    } else if (c === 0x5b) {
      inObject.push(false);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      inObject.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = inObject.length > 0 && inObject[inObject.length - 1]!;
    }
    i++;
  }
  return null;
}

/** A forbidden field may be present only as null or the empty string (findSensitive's rule). */
function valueIsEmpty(b: Uint8Array, at: number, to: number): boolean {
  if (at + 2 <= to && b[at] === QUOTE && b[at + 1] === QUOTE) return true;
  return at + 4 <= to && b[at] === 0x6e && b[at + 1] === 0x75 && b[at + 2] === 0x6c && b[at + 3] === 0x6c;
}
