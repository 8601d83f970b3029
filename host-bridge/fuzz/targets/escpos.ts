// ESC/POS: the printer simulator's stream decoder over any bytes, cut into chunks, reports the same
// operations as the strict whole-buffer decoder (or its typed EscPosError); the status byte decoder
// answers every (kind, byte) with a status or ESCPOS_BAD_STATUS, and re-encodes what it decoded.
import { decodeEscPos, EscPosStreamDecoder } from '../../../protocol/escpos/decoder.js';
import { EscPosError } from '../../../protocol/escpos/errors.js';
import type { EscPosOp } from '../../../protocol/escpos/ops.js';
import { decodeStatusByte, encodeStatusByte, STATUS_OK } from '../../../protocol/escpos/status.js';
import { FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';

const SEEDS = [
  Buffer.from('1b401c26d6d0cec40a1b6101c9ccbba7c3fbb3c60a1d2111ccecbef70a1d564200', 'hex'),
  Buffer.from('1b40524543454950540a1b4501544f54414c0a1b45001d5641', 'hex'),
  Buffer.from('100401100402100403100404', 'hex'),
];

type StatusKind = Parameters<typeof decodeStatusByte>[0];

/** Text may come in several ops when a chunk ends inside it: the same text either way. */
function joinText(ops: readonly EscPosOp[]): EscPosOp[] {
  const out: EscPosOp[] = [];
  for (const op of ops) {
    const last = out.at(-1);
    if (op.op === 'text' && last?.op === 'text') out[out.length - 1] = { op: 'text', bytes: Buffer.concat([last.bytes, op.bytes]) };
    else out.push(op);
  }
  return out;
}

export const escpos: FuzzTarget = {
  name: 'escpos',
  covers: ['/protocol/escpos/'],
  maxLen: 4096,
  dictionary: [[0x1b, 0x40], [0x1c, 0x26], [0x1c, 0x2e], [0x1d, 0x21], [0x1d, 0x56], [0x10, 0x04], [0x1b, 0x61], [0x0a], [0x81, 0x30, 0x81, 0x30]].map((b) => Buffer.from(b)),
  seeds: () => SEEDS,
  run(input) {
    if (input.length === 0) return;
    const kind = ((input[0]! & 3) + 1) as StatusKind;
    refusedWith([EscPosError], () => {
      const status = { ...STATUS_OK, ...decodeStatusByte(kind, input[input.length - 1]!) };
      const again = decodeStatusByte(kind, encodeStatusByte(kind, status));
      for (const [k, v] of Object.entries(again)) if (status[k as keyof typeof status] !== v) throw new FuzzFinding(`status ${kind}: ${k} does not survive encode`);
    });
    const step = 1 + (input[0]! >> 2);
    const stream = new EscPosStreamDecoder();
    const ops: EscPosOp[] = [];
    const errors: EscPosError[] = [];
    for (let at = 1; at < input.length; at += step) {
      const r = stream.push(input.subarray(at, at + step));
      ops.push(...r.ops);
      errors.push(...r.errors);
    }
    errors.push(...stream.end());
    let whole: EscPosOp[] | EscPosError;
    try {
      whole = decodeEscPos(input.subarray(1));
    } catch (e) {
      if (!(e instanceof EscPosError)) throw e;
      whole = e;
    }
    if (whole instanceof EscPosError) {
      if (errors[0]?.code !== whole.code || errors[0]?.offset !== whole.offset) throw new FuzzFinding(`chunked decoding reports ${errors[0]?.message ?? 'no error'}, whole-buffer ${whole.message}`);
    } else if (errors.length || JSON.stringify(joinText(ops)) !== JSON.stringify(joinText(whole))) throw new FuzzFinding('chunked decoding differs from whole-buffer decoding');
  },
};
