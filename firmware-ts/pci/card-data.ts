// PCI DSS helpers (DESIGN rule 6): recognise a full PAN, track data, a PIN block or a CVV before they can
// reach disk, and mask a PAN to first 6 / last 4 for receipts, logs and the journal.

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** First 6 and last 4 digits, the middle replaced by '*'. */
export function maskPan(pan: string): string {
  if (!/^\d{12,19}$/.test(pan)) throw new RangeError('maskPan: a PAN is 12 to 19 digits');
  return pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Offset of the first Luhn-valid run of 13–19 digits not starting with 0 in `bytes` (ASCII digits), or -1. A longer digit run
 * is checked window by window, because a PAN glued to other digits is still a PAN on disk.
 */
export function findPanLikeRun(bytes: Uint8Array | string): number {
  // Two copies of one scan rather than a per-character accessor: the simulator scans every file of the
  // terminal's disk after each reboot, and a closure call per byte was most of that.
  return typeof bytes === 'string' ? panLikeRunInText(bytes) : panLikeRunInBytes(bytes);
}

function panLikeRunInBytes(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    if (!isDigit(bytes[i]!)) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isDigit(bytes[j]!)) j++;
    if (j - i >= 13) {
      const s = luhnWindow(Buffer.from(bytes.buffer, bytes.byteOffset + i, j - i).toString('latin1'));
      if (s >= 0) return i + s;
    }
    i = j;
  }
  return -1;
}

function panLikeRunInText(text: string): number {
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
    if (j - i >= 13) {
      const s = luhnWindow(text.slice(i, j));
      if (s >= 0) return i + s;
    }
    i = j;
  }
  return -1;
}

/** Where in a run of 13 or more digits the first Luhn-valid 13–19 digit window not starting with 0 begins, or -1. */
function luhnWindow(run: string): number {
  // Card numbers never start with 0 (ISO/IEC 7812 major industry identifier), which also keeps
  // zero padding from looking like a PAN.
  for (let len = 13; len <= Math.min(19, run.length); len++) {
    for (let s = 0; s + len <= run.length; s++) if (run[s] !== '0' && luhnValid(run.slice(s, s + len))) return s;
  }
  return -1;
}

// Field names that only ever hold sensitive authentication data, lower case; a key matches in any ASCII case.
export const FORBIDDEN_KEY_NAMES: ReadonlySet<string> = new Set([
  ...['', '1', '2', '3'].flatMap((n) => ['', 'data', 'equivalent'].map((s) => `track${n}${s}`)),
  ...['pinblock', 'pin', 'encryptedpinblock', 'pindata', 'cvv', 'cvv2', 'cvc', 'cvc2', 'cid', 'cav', 'cav2', 'icvv'],
  ...['cardverificationvalue', 'tag57', 'tag99', 'tag5a', 'pan', 'fullpan'],
]);
const KEY_LENGTHS = [...FORBIDDEN_KEY_NAMES].map((k) => k.length);
const KEY_MIN = Math.min(...KEY_LENGTHS);
const KEY_MAX = Math.max(...KEY_LENGTHS);
// Records carry the same few dozen keys on every walk: each verdict is kept (a bounded number of them, so
// hostile input with endless distinct keys costs only the lower-casing).
const keyVerdicts = new Map<string, boolean>();
const KEY_VERDICTS_KEPT = 4096;
function isForbiddenKey(k: string): boolean {
  if (k.length < KEY_MIN || k.length > KEY_MAX) return false;
  let verdict = keyVerdicts.get(k);
  if (verdict === undefined) {
    verdict = FORBIDDEN_KEY_NAMES.has(k.replace(/[A-Z]/g, (c) => c.toLowerCase()));
    if (keyVerdicts.size < KEY_VERDICTS_KEPT) keyVerdicts.set(k, verdict);
  }
  return verdict;
}
// Track 2 (PAN '=' or 'D' YYMM service code ...) and track 1 (%B PAN ^ NAME ^) shapes.
const TRACK2 = /(?:^|[^0-9])\d{12,19}[=D]\d{4}/;
const TRACK1 = /%?B\d{12,19}\^[^^]{0,26}\^/;
/** Every shape above needs a run of at least this many digits (a PAN 13, a track's PAN 12)... */
const SHORTEST_RUN = 12;
/** ...and at least this many characters (a PAN alone; a track's separators make it longer). */
const SHORTEST_TEXT = 13;

function hasDigitRun(text: string, n: number): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++run >= n) return true;
    } else run = 0;
  }
  return false;
}

export interface SensitiveFinding {
  what: 'full PAN' | 'track data' | 'PIN block or CVV field';
  where: string;
}

/** Walks a JSON-like value and reports the first sensitive item with its path, or null. */
export function findSensitive(value: unknown, where = '$'): SensitiveFinding | null {
  const hit = sensitiveIn(value);
  return hit === null ? null : { what: hit.what, where: where + hit.path };
}

/** The walk behind findSensitive; the path, relative to `value`, is built only on the way back from a finding. */
function sensitiveIn(value: unknown): { what: SensitiveFinding['what']; path: string } | null {
  if (typeof value === 'string') {
    // A 12-digit amount (field 4) is the commonest long run in a record: its length alone clears it.
    if (value.length < SHORTEST_TEXT || !hasDigitRun(value, SHORTEST_RUN)) return null;
    if (TRACK1.test(value) || TRACK2.test(value)) return { what: 'track data', path: '' };
    if (findPanLikeRun(value) >= 0) return { what: 'full PAN', path: '' };
    return null;
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    const s = String(value);
    return s.length >= SHORTEST_TEXT && findPanLikeRun(s) >= 0 ? { what: 'full PAN', path: '' } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = sensitiveIn(value[i]);
      if (f) {
        f.path = `[${i}]${f.path}`;
        return f;
      }
    }
    return null;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (isForbiddenKey(k) && v !== null && v !== undefined && v !== '') return { what: 'PIN block or CVV field', path: `.${k}` };
      const f = sensitiveIn(v);
      if (f) {
        f.path = `.${k}${f.path}`;
        return f;
      }
    }
  }
  return null;
}
