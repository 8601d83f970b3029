// One data element on the wire: its content class, how its length is given, and how its characters are
// encoded. Dialect tables are lists of these; the message codec only walks the bitmap and calls here.
import { Iso8583DecodeError, Iso8583EncodeError } from './errors.js';

/** n digits; z track-2 digits with '=' as separator; an letters, digits, space; ans printable ASCII; b bytes. */
export type Content = 'n' | 'z' | 'an' | 'ans' | 'b';
export type LengthType = 'fixed' | 'LLVAR' | 'LLLVAR';
/** bcd packs two digits a byte; ascii one character a byte; binary raw bytes; hex two ASCII hex digits a byte. */
export type Encoding = 'bcd' | 'ascii' | 'binary' | 'hex';

export interface FieldSpec {
  readonly number: number;
  readonly name: string;
  readonly content: Content;
  readonly lengthType: LengthType;
  /** Fixed length, or the largest variable length, in digits/characters (bytes for b). */
  readonly max: number;
  readonly encoding: Encoding;
  /** Encoding of an LL/LLL length prefix: BCD (1 or 2 bytes) or ASCII digits (2 or 3 bytes). */
  readonly prefix: 'bcd' | 'ascii';
  /** For an odd number of BCD digits: which side gets the 0 pad nibble. */
  readonly pad: 'left' | 'right';
}

export type FieldValue = string | Buffer;

const PREFIX_DIGITS: Record<LengthType, number> = { fixed: 0, LLVAR: 2, LLLVAR: 3 };

function contentOk(content: Content, s: string): boolean {
  switch (content) {
    case 'n':
      return /^[0-9]*$/.test(s);
    case 'z':
      return /^[0-9=]*$/.test(s);
    case 'an':
      return /^[0-9A-Za-z ]*$/.test(s);
    case 'ans':
      return /^[\x20-\x7e]*$/.test(s);
    case 'b':
      return true;
  }
}

/** Bytes a value of `units` length takes in the field's encoding. */
function byteLength(spec: FieldSpec, units: number): number {
  switch (spec.encoding) {
    case 'bcd':
      return Math.ceil(units / 2);
    case 'hex':
      return units * 2;
    default:
      return units;
  }
}

// ---- encoding ----

function nibbleOf(ch: string): number {
  return ch === '=' ? 0xd : ch.charCodeAt(0) - 48;
}

function packBcd(digits: string, pad: 'left' | 'right'): Buffer {
  const padded = digits.length % 2 === 0 ? digits : pad === 'left' ? '0' + digits : digits + '0';
  const out = Buffer.alloc(padded.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (nibbleOf(padded[2 * i]!) << 4) | nibbleOf(padded[2 * i + 1]!);
  return out;
}

function encodePrefix(spec: FieldSpec, units: number): Buffer {
  const digits = PREFIX_DIGITS[spec.lengthType];
  const text = String(units).padStart(digits, '0');
  return spec.prefix === 'ascii' ? Buffer.from(text, 'ascii') : packBcd(text, 'left');
}

export function encodeField(spec: FieldSpec, value: FieldValue): Buffer {
  const isBinary = spec.content === 'b';
  if (isBinary !== Buffer.isBuffer(value)) {
    throw new Iso8583EncodeError(spec.number, isBinary ? 'expects bytes (Buffer)' : 'expects a string');
  }
  const units = value.length;
  if (spec.lengthType === 'fixed' ? units !== spec.max : units > spec.max) {
    throw new Iso8583EncodeError(
      spec.number,
      `${spec.name}: length ${units}, ${spec.lengthType === 'fixed' ? 'must be' : 'at most'} ${spec.max}`,
    );
  }
  if (typeof value === 'string' && !contentOk(spec.content, value)) {
    throw new Iso8583EncodeError(spec.number, `${spec.name}: characters not allowed in ${spec.content}`);
  }
  let body: Buffer;
  switch (spec.encoding) {
    case 'bcd':
      body = packBcd(value as string, spec.pad);
      break;
    case 'ascii':
      body = Buffer.from(value as string, 'ascii');
      break;
    case 'binary':
      body = Buffer.from(value as Buffer);
      break;
    case 'hex':
      body = Buffer.from((value as Buffer).toString('hex').toUpperCase(), 'ascii');
      break;
  }
  return spec.lengthType === 'fixed' ? body : Buffer.concat([encodePrefix(spec, units), body]);
}

// ---- decoding ----

function need(spec: FieldSpec, buf: Buffer, at: number, n: number, what: string): void {
  if (at + n > buf.length) {
    throw new Iso8583DecodeError(spec.number, at, 'truncated', `${what} needs ${n} bytes, ${buf.length - at} left`);
  }
}

function unpackBcd(spec: FieldSpec, buf: Buffer, at: number, units: number, allowD: boolean): string {
  const nBytes = Math.ceil(units / 2);
  const odd = units % 2 === 1;
  let out = '';
  for (let i = 0; i < nBytes * 2; i++) {
    const byteAt = at + (i >> 1);
    const nib = i % 2 === 0 ? buf[byteAt]! >> 4 : buf[byteAt]! & 0x0f;
    const isPad = odd && ((spec.pad === 'left' && i === 0) || (spec.pad === 'right' && i === nBytes * 2 - 1));
    if (isPad) {
      if (nib !== 0) throw new Iso8583DecodeError(spec.number, byteAt, 'bad-padding', `pad nibble is ${nib.toString(16)}, not 0`);
      continue;
    }
    if (nib <= 9) out += String.fromCharCode(48 + nib);
    else if (allowD && nib === 0xd) out += '=';
    else throw new Iso8583DecodeError(spec.number, byteAt, 'bad-bcd-nibble', `nibble ${nib.toString(16).toUpperCase()}`);
  }
  return out;
}

function decodePrefix(spec: FieldSpec, buf: Buffer, at: number): { units: number; next: number } {
  const digits = PREFIX_DIGITS[spec.lengthType];
  let text: string;
  let width: number;
  if (spec.prefix === 'ascii') {
    width = digits;
    need(spec, buf, at, width, 'length prefix');
    text = buf.toString('latin1', at, at + width);
    if (!/^[0-9]+$/.test(text)) throw new Iso8583DecodeError(spec.number, at, 'bad-length-prefix', `"${text}" is not digits`);
  } else {
    width = Math.ceil(digits / 2);
    need(spec, buf, at, width, 'length prefix');
    const pre: FieldSpec = { ...spec, pad: 'left' };
    try {
      text = unpackBcd(pre, buf, at, digits, false);
    } catch (e) {
      const err = e as Iso8583DecodeError;
      throw new Iso8583DecodeError(spec.number, err.offset, 'bad-length-prefix', err.message);
    }
  }
  const units = Number(text);
  if (units > spec.max) {
    throw new Iso8583DecodeError(spec.number, at, 'too-long', `length ${units} exceeds max ${spec.max}`);
  }
  return { units, next: at + width };
}

/** Decodes the field starting at `at`; returns its value and the offset after it. */
export function decodeField(spec: FieldSpec, buf: Buffer, at: number): { value: FieldValue; next: number } {
  let units = spec.max;
  let pos = at;
  if (spec.lengthType !== 'fixed') ({ units, next: pos } = decodePrefix(spec, buf, at));
  const nBytes = byteLength(spec, units);
  need(spec, buf, pos, nBytes, `${spec.name} (${units} ${spec.content === 'b' ? 'bytes' : 'characters'})`);
  const end = pos + nBytes;
  switch (spec.encoding) {
    case 'bcd': {
      if (spec.content !== 'n' && spec.content !== 'z') throw new Error(`table error: BCD field ${spec.number} is ${spec.content}`);
      return { value: unpackBcd(spec, buf, pos, units, spec.content === 'z'), next: end };
    }
    case 'binary':
      return { value: Buffer.from(buf.subarray(pos, end)), next: end };
    case 'hex': {
      const text = buf.toString('latin1', pos, end);
      const bad = text.search(/[^0-9A-Fa-f]/);
      if (bad >= 0) throw new Iso8583DecodeError(spec.number, pos + bad, 'bad-character', 'not a hex digit');
      return { value: Buffer.from(text, 'hex'), next: end };
    }
    case 'ascii': {
      const text = buf.toString('latin1', pos, end);
      for (let i = 0; i < text.length; i++) {
        if (!contentOk(spec.content, text[i]!)) {
          const reason = spec.content === 'n' ? 'not-numeric' : 'bad-character';
          throw new Iso8583DecodeError(spec.number, pos + i, reason, `byte 0x${text.charCodeAt(i).toString(16)} not allowed in ${spec.content}`);
        }
      }
      return { value: text, next: end };
    }
  }
}
