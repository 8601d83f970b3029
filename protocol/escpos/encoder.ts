// ESC/POS encoder: ops → bytes, and a small builder that receipts use. Text goes through iconv-lite's GB18030
// codec in Chinese mode (FS &) and must be printable ASCII otherwise, so a printer never sees bytes its
// current code page would print as garbage.
import iconv from 'iconv-lite';
import {
  ALIGNMENT_CODES,
  CHINESE_MODE_OFF,
  CHINESE_MODE_ON,
  ESC,
  GS,
  INIT,
  LF,
  MAX_FEED_LINES,
  MAX_MAGNIFICATION,
  type Alignment,
} from './commands.js';
import type { EscPosOp } from './ops.js';
import { statusRequest } from './status.js';

export class EscPosEncodeError extends Error {
  override readonly name = 'EscPosEncodeError';
}

function checkRange(what: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new EscPosEncodeError(`${what} must be an integer ${lo}..${hi}, got ${v}`);
  return v;
}

export function encodeOp(op: EscPosOp): Buffer {
  switch (op.op) {
    case 'init':
      return INIT;
    case 'align':
      return Buffer.from([ESC, 0x61, ALIGNMENT_CODES[op.align]]);
    case 'bold':
      return Buffer.from([ESC, 0x45, op.on ? 1 : 0]);
    case 'size': {
      const w = checkRange('width magnification', op.width, 1, MAX_MAGNIFICATION);
      const h = checkRange('height magnification', op.height, 1, MAX_MAGNIFICATION);
      return Buffer.from([GS, 0x21, ((w - 1) << 4) | (h - 1)]);
    }
    case 'chinese-mode':
      return op.on ? CHINESE_MODE_ON : CHINESE_MODE_OFF;
    case 'text':
      return op.bytes;
    case 'line-feed':
      return Buffer.from([LF]);
    case 'feed':
      return Buffer.from([ESC, 0x64, checkRange('feed lines', op.lines, 0, MAX_FEED_LINES)]);
    case 'cut':
      if (op.feedDots === undefined) return Buffer.from([GS, 0x56, op.partial ? 1 : 0]);
      return Buffer.from([GS, 0x56, op.partial ? 66 : 65, checkRange('cut feed dots', op.feedDots, 0, 255)]);
    case 'status-request':
      return statusRequest(op.kind);
  }
}

export function encodeOps(ops: readonly EscPosOp[]): Buffer {
  return Buffer.concat(ops.map(encodeOp));
}

/** Printable ASCII only: anything else would print from whatever code page the printer has selected. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function encodeText(text: string, chineseMode: boolean): Buffer {
  if (chineseMode) {
    if (/[\x00-\x1f\x7f]/.test(text)) throw new EscPosEncodeError(`control character in text ${JSON.stringify(text)}`);
    return iconv.encode(text, 'gb18030');
  }
  if (!PRINTABLE_ASCII.test(text)) {
    throw new EscPosEncodeError(`text ${JSON.stringify(text)} is not printable ASCII; select Chinese mode for GB18030 text`);
  }
  return Buffer.from(text, 'latin1');
}

/** Encoded bytes of the ops every receipt line repeats (align, bold, size, LF), built once each: a slip has hundreds. */
const ALIGN_BYTES = Object.fromEntries(Object.keys(ALIGNMENT_CODES).map((a) => [a, encodeOp({ op: 'align', align: a as Alignment })])) as Record<Alignment, Buffer>;
const BOLD_BYTES = [encodeOp({ op: 'bold', on: false }), encodeOp({ op: 'bold', on: true })] as const;
const LINE_FEED = encodeOp({ op: 'line-feed' });
/** GS ! by (width - 1) * 8 + (height - 1), filled as used; encodeOp range-checks first. */
const SIZE_BYTES: Buffer[] = [];
function sizeBytes(width: number, height: number): Buffer {
  const ok = Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1 && width <= MAX_MAGNIFICATION && height <= MAX_MAGNIFICATION;
  if (!ok) return encodeOp({ op: 'size', width, height });
  const i = (width - 1) * MAX_MAGNIFICATION + (height - 1);
  return (SIZE_BYTES[i] ??= encodeOp({ op: 'size', width, height }));
}

/** GB18030 of the Chinese texts slips repeat (labels, headings, card type); bounded, so varied text cannot grow it. */
const GB18030_CACHE_MAX = 256;
const NON_ASCII_RUNS = /[^\x20-\x7e]+/g;
const gb18030Cache = new Map<string, Buffer>();
function cachedGb18030(text: string): Buffer {
  let bytes = gb18030Cache.get(text);
  if (!bytes) {
    bytes = encodeText(text, true);
    if (gb18030Cache.size >= GB18030_CACHE_MAX) gb18030Cache.clear();
    gb18030Cache.set(text, bytes);
  }
  return bytes;
}

/**
 * Accumulates a job. Tracks Chinese mode so `text` picks the right encoding. Bytes go into one growing
 * buffer (not a Buffer per op): a two-copy slip is some 600 ops, and their allocations were most of its cost.
 */
export class EscPosBuilder {
  private buf = Buffer.allocUnsafe(2048);
  private len = 0;
  private chinese = false;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  private bytes(b: Uint8Array): this {
    this.room(b.length);
    // An op is two or three bytes: a loop beats TypedArray.set's call overhead there.
    if (b.length <= 8) for (let i = 0; i < b.length; i++) this.buf[this.len + i] = b[i]!;
    else this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  private push(op: EscPosOp): this {
    return this.bytes(encodeOp(op));
  }

  init(): this {
    // ESC @ leaves Chinese mode as configured on some models; cancel it explicitly so the state is known.
    this.chinese = false;
    return this.push({ op: 'init' }).push({ op: 'chinese-mode', on: false });
  }
  chineseMode(on: boolean): this {
    this.chinese = on;
    return this.push({ op: 'chinese-mode', on });
  }
  align(align: Alignment): this {
    return this.bytes(ALIGN_BYTES[align]);
  }
  bold(on: boolean): this {
    return this.bytes(BOLD_BYTES[on ? 1 : 0]);
  }
  size(width: number, height: number): this {
    return this.bytes(sizeBytes(width, height));
  }
  text(text: string): this {
    if (text.length === 0) return this;
    // Printable ASCII is the same single bytes in GB18030 and in the ASCII code page.
    if (PRINTABLE_ASCII.test(text)) {
      this.room(text.length);
      this.len += this.buf.write(text, this.len, 'latin1');
      return this;
    }
    if (!this.chinese) return this.bytes(encodeText(text, false));
    return this.bytes(cachedGb18030(text));
  }
  /** Text then LF. */
  line(text = ''): this {
    return this.text(text).bytes(LINE_FEED);
  }
  feed(lines: number): this {
    return this.push({ op: 'feed', lines });
  }
  cut(partial = true): this {
    return this.push({ op: 'cut', partial });
  }
  build(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}
