// The journal's byte scan of a payload's JSON must refuse exactly what findSensitive refuses on the value
// (the journal used the walk before): checked on seeded random payloads dense in near-misses — PANs one
// digit off, track shapes at their length limits, forbidden names in any case with empty and non-empty
// values, escapes and multi-byte characters beside digit runs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findCardDataInJson } from '../../firmware-ts/pci/card-data-scan.js';
import { FORBIDDEN_KEY_NAMES, findPanLikeRun, findSensitive, luhnValid } from '../../firmware-ts/pci/card-data.js';

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}
type Rng = ReturnType<typeof rng>;

const digits = (r: Rng, n: number) => Array.from({ length: n }, () => String(r.int(10))).join('');

/** A Luhn-valid number of `len` digits not starting with 0, or one digit off it. */
function pan(r: Rng, len: number, valid: boolean): string {
  const body = String(1 + r.int(9)) + digits(r, len - 2);
  for (let c = 0; c < 10; c++) if (luhnValid(body + c) === valid) return body + c;
  throw new Error('unreachable');
}

/** `len` digits holding no PAN in any window, so only a track shape can make them card data. */
function noPan(r: Rng, len: number): string {
  for (;;) {
    const run = digits(r, len);
    if (findPanLikeRun(run) < 0) return run;
  }
}

const trackDigits = (r: Rng) => {
  const len = 11 + r.int(10);
  return r.next() < 0.5 ? noPan(r, len) : pan(r, len, true);
};

const FILLERS = ['a', ' ', '=', 'D', 'B', '^', '%', '"', '\\', '\n', '\u0007', '\u001f', 'é', '中', '😀', '-', '.', '0'];

function text(r: Rng): string {
  let s = '';
  const parts = r.int(5);
  for (let k = 0; k < parts; k++) {
    switch (r.int(8)) {
      case 0:
        s += pan(r, 12 + r.int(9), r.next() < 0.5);
        break;
      case 1:
        s += `${trackDigits(r)}${r.pick(['=', 'D', 'd', '^'])}${digits(r, 2 + r.int(4))}`;
        break;
      case 2: {
        // Track 1: a name of 20..30 characters, some of them escaped or multi-byte when written as JSON.
        const name = Array.from({ length: 24 + r.int(5) }, () => r.pick(['A', ' ', '/', '"', '\n', 'é', '中', '😀'])).join('');
        s += `${r.pick(['%B', 'B', 'b', ''])}${trackDigits(r)}^${name}${r.pick(['^', '^', '?'])}`;
        break;
      }
      case 3:
        s += digits(r, r.int(25));
        break;
      default:
        s += Array.from({ length: 1 + r.int(6) }, () => r.pick(FILLERS)).join('');
    }
  }
  return s;
}

const NAMES = [...FORBIDDEN_KEY_NAMES];

function key(r: Rng): string {
  const k = r.next();
  if (k < 0.3) {
    const name = r.pick(NAMES);
    return [...name].map((c) => (r.next() < 0.5 ? c.toUpperCase() : c)).join('');
  }
  if (k < 0.4) return `${r.pick(NAMES)}${r.pick(['x', '_', 'é', '\n', '1'])}`;
  if (k < 0.5) return pan(r, 16, true);
  return r.pick(['stan', 'amount', 'note', 'maskedPan', 'at', 'emv', 'lines', 'pinCheck', 'x']);
}

function value(r: Rng, depth: number): unknown {
  const k = r.int(depth > 2 ? 4 : 7);
  switch (k) {
    case 0:
      return text(r);
    case 1:
      return r.pick([null, '', 0, false, true]);
    case 2:
      return r.next() < 0.5 ? Number(pan(r, 13 + r.int(4), r.next() < 0.5)) : r.int(1e6) * (r.next() < 0.5 ? -1 : 1) + r.pick([0, 0.5, 1e-7]);
    case 3:
      return r.next() < 0.2 ? 4.111111111111111e21 : r.int(100);
    case 4:
    case 5:
      return Object.fromEntries(Array.from({ length: r.int(5) }, () => [key(r), value(r, depth + 1)]));
    default:
      return Array.from({ length: r.int(4) }, () => value(r, depth + 1));
  }
}

describe('the byte scan of a payload decides as findSensitive on the value', () => {
  it('agrees on 20,000 seeded random payloads, both ways', () => {
    const r = rng(13);
    let refused = 0;
    for (let n = 0; n < 20_000; n++) {
      const v = value(r, 0);
      const json = JSON.stringify(v);
      const byBytes = findCardDataInJson(Buffer.from(json, 'utf8')) !== null;
      const byWalk = findSensitive(v) !== null;
      if (byBytes !== byWalk) expect({ json, byBytes }).toEqual({ json, byBytes: byWalk });
      if (byWalk) refused++;
    }
    // Dense enough in card data that both outcomes are exercised many times.
    expect(refused).toBeGreaterThan(4_000);
    expect(refused).toBeLessThan(16_000);
  });

  it('decides the same on the payload in place in a larger buffer (from/to), whatever bytes lie around it', () => {
    // The journal scans each payload where it was encoded, in the append's frame: the bytes before and
    // after it are a record header, padding, the next record or an older append's leftovers.
    const r = rng(29);
    const junk = [0x3a, 0x5e, 0x3d, 0x44, 0x42, 0x22, 0x5c, 0x75, 0x30, 0x39, 0x6e, 0x00];
    for (let n = 0; n < 5_000; n++) {
      const bytes = Buffer.from(JSON.stringify(value(r, 0)), 'utf8');
      const alone = findCardDataInJson(bytes);
      const before = r.int(64);
      const big = Buffer.alloc(before + bytes.length + 16);
      for (let i = 0; i < big.length; i++) big[i] = r.pick(junk);
      bytes.copy(big, before);
      const inPlace = findCardDataInJson(big, before, before + bytes.length);
      expect(inPlace && { what: inPlace.what, offset: inPlace.offset - before }).toEqual(alone);
    }
  });

  it('finds each kind at its byte offset and says what it is', () => {
    const at = (v: unknown) => findCardDataInJson(Buffer.from(JSON.stringify(v)));
    expect(at({ note: 'card 6222021234567894' })).toEqual({ what: 'full PAN', offset: 14 });
    expect(at({ n: 6222021234567894 })).toEqual({ what: 'full PAN', offset: 5 });
    expect(at({ t2: '6222021234567894=27122011234' })).toEqual({ what: 'track data', offset: 7 });
    expect(at({ t1: '%B6222021234567894^ZHANG/SAN^2712' })).toEqual({ what: 'track data', offset: 8 });
    expect(at({ a: [{ CVV2: 0 }] })).toEqual({ what: 'PIN block or CVV field', offset: 7 });
    // Near misses: one Luhn digit off, zero-led, a key made of a PAN, an empty forbidden field, an escape
    // splitting a run.
    expect(at({ note: 'card 6222021234567895', z: '0222021234567894', ['6222021234567894']: 1, pin: '', cvv: null, s: '622202123\n4567894' })).toBeNull();
  });
});

describe('findSensitive: what and where', () => {
  it('names the path of the first finding, under the caller\'s root', () => {
    expect(findSensitive({ a: 1, b: [{ c: 'x' }, { note: 'card 6222021234567894' }] })).toEqual({ what: 'full PAN', where: '$.b[1].note' });
    expect(findSensitive([[0, [6222021234567894]]], 'record seq 7')).toEqual({ what: 'full PAN', where: 'record seq 7[0][1][0]' });
    expect(findSensitive({ outer: { TRACK2Data: 'x' } })).toEqual({ what: 'PIN block or CVV field', where: '$.outer.TRACK2Data' });
    expect(findSensitive({ ok: 'fine', also: [1, 2, 'three'] })).toBeNull();
  });

  it('finds the shortest shapes: a track whose PAN has 12 digits, a 13-digit PAN, a PAN as a number', () => {
    expect(findSensitive('123456789012=2512')).toEqual({ what: 'track data', where: '$' });
    expect(findSensitive('B123456789012^A^')).toEqual({ what: 'track data', where: '$' });
    expect(findSensitive('4222222222222')).toEqual({ what: 'full PAN', where: '$' });
    expect(findSensitive(4222222222222)).toEqual({ what: 'full PAN', where: '$' });
    // One digit short of each, or the run broken: nothing.
    expect([findSensitive('12345678901=2512'), findSensitive('B12345678901^A^'), findSensitive('422222222222'), findSensitive('422222-2222222')]).toEqual([null, null, null, null]);
  });

  it('a forbidden key in any ASCII case, of any length the list has', () => {
    for (const k of FORBIDDEN_KEY_NAMES) {
      expect(findSensitive({ [k.toUpperCase()]: 'x' })?.where).toBe(`$.${k.toUpperCase()}`);
      expect(findSensitive({ [`${k}x`]: 'x' }), `${k}x is not ${k}`).toBeNull();
    }
  });
});

describe('findPanLikeRun over bytes and over text', () => {
  /** The scan as first written: one accessor, every window of every run of 13 or more digits. */
  function reference(s: string): number {
    for (let i = 0; i < s.length; ) {
      if (!/\d/.test(s[i]!)) {
        i++;
        continue;
      }
      let j = i;
      while (j < s.length && /\d/.test(s[j]!)) j++;
      const run = s.slice(i, j);
      if (run.length >= 13) for (let len = 13; len <= Math.min(19, run.length); len++) for (let k = 0; k + len <= run.length; k++) if (run[k] !== '0' && luhnValid(run.slice(k, k + len))) return i + k;
      i = j;
    }
    return -1;
  }

  it('finds the same offset in a string, in its bytes and in a slice of a larger buffer', () => {
    const text = fc.stringMatching(/^[0-9 a\-]{0,120}$/);
    fc.assert(
      fc.property(text, fc.nat(8), (s, pad) => {
        const expected = reference(s);
        expect(findPanLikeRun(s)).toBe(expected);
        expect(findPanLikeRun(Buffer.from(s, 'latin1'))).toBe(expected);
        const big = Buffer.alloc(pad + s.length + 3, 0x20);
        big.write(s, pad, 'latin1');
        expect(findPanLikeRun(big.subarray(pad, pad + s.length))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
