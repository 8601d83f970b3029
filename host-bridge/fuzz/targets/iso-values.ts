// Field-level mutation of an ISO 8583 message, from a dialect's own table: drop a field, add one, or give
// one a new value of a random length (up to and past its max). The caller re-encodes, so the bitmap and
// every length prefix come out right and the decoder's deeper checks get exercised.
import type { Dialect, FieldSpec, FieldValue, IsoMessage } from '../../../protocol/iso8583/index.js';
import type { Rng } from '../mutate.js';

const DIGITS = '0123456789';
const SETS: Record<FieldSpec['content'], string> = {
  n: DIGITS,
  z: DIGITS + '=',
  an: DIGITS + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ',
  ans: Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join(''),
  b: '',
};

export function fieldValue(spec: FieldSpec, rng: Rng): FieldValue {
  const n = spec.lengthType === 'fixed' && !rng.chance(0.1) ? spec.max : rng.int(spec.max + 2);
  if (spec.content === 'b') return rng.bytes(n);
  const set = SETS[spec.content];
  let s = '';
  for (let i = 0; i < n; i++) s += set[rng.int(set.length)];
  return s;
}

export function mutateMessage(dialect: Dialect, msg: IsoMessage, rng: Rng): IsoMessage {
  const fields = new Map(msg.fields);
  const specs = [...dialect.fields.values()];
  const present = [...fields.keys()];
  let mti = msg.mti;
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const op = rng.int(6);
    if (op === 0 && present.length) fields.delete(rng.pick(present));
    else if (op === 1) mti = String(rng.int(10000)).padStart(4, '0');
    else if (op === 2 && present.length) {
      // Keep the value but change one character: a digit where a letter was, and so on.
      const n = rng.pick(present);
      const v = fields.get(n)!;
      if (typeof v === 'string' && v.length) {
        const at = rng.int(v.length);
        fields.set(n, v.slice(0, at) + String.fromCharCode(0x20 + rng.int(95)) + v.slice(at + 1));
      }
    } else {
      const spec = op === 3 && present.length ? dialect.fields.get(rng.pick(present))! : rng.pick(specs);
      fields.set(spec.number, fieldValue(spec, rng));
    }
  }
  return { mti, fields: new Map([...fields.entries()].sort((a, b) => a[0] - b[0])) };
}
