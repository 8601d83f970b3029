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

/** Accumulates a job. Tracks Chinese mode so `text` picks the right encoding. */
export class EscPosBuilder {
  private readonly parts: Buffer[] = [];
  private chinese = false;

  private push(op: EscPosOp): this {
    this.parts.push(encodeOp(op));
    return this;
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
    return this.push({ op: 'align', align });
  }
  bold(on: boolean): this {
    return this.push({ op: 'bold', on });
  }
  size(width: number, height: number): this {
    return this.push({ op: 'size', width, height });
  }
  text(text: string): this {
    if (text.length > 0) this.parts.push(encodeText(text, this.chinese));
    return this;
  }
  /** Text then LF. */
  line(text = ''): this {
    return this.text(text).push({ op: 'line-feed' });
  }
  feed(lines: number): this {
    return this.push({ op: 'feed', lines });
  }
  cut(partial = true): this {
    return this.push({ op: 'cut', partial });
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}
