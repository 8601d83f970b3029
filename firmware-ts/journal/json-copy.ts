// The fold must see exactly what a reboot reads back — JSON.parse of the payload's JSON text — and never an
// object the caller still holds (and may change after the append). Parsing the text just written gives
// both, at the price of a parse per record (about as much CPU as the stringify). For plain data — the
// records the terminal writes — a private copy made *before* the stringify gives both as well, cheaper:
// the journal stringifies the copy (so the text on disk is the copy's) and folds the copy (so the fold's
// object is the text's parse, and nobody else has a reference to it).
//
// "Plain" is what JSON text round-trips unchanged: strings, booleans, null, finite numbers (-0 becomes 0,
// as JSON writes it), arrays and objects whose prototype is Array.prototype / Object.prototype / null, with
// no toJSON. Anything else — a Date, a Buffer, a class instance, a BigInt, a cycle (caught by depth), a
// "__proto__" key, a value that throws when read — is NOT_PLAIN, and the journal falls back to parsing the
// text it wrote. Each property is read once, so a getter or a Proxy cannot make the copy and the text differ.

import { MAX_APPEND_PAYLOAD_BYTES } from '../../protocol/journal/format.js';

/** The value cannot be copied as plain JSON data: stringify the original and parse the text instead. */
export const NOT_PLAIN: unique symbol = Symbol('not plain JSON data');

/** Deeper than this is not a payload a terminal writes: left to the parse (which also reports a cycle). */
const MAX_DEPTH = 64;

const MAX_ARRAY_LENGTH = MAX_APPEND_PAYLOAD_BYTES / 2;

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;

/**
 * A fresh copy of `value` equal to `JSON.parse(JSON.stringify(value))` — same keys in the same order, same
 * values, no object shared with `value` — or NOT_PLAIN. `undefined` (a value JSON.stringify writes no text
 * for) is NOT_PLAIN at the top level.
 */
export function plainJsonCopy(value: unknown): unknown {
  try {
    const copy = copyValue(value, 0);
    return copy === undefined ? NOT_PLAIN : copy;
  } catch {
    // A getter or a Proxy trap threw: the stringify of the original meets it again and reports it.
    return NOT_PLAIN;
  }
}

/**
 * undefined: a value JSON leaves out of an object (undefined, a function, a symbol) or writes as null in an
 * array. Written as `typeof v === …` tests, which the compiler turns into type checks (a switch on `typeof v`
 * makes the type's name first).
 */
function copyValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  // JSON writes NaN and ±Infinity as null, and -0 as 0.
  if (typeof v === 'number') return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
  if (typeof v === 'object') return v === null ? null : copyContainer(v, depth);
  // bigint: JSON.stringify throws, and the journal's error path reports it.
  if (typeof v === 'bigint') return NOT_PLAIN;
  return undefined;
}

/** plainContainerShape: a plain object (not an array). */
export const PLAIN_OBJECT = -1;
/** plainContainerShape: not plain data. */
export const NOT_PLAIN_CONTAINER = -2;

/**
 * What an object is to both plain-data walks (this one and json-frame.ts): an array's length (read once), PLAIN_OBJECT,
 * or NOT_PLAIN_CONTAINER.
 */
export function plainContainerShape(v: object, depth: number): number {
  if (depth >= MAX_DEPTH || typeof (v as { toJSON?: unknown }).toJSON === 'function') return NOT_PLAIN_CONTAINER;
  const proto = Object.getPrototypeOf(v);
  if (Array.isArray(v)) {
    const n = v.length;
    // A sparse array's length costs nothing to set: one whose text could not fit in a record (each element
    // takes at least two bytes) is left to the stringify, which fails on it as it always did.
    return proto !== ARRAY_PROTO || n > MAX_ARRAY_LENGTH ? NOT_PLAIN_CONTAINER : n;
  }
  return proto !== OBJECT_PROTO && proto !== null ? NOT_PLAIN_CONTAINER : PLAIN_OBJECT;
}

function copyContainer(v: object, depth: number): unknown {
  const shape = plainContainerShape(v, depth);
  if (shape === NOT_PLAIN_CONTAINER) return NOT_PLAIN;
  if (shape >= 0) {
    const a = v as unknown[];
    const out: unknown[] = [];
    for (let i = 0; i < shape; i++) {
      const x = copyValue(a[i], depth + 1);
      if (x === NOT_PLAIN) return NOT_PLAIN;
      out.push(x === undefined ? null : x);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    // Assigning it would set the copy's prototype; JSON.parse makes it an own property.
    if (k === '__proto__') return NOT_PLAIN;
    const x = copyValue((v as Record<string, unknown>)[k], depth + 1);
    if (x === NOT_PLAIN) return NOT_PLAIN;
    if (x !== undefined) out[k] = x;
  }
  return out;
}
