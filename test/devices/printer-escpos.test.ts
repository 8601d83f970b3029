import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { decodeEscPos, EscPosStreamDecoder } from '../../protocol/escpos/decoder.js';
import { EscPosBuilder, EscPosEncodeError, encodeOps } from '../../protocol/escpos/encoder.js';
import { EscPosError } from '../../protocol/escpos/errors.js';
import type { EscPosOp } from '../../protocol/escpos/ops.js';
import {
  decodeStatusByte,
  encodeStatusByte,
  statusProblem,
  statusRequest,
  STATUS_OK,
  type PrinterStatus,
} from '../../protocol/escpos/status.js';

const hex = (b: Buffer) => b.toString('hex');

describe('ESC/POS encoder', () => {
  it('emits the documented bytes for each command', () => {
    const bytes = new EscPosBuilder().init().align('center').bold(true).size(2, 2).chineseMode(true).text('消费').feed(3).cut().build();
    expect(hex(bytes)).toBe(
      '1b40' + '1c2e' + '1b6101' + '1b4501' + '1d2111' + '1c26' + hex(iconv.encode('消费', 'gb18030')) + '1b6403' + '1d5601',
    );
    expect(hex(statusRequest(4))).toBe('100404');
  });

  it('encodes GB18030 text, including a 4-byte character', () => {
    const b = new EscPosBuilder().chineseMode(true).text('重打印𠀀').build();
    expect(b.subarray(2).toString('hex')).toBe(hex(iconv.encode('重打印𠀀', 'gb18030')));
    expect(b.length).toBe(2 + 6 + 4);
  });

  it('refuses non-ASCII text outside Chinese mode and control characters anywhere', () => {
    expect(() => new EscPosBuilder().text('商户')).toThrow(EscPosEncodeError);
    expect(() => new EscPosBuilder().text('a\x1bb')).toThrow(/not printable ASCII/);
    expect(() => new EscPosBuilder().chineseMode(true).text('a\x07')).toThrow(/control character/);
    expect(() => new EscPosBuilder().size(9, 1)).toThrow(/width magnification/);
  });

  it('builds the same bytes as encoding its ops one by one, past its first buffer and with text repeated', () => {
    const text = fc.stringMatching(/^[ -~消费金额商户名称重打印𠀀]{0,40}$/);
    const step = fc.oneof(
      fc.record({ op: fc.constant('text' as const), text }),
      fc.record({ op: fc.constant('align' as const), align: fc.constantFrom('left' as const, 'center' as const, 'right' as const) }),
      fc.record({ op: fc.constant('bold' as const), on: fc.boolean() }),
      fc.record({ op: fc.constant('size' as const), width: fc.integer({ min: 1, max: 8 }), height: fc.integer({ min: 1, max: 8 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
        const b = new EscPosBuilder().init().chineseMode(true);
        const ops: EscPosOp[] = [{ op: 'init' }, { op: 'chinese-mode', on: false }, { op: 'chinese-mode', on: true }];
        // Twice over: the second pass meets every text again (the builder keeps Chinese runs it has encoded).
        for (const st of [...steps, ...steps]) {
          if (st.op === 'text') {
            b.line(st.text);
            if (st.text.length > 0) ops.push({ op: 'text', bytes: iconv.encode(st.text, 'gb18030') });
            ops.push({ op: 'line-feed' });
          } else if (st.op === 'align') {
            b.align(st.align);
            ops.push(st);
          } else if (st.op === 'bold') {
            b.bold(st.on);
            ops.push(st);
          } else {
            b.size(st.width, st.height);
            ops.push(st);
          }
        }
        expect(hex(b.build())).toBe(hex(encodeOps(ops)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('DLE EOT status bytes', () => {
  it('decodes the Epson bit layout', () => {
    expect(decodeStatusByte(1, 0x1a)).toEqual({ offline: true });
    expect(decodeStatusByte(2, 0x16)).toEqual({ coverOpen: true, paperEndStop: false });
    expect(decodeStatusByte(2, 0x32)).toEqual({ coverOpen: false, paperEndStop: true });
    expect(decodeStatusByte(3, 0x1a)).toMatchObject({ autoCutterError: true, unrecoverableError: false });
    expect(decodeStatusByte(3, 0x32)).toMatchObject({ unrecoverableError: true });
    expect(decodeStatusByte(4, 0x1e)).toEqual({ paperNearEnd: true, paperEnd: false });
    expect(decodeStatusByte(4, 0x72)).toEqual({ paperNearEnd: false, paperEnd: true });
    expect(decodeStatusByte(4, 0x12)).toEqual({ paperNearEnd: false, paperEnd: false });
  });

  it('rejects a byte whose fixed bits are wrong, naming the offset', () => {
    for (const b of [0x00, 0xff, 0x13, 0x92, 0x02]) {
      expect(() => decodeStatusByte(1, b, 7)).toThrow(EscPosError);
    }
    try {
      decodeStatusByte(2, 0xff, 7);
    } catch (e) {
      expect((e as EscPosError).code).toBe('ESCPOS_BAD_STATUS');
      expect((e as EscPosError).offset).toBe(7);
    }
  });

  it('encode then decode gives back every condition (property)', () => {
    const status = fc.record<PrinterStatus>({
      offline: fc.boolean(),
      coverOpen: fc.boolean(),
      paperEndStop: fc.boolean(),
      paperEnd: fc.boolean(),
      paperNearEnd: fc.boolean(),
      mechanicalError: fc.boolean(),
      autoCutterError: fc.boolean(),
      unrecoverableError: fc.boolean(),
      autoRecoverableError: fc.boolean(),
    });
    fc.assert(
      fc.property(status, (s) => {
        const back = { ...STATUS_OK };
        for (const k of [1, 2, 3, 4] as const) Object.assign(back, decodeStatusByte(k, encodeStatusByte(k, s)));
        expect(back).toEqual(s);
      }),
    );
  });

  it('names the most specific problem; near end alone is not a problem', () => {
    expect(statusProblem(STATUS_OK)).toBeNull();
    expect(statusProblem({ ...STATUS_OK, paperNearEnd: true })).toBeNull();
    expect(statusProblem({ ...STATUS_OK, offline: true, paperEnd: true })).toBe('paper-end');
    expect(statusProblem({ ...STATUS_OK, offline: true, coverOpen: true })).toBe('cover-open');
    expect(statusProblem({ ...STATUS_OK, offline: true, autoCutterError: true })).toBe('auto-cutter-error');
    expect(statusProblem({ ...STATUS_OK, offline: true })).toBe('offline');
  });
});

const asciiText = fc.string({ minLength: 1, maxLength: 20, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
const cjkText = fc.string({
  minLength: 1,
  maxLength: 10,
  unit: fc.oneof(
    fc.integer({ min: 0x4e00, max: 0x9fa5 }).map((c) => String.fromCodePoint(c)),
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('，', '：', '￥', '𠀀', '€'),
  ),
});

/** A valid op sequence: text ops only use characters their current mode can carry. */
const opSequence = fc
  .array(
    fc.oneof(
      fc.constant<EscPosOp>({ op: 'init' }),
      fc.constantFrom<EscPosOp>({ op: 'align', align: 'left' }, { op: 'align', align: 'center' }, { op: 'align', align: 'right' }),
      fc.boolean().map<EscPosOp>((on) => ({ op: 'bold', on })),
      fc.record({ width: fc.integer({ min: 1, max: 8 }), height: fc.integer({ min: 1, max: 8 }) }).map<EscPosOp>((s) => ({ op: 'size', ...s })),
      fc.boolean().map<EscPosOp>((on) => ({ op: 'chinese-mode', on })),
      fc.tuple(asciiText, cjkText).map(([a, c]) => ({ text: true as const, a, c })),
      fc.constant<EscPosOp>({ op: 'line-feed' }),
      fc.integer({ min: 0, max: 255 }).map<EscPosOp>((lines) => ({ op: 'feed', lines })),
      fc.boolean().map<EscPosOp>((partial) => ({ op: 'cut', partial })),
      fc.record({ partial: fc.boolean(), feedDots: fc.integer({ min: 0, max: 255 }) }).map<EscPosOp>((c) => ({ op: 'cut', ...c })),
      fc.constantFrom<EscPosOp>(...([1, 2, 3, 4] as const).map((kind) => ({ op: 'status-request' as const, kind }))),
    ),
    { maxLength: 40 },
  )
  .map((items) => {
    let chinese = false;
    const ops: EscPosOp[] = [];
    for (const it of items) {
      if ('text' in it) {
        ops.push({ op: 'text', bytes: chinese ? iconv.encode(it.c, 'gb18030') : Buffer.from(it.a, 'latin1') });
        continue;
      }
      if (it.op === 'chinese-mode') chinese = it.on;
      if (it.op === 'init') chinese = false;
      ops.push(it);
    }
    return ops;
  });

/** Adjacent text ops merge: the wire does not keep the boundary between two writes of text. */
function mergeText(ops: EscPosOp[]): EscPosOp[] {
  const out: EscPosOp[] = [];
  for (const op of ops) {
    const last = out[out.length - 1];
    if (op.op === 'text' && last?.op === 'text') out[out.length - 1] = { op: 'text', bytes: Buffer.concat([last.bytes, op.bytes]) };
    else out.push(op);
  }
  return out;
}

describe('strict ESC/POS decoder', () => {
  it('round-trips any valid op sequence, however the bytes are split (property)', () => {
    fc.assert(
      fc.property(opSequence, fc.array(fc.nat(), { maxLength: 8 }), (ops, cuts) => {
        const bytes = encodeOps(ops);
        expect(mergeText(decodeEscPos(bytes))).toEqual(mergeText(ops));
        // Same bytes through the stream decoder in arbitrary chunks.
        const d = new EscPosStreamDecoder();
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const got: EscPosOp[] = [];
        let at = 0;
        for (const p of [...points, bytes.length]) {
          const r = d.push(bytes.subarray(at, p));
          expect(r.errors).toEqual([]);
          got.push(...r.ops);
          at = p;
        }
        expect(d.end()).toEqual([]);
        expect(mergeText(got)).toEqual(mergeText(ops));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes give only typed errors with in-range offsets, never a throw (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (raw, split) => {
        const bytes = Buffer.from(raw);
        try {
          decodeEscPos(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(EscPosError);
          expect((e as EscPosError).offset).toBeGreaterThanOrEqual(0);
          expect((e as EscPosError).offset).toBeLessThan(Math.max(1, bytes.length));
        }
        const d = new EscPosStreamDecoder();
        const k = split % (bytes.length + 1);
        const errors = [...d.push(bytes.subarray(0, k)).errors, ...d.push(bytes.subarray(k)).errors, ...d.end()];
        for (const e of errors) {
          expect(e).toBeInstanceOf(EscPosError);
          expect(e.offset).toBeLessThan(Math.max(1, bytes.length));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('names unknown, truncated, bad-parameter and bad-text input with its offset', () => {
    const cases: [string, string, number][] = [
      ['41421b7a', 'ESCPOS_UNKNOWN_COMMAND', 2],
      ['410d', 'ESCPOS_UNKNOWN_COMMAND', 1],
      ['1b61', 'ESCPOS_TRUNCATED', 0],
      ['41421d5641', 'ESCPOS_TRUNCATED', 2],
      ['1b6107', 'ESCPOS_BAD_PARAMETER', 0],
      ['10040a', 'ESCPOS_BAD_PARAMETER', 0],
      ['1d2199', 'ESCPOS_BAD_PARAMETER', 0],
      ['41c4e3', 'ESCPOS_BAD_TEXT', 1],
      ['1c2641ff', 'ESCPOS_BAD_TEXT', 3],
      ['1c26c4', 'ESCPOS_TRUNCATED', 2],
      ['1c268130', 'ESCPOS_TRUNCATED', 2],
    ];
    for (const [input, code, offset] of cases) {
      const err = (() => {
        try {
          decodeEscPos(Buffer.from(input, 'hex'));
        } catch (e) {
          return e as EscPosError;
        }
        throw new Error(`${input} decoded without error`);
      })();
      expect({ input, code: err.code, offset: err.offset }).toEqual({ input, code, offset });
      expect(err.message).toContain(`at byte ${offset}`);
    }
  });

  it('keeps stream offsets across chunks and resumes after a bad byte', () => {
    const d = new EscPosStreamDecoder();
    expect(d.push(Buffer.from('4142', 'hex')).ops).toHaveLength(1);
    const r = d.push(Buffer.from('07430a', 'hex'));
    expect(r.errors.map((e) => [e.code, e.offset])).toEqual([['ESCPOS_UNKNOWN_COMMAND', 2]]);
    expect(r.ops).toEqual([{ op: 'text', bytes: Buffer.from('C') }, { op: 'line-feed' }]);
  });
});
