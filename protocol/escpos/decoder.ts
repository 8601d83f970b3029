// Strict decoder of the ESC/POS subset in ops.ts. Every byte is untrusted (DESIGN rule 7): anything outside
// the subset is a typed EscPosError naming the byte offset, never a throw from deep inside and never a
// silent skip. The stream form keeps at most one incomplete command (≤ 4 bytes) between chunks, so memory
// stays bounded however the bytes are split.
import {
  CUT_MODES_PLAIN,
  CUT_MODES_WITH_FEED,
  DLE,
  EOT,
  ESC,
  FS,
  GS,
  LF,
  MAX_FEED_LINES,
  type Alignment,
  type StatusKind,
} from './commands.js';
import { EscPosError } from './errors.js';
import type { EscPosOp } from './ops.js';

type Step =
  | { kind: 'op'; op: EscPosOp; next: number }
  | { kind: 'need-more' }
  | { kind: 'error'; error: EscPosError; next: number };

const ALIGN_BY_CODE: Record<number, Alignment> = { 0: 'left', 1: 'center', 2: 'right', 48: 'left', 49: 'center', 50: 'right' };

const isGbLead = (b: number) => b >= 0x81 && b <= 0xfe;
const isGbTrail2 = (b: number) => (b >= 0x40 && b <= 0x7e) || (b >= 0x80 && b <= 0xfe);
const isGbDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isAsciiPrintable = (b: number) => b >= 0x20 && b <= 0x7e;

/**
 * Length of the GB18030 character at buf[i] (1, 2 or 4), 0 if the buffer ends inside it, -1 if invalid.
 * Single bytes are only the printable ASCII range: control bytes are commands.
 */
function gbCharLength(buf: Buffer, i: number): number {
  const b0 = buf[i]!;
  if (isAsciiPrintable(b0)) return 1;
  if (!isGbLead(b0)) return -1;
  if (i + 1 >= buf.length) return 0;
  const b1 = buf[i + 1]!;
  if (isGbTrail2(b1)) return 2;
  if (!isGbDigit(b1)) return -1;
  if (i + 2 >= buf.length) return 0;
  if (!isGbLead(buf[i + 2]!)) return -1;
  if (i + 3 >= buf.length) return 0;
  return isGbDigit(buf[i + 3]!) ? 4 : -1;
}

const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;

class StepContext {
  constructor(
    readonly buf: Buffer,
    readonly base: number,
    readonly chinese: boolean,
  ) {}
  err(code: EscPosError['code'], at: number, next: number, message: string): Step {
    return { kind: 'error', error: new EscPosError(code, this.base + at, message), next };
  }
}

function stepText(c: StepContext, i: number): Step {
  const { buf } = c;
  let j = i;
  while (j < buf.length) {
    const b = buf[j]!;
    if (b < 0x20) break;
    if (!c.chinese) {
      if (!isAsciiPrintable(b)) break;
      j++;
      continue;
    }
    const len = gbCharLength(buf, j);
    if (len <= 0) {
      if (len === 0 && j === i) return { kind: 'need-more' };
      break;
    }
    j += len;
  }
  if (j > i) return { kind: 'op', op: { op: 'text', bytes: Buffer.from(buf.subarray(i, j)) }, next: j };
  const b = buf[i]!;
  const mode = c.chinese ? 'Chinese (GB18030) mode' : 'ASCII mode';
  return c.err('ESCPOS_BAD_TEXT', i, i + 1, `byte ${hex(b)} is not valid text in ${mode}`);
}

/** Parameter byte `k` positions after i, or undefined when the buffer ends first. */
const param = (buf: Buffer, i: number, k: number) => (i + k < buf.length ? buf[i + k] : undefined);

function stepCommand(c: StepContext, i: number): Step {
  const { buf } = c;
  const b0 = buf[i]!;
  if (b0 === LF) return { kind: 'op', op: { op: 'line-feed' }, next: i + 1 };
  if (b0 !== ESC && b0 !== GS && b0 !== FS && b0 !== DLE) {
    return c.err('ESCPOS_UNKNOWN_COMMAND', i, i + 1, `control byte ${hex(b0)} is not in the ESC/POS subset`);
  }
  const b1 = param(buf, i, 1);
  if (b1 === undefined) return { kind: 'need-more' };
  const name = `${hex(b0)} ${hex(b1)}`;

  if (b0 === FS) {
    if (b1 === 0x26) return { kind: 'op', op: { op: 'chinese-mode', on: true }, next: i + 2 };
    if (b1 === 0x2e) return { kind: 'op', op: { op: 'chinese-mode', on: false }, next: i + 2 };
    return c.err('ESCPOS_UNKNOWN_COMMAND', i, i + 1, `FS command ${name} is not in the subset`);
  }
  if (b0 === ESC && b1 === 0x40) return { kind: 'op', op: { op: 'init' }, next: i + 2 };

  const known =
    (b0 === ESC && (b1 === 0x61 || b1 === 0x45 || b1 === 0x64)) ||
    (b0 === GS && (b1 === 0x21 || b1 === 0x56)) ||
    (b0 === DLE && b1 === EOT);
  if (!known) return c.err('ESCPOS_UNKNOWN_COMMAND', i, i + 1, `command ${name} is not in the subset`);

  const n = param(buf, i, 2);
  if (n === undefined) return { kind: 'need-more' };
  const bad = (what: string) => c.err('ESCPOS_BAD_PARAMETER', i, i + 3, `${what} ${n} in command ${name}`);

  if (b0 === DLE) {
    if (n < 1 || n > 4) return bad('DLE EOT status kind must be 1..4, got');
    return { kind: 'op', op: { op: 'status-request', kind: n as StatusKind }, next: i + 3 };
  }
  if (b0 === ESC && b1 === 0x61) {
    const align = ALIGN_BY_CODE[n];
    return align ? { kind: 'op', op: { op: 'align', align }, next: i + 3 } : bad('alignment must be 0..2 or 48..50, got');
  }
  if (b0 === ESC && b1 === 0x45) {
    // Only the lowest bit selects bold; the rest is ignored by printers, so accept any n.
    return { kind: 'op', op: { op: 'bold', on: (n & 1) === 1 }, next: i + 3 };
  }
  if (b0 === ESC && b1 === 0x64) {
    return n <= MAX_FEED_LINES ? { kind: 'op', op: { op: 'feed', lines: n }, next: i + 3 } : bad('feed lines');
  }
  if (b0 === GS && b1 === 0x21) {
    const width = (n >> 4) + 1;
    const height = (n & 0x0f) + 1;
    if (width > 8 || height > 8) return bad('magnification must be 1..8 each way, got byte');
    return { kind: 'op', op: { op: 'size', width, height }, next: i + 3 };
  }
  // GS V
  if (CUT_MODES_PLAIN.has(n)) return { kind: 'op', op: { op: 'cut', partial: n % 2 === 1 }, next: i + 3 };
  if (CUT_MODES_WITH_FEED.has(n)) {
    const dots = param(buf, i, 3);
    if (dots === undefined) return { kind: 'need-more' };
    return { kind: 'op', op: { op: 'cut', partial: n === 66, feedDots: dots }, next: i + 4 };
  }
  return bad('cut mode must be 0, 1, 48, 49, 65 or 66, got');
}

function step(c: StepContext, i: number): Step {
  const b = c.buf[i]!;
  return b < 0x20 ? stepCommand(c, i) : stepText(c, i);
}

export interface DecodeChunk {
  ops: EscPosOp[];
  /** Bytes the decoder could not accept, each skipped so decoding resumes right after it. */
  errors: EscPosError[];
}

/** Decodes a byte stream that arrives in chunks (a serial line); commands may be split anywhere. */
export class EscPosStreamDecoder {
  private pending = Buffer.alloc(0);
  /** Stream offset of pending[0]. */
  private base = 0;
  private chinese = false;

  push(chunk: Buffer): DecodeChunk {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: DecodeChunk = { ops: [], errors: [] };
    let i = 0;
    while (i < buf.length) {
      const s = step(new StepContext(buf, this.base, this.chinese), i);
      if (s.kind === 'need-more') break;
      if (s.kind === 'error') out.errors.push(s.error);
      else {
        if (s.op.op === 'chinese-mode') this.chinese = s.op.on;
        // ESC @ resets the character mode along with everything else.
        if (s.op.op === 'init') this.chinese = false;
        out.ops.push(s.op);
      }
      i = s.next;
    }
    this.pending = Buffer.from(buf.subarray(i));
    this.base += i;
    return out;
  }

  /** Call when the stream is over: an incomplete command left over is reported as truncated. */
  end(): EscPosError[] {
    if (this.pending.length === 0) return [];
    const e = new EscPosError('ESCPOS_TRUNCATED', this.base, `stream ended inside a command or character (${this.pending.length} byte(s) left)`);
    this.base += this.pending.length;
    this.pending = Buffer.alloc(0);
    return [e];
  }
}

/** Decodes a whole buffer strictly: the first problem, including a truncated tail, is thrown. */
export function decodeEscPos(bytes: Buffer): EscPosOp[] {
  const d = new EscPosStreamDecoder();
  const { ops, errors } = d.push(bytes);
  const first = errors[0] ?? d.end()[0];
  if (first) throw first;
  return ops;
}
