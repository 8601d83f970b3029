// Strict BER-TLV (EMV Book 3 Annex B, ISO/IEC 8825-1) for the data a chip card and the reader hand over:
// multi-byte tags, short and long-form lengths, constructed objects parsed into children. Anything that
// is not exactly one well-formed TLV list fails with a TlvError naming the offset, never a generic throw.

export type TlvErrorCode =
  | 'TLV_TRUNCATED_TAG'
  | 'TLV_TAG_TOO_LONG'
  | 'TLV_BAD_TAG'
  | 'TLV_TRUNCATED_LENGTH'
  | 'TLV_INDEFINITE_LENGTH'
  | 'TLV_LENGTH_TOO_LONG'
  | 'TLV_VALUE_OVERRUNS'
  | 'TLV_TOO_DEEP';

export class TlvError extends Error {
  readonly code: TlvErrorCode;
  /** Byte offset from the start of the outermost input. */
  readonly offset: number;
  /** Tag (hex) being read when the error was found, when known. */
  readonly tag: string | undefined;
  constructor(code: TlvErrorCode, offset: number, detail: string, tag?: string) {
    super(`${code} at offset ${offset}${tag ? ` (tag ${tag})` : ''}: ${detail}`);
    this.name = 'TlvError';
    this.code = code;
    this.offset = offset;
    this.tag = tag;
  }
}

export interface TlvNode {
  /** Upper-case hex of the tag bytes, e.g. "9F26". */
  tag: string;
  /** The value bytes (for a constructed tag, the encoded children). */
  value: Buffer;
  /** Parsed children when the tag is constructed (bit 6 of its first byte). */
  children?: TlvNode[];
}

/** EMV tags are at most 2 bytes; 3 leaves room for proprietary ones without unbounded tags. */
export const MAX_TAG_BYTES = 3;
/** Lengths up to 0x83 XX XX XX (16 MB) are read; longer length fields are refused. */
export const MAX_LENGTH_BYTES = 3;
export const MAX_DEPTH = 8;

export function isConstructed(tag: string): boolean {
  return (parseInt(tag.slice(0, 2), 16) & 0x20) !== 0;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

/** Parses a concatenation of TLV objects that fills `bytes` exactly. */
export function parseTlv(bytes: Uint8Array): TlvNode[] {
  return parseList(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, 0);
}

function parseList(buf: Buffer, base: number, depth: number): TlvNode[] {
  if (depth > MAX_DEPTH) throw new TlvError('TLV_TOO_DEEP', base, `constructed objects nested deeper than ${MAX_DEPTH}`);
  const out: TlvNode[] = [];
  let i = 0;
  while (i < buf.length) {
    const tagStart = i;
    const first = buf[i++]!;
    // 0x00 and 0xFF are padding in some card records; here they are never a valid first tag byte.
    if (first === 0x00 || first === 0xff) {
      throw new TlvError('TLV_BAD_TAG', base + tagStart, `0x${hex(Uint8Array.of(first))} is not a tag (padding is not accepted)`);
    }
    if ((first & 0x1f) === 0x1f) {
      for (let k = 0; ; k++) {
        if (i >= buf.length) throw new TlvError('TLV_TRUNCATED_TAG', base + i, 'multi-byte tag ends with the input');
        const b = buf[i++]!;
        if (k === 0 && (b & 0x7f) === 0) {
          throw new TlvError('TLV_BAD_TAG', base + i - 1, 'first subsequent tag byte has bits 7-1 all zero');
        }
        if (i - tagStart > MAX_TAG_BYTES) throw new TlvError('TLV_TAG_TOO_LONG', base + tagStart, `tag longer than ${MAX_TAG_BYTES} bytes`);
        if ((b & 0x80) === 0) break;
      }
    }
    const tag = hex(buf.subarray(tagStart, i));
    if (i >= buf.length) throw new TlvError('TLV_TRUNCATED_LENGTH', base + i, 'no length byte', tag);
    const lenByte = buf[i++]!;
    let len = lenByte;
    if (lenByte === 0x80) throw new TlvError('TLV_INDEFINITE_LENGTH', base + i - 1, 'indefinite length (0x80) is not allowed', tag);
    if (lenByte > 0x80) {
      const n = lenByte & 0x7f;
      if (n > MAX_LENGTH_BYTES) throw new TlvError('TLV_LENGTH_TOO_LONG', base + i - 1, `length field of ${n} bytes`, tag);
      if (i + n > buf.length) throw new TlvError('TLV_TRUNCATED_LENGTH', base + i, `long-form length needs ${n} bytes`, tag);
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + buf[i++]!;
    }
    if (i + len > buf.length) {
      throw new TlvError('TLV_VALUE_OVERRUNS', base + i, `value of ${len} bytes runs past the end (${buf.length - i} left)`, tag);
    }
    const value = Buffer.from(buf.subarray(i, i + len));
    const node: TlvNode = { tag, value };
    if ((first & 0x20) !== 0) node.children = parseList(value, base + i, depth + 1);
    out.push(node);
    i += len;
  }
  return out;
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  if (n <= 0xff) return Buffer.of(0x81, n);
  if (n <= 0xffff) return Buffer.of(0x82, n >> 8, n & 0xff);
  if (n <= 0xffffff) return Buffer.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  throw new RangeError(`TLV value of ${n} bytes is too long`);
}

/** Checks a tag string is one a strict parser would read back as exactly that tag. */
export function validTag(tag: string): boolean {
  if (!/^([0-9A-F]{2}){1,3}$/.test(tag)) return false;
  const b = Buffer.from(tag, 'hex');
  const first = b[0]!;
  if (first === 0x00 || first === 0xff) return false;
  if ((first & 0x1f) !== 0x1f) return b.length === 1;
  if (b.length < 2 || (b[1]! & 0x7f) === 0) return false;
  for (let k = 1; k < b.length; k++) {
    const more = (b[k]! & 0x80) !== 0;
    if (more !== (k < b.length - 1)) return false;
  }
  return true;
}

/** Minimal (DER-style) encoding; constructed nodes are encoded from their children when present. */
export function encodeTlv(nodes: readonly TlvNode[]): Buffer {
  const parts: Buffer[] = [];
  for (const n of nodes) {
    if (!validTag(n.tag)) throw new RangeError(`not a valid BER tag: ${n.tag}`);
    const value = n.children ? encodeTlv(n.children) : n.value;
    parts.push(Buffer.from(n.tag, 'hex'), encodeLength(value.length), value);
  }
  return Buffer.concat(parts);
}

/** The first node with `tag`, searching constructed children depth-first. */
export function findTag(nodes: readonly TlvNode[], tag: string): TlvNode | undefined {
  for (const n of nodes) {
    if (n.tag === tag) return n;
    const inner = n.children && findTag(n.children, tag);
    if (inner) return inner;
  }
  return undefined;
}
