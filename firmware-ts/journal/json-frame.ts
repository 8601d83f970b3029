// The hot append path in one walk: the private copy of json-copy.ts and its JSON text, written as UTF-8
// straight into the append's frame. Copying, JSON.stringify and the UTF-8 write were three passes over
// every payload and most of the journal's own CPU per sale; this is one, and it writes the bytes
// JSON.stringify(copy) would have written, byte for byte.
//
// It takes what json-copy.ts calls plain and nothing else: for anything else it answers NOT_PLAIN, and for
// a payload that does not fit in the room it is given NO_ROOM; the journal then takes its general path
// (copy, stringify, write), which also reports every error as before.

import { NOT_PLAIN, NOT_PLAIN_CONTAINER, plainContainerShape } from './json-copy.js';

/** The payload's text does not fit between `at` and `end`: nothing of it counts. */
export const NO_ROOM: unique symbol = Symbol('no room in the frame');

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Thrown inside the walk only, when the text would pass `end`. */
class OutOfRoom {}
const OUT_OF_ROOM = new OutOfRoom();

export class PlainJsonFrameWriter {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;

  /** Where the text written by the last successful `write` ends. */
  get written(): number {
    return this.pos;
  }

  /**
   * Writes the JSON text of `value` at `buf[at..]`, never at or past `end`, and returns a fresh copy of it
   * equal to JSON.parse of that text; or NOT_PLAIN / NO_ROOM, with whatever it wrote meaning nothing.
   */
  write(value: unknown, buf: Buffer, at: number, end: number): unknown {
    this.buf = buf;
    this.pos = at;
    this.end = end;
    try {
      const copy = this.value(value, 0);
      return copy === undefined ? NOT_PLAIN : copy;
    } catch (e) {
      // A getter or a Proxy trap threw: the general path meets it again in the stringify and reports it.
      return e === OUT_OF_ROOM ? NO_ROOM : NOT_PLAIN;
    }
  }

  /** undefined: what JSON leaves out of an object and writes as null in an array; nothing is written for it. */
  private value(v: unknown, depth: number): unknown {
    if (typeof v === 'string') {
      this.string(v);
      return v;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) {
        this.ascii('null');
        return null;
      }
      const n = v === 0 ? 0 : v;
      this.ascii(String(n));
      return n;
    }
    if (typeof v === 'boolean') {
      this.ascii(v ? 'true' : 'false');
      return v;
    }
    if (typeof v === 'object') {
      if (v === null) {
        this.ascii('null');
        return null;
      }
      return this.container(v, depth);
    }
    if (typeof v === 'bigint') return NOT_PLAIN;
    return undefined;
  }

  private container(v: object, depth: number): unknown {
    const shape = plainContainerShape(v, depth);
    if (shape === NOT_PLAIN_CONTAINER) return NOT_PLAIN;
    if (shape >= 0) {
      const a = v as unknown[];
      const out: unknown[] = [];
      this.byte(0x5b);
      for (let i = 0; i < shape; i++) {
        if (i > 0) this.byte(COMMA);
        const x = this.value(a[i], depth + 1);
        if (x === NOT_PLAIN) return NOT_PLAIN;
        if (x === undefined) {
          this.ascii('null');
          out.push(null);
        } else out.push(x);
      }
      this.byte(0x5d);
      return out;
    }
    const out: Record<string, unknown> = {};
    const keys = Object.keys(v);
    this.byte(0x7b);
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k === '__proto__') return NOT_PLAIN;
      // Read once: a getter cannot make the copy and the text differ.
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      if (!first) this.byte(COMMA);
      first = false;
      this.string(k);
      this.byte(COLON);
      const c = this.value(x, depth + 1);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out[k] = c;
    }
    this.byte(0x7d);
    return out;
  }

  private byte(b: number): void {
    if (this.pos >= this.end) throw OUT_OF_ROOM;
    this.buf[this.pos++] = b;
  }

  /** Text with no character JSON escapes and none above ASCII. */
  private ascii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.end) throw OUT_OF_ROOM;
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  private string(s: string): void {
    const n = s.length;
    const start = this.pos;
    if (start + n + 2 > this.end) throw OUT_OF_ROOM;
    const buf = this.buf;
    let p = start;
    buf[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // Printable ASCII but the quote and the backslash is written as it is; anything else as JSON.stringify
      // writes it (escapes, \u-escaped lone surrogates), then as UTF-8.
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) {
        this.pos = start;
        this.escaped(s);
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  private escaped(s: string): void {
    const text = JSON.stringify(s);
    // Measured first: Buffer#write would silently cut a text that does not fit.
    if (this.pos + Buffer.byteLength(text) > this.end) throw OUT_OF_ROOM;
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }
}
