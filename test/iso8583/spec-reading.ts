// An independent reading of protocol/ISO8583.md: the CUP field table and the message table are parsed from
// the spec's text as data, and a CUP frame body is decoded from them alone. Nothing here imports the codec,
// so a codec table that drifts from the spec (or a message that breaks it) disagrees with this reader.
import { readFileSync } from 'node:fs';

export interface SpecField {
  number: number;
  content: 'n' | 'z' | 'an' | 'ans' | 'b';
  lengthType: 'fixed' | 'LLVAR' | 'LLLVAR';
  max: number;
  encoding: 'bcd' | 'ascii' | 'binary';
  pad: 'left' | 'right' | '-';
}

/** One row of the spec's "Messages" table, read as constraints on a request. */
export interface SpecMessage {
  transaction: string;
  mtis: string[];
  /** Field 3: a value, absent ('-'), or anything ('original', "record's"). */
  processingCode: string | null | 'any';
  typeCode: string | 'any';
  networkCode?: string;
  /** Each group: at least one of its fields must be present. */
  required: number[][];
  forbidden: number[];
  responseMti: string | 'any';
  /** Fields an approved (39 = 00) response carries. */
  responseFields: number[];
}

const spec = readFileSync(new URL('../../protocol/ISO8583.md', import.meta.url), 'utf8');

function rowsAfter(heading: string): string[][] {
  const start = spec.indexOf(heading);
  if (start < 0) throw new Error(`spec has no "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of spec.slice(start).split('\n').slice(1)) {
    if (line.startsWith('|')) inTable = true;
    else if (inTable) break;
    if (inTable && !/^\|[\s|:-]+\|$/.test(line)) rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows.slice(1); // the header row
}

export function cupFieldTable(): Map<number, SpecField> {
  const table = new Map<number, SpecField>();
  for (const [f, , content, lengthType, max, encoding, pad] of rowsAfter('### CUP POS data elements')) {
    table.set(Number(f), {
      number: Number(f),
      content: content as SpecField['content'],
      lengthType: lengthType as SpecField['lengthType'],
      max: Number(max),
      encoding: encoding as SpecField['encoding'],
      pad: pad as SpecField['pad'],
    });
  }
  return table;
}

const numbers = (s: string) => [...s.matchAll(/\b(\d{1,3})\b/g)].map((m) => Number(m[1]));

export function messageTable(): SpecMessage[] {
  return rowsAfter('### Messages').map(([transaction, mti, f3, f601, required, response]) => {
    const networkCode = /60\.3 = (\d{3})/.exec(f601!)?.[1];
    const req: number[][] = [[11], [41], [42], [60]];
    const forbidden: number[] = [];
    // Parenthesised text explains; "never ..." forbids; "X or Y" is a choice; any other number is required.
    for (const part of required!.replace(/\([^)]*\)/g, '').split(';')) {
      if (/^\s*never\b/.test(part)) {
        forbidden.push(...numbers(part));
        continue;
      }
      for (const token of part.split(',')) {
        if (/\bor\b/.test(token)) req.push(numbers(token));
        else req.push(...numbers(token).map((n) => [n]));
      }
    }
    const [responseMti, ...rest] = response!.split(/\s+with\s+/);
    return {
      transaction: transaction!,
      mtis: [...mti!.matchAll(/\b(\d{4})\b/g)].map((m) => m[1]!),
      processingCode: f3 === '-' ? null : /^\d{6}$/.test(f3!) ? f3! : 'any',
      typeCode: /^\d{2}/.exec(f601!)?.[0] ?? 'any',
      ...(networkCode ? { networkCode } : {}),
      required: req,
      forbidden,
      responseMti: /^\d{4}$/.test(responseMti!) ? responseMti! : 'any',
      responseFields: rest.length ? numbers(rest.join(' ')) : [],
    };
  });
}

export class SpecDecodeError extends Error {}

export interface SpecDecoded {
  tpdu: Buffer;
  header: Buffer;
  mti: string;
  fields: Map<number, string | Buffer>;
}

const hexDigits = (b: Buffer) => b.toString('hex').toUpperCase();

/** Decodes a CUP frame body (after the 2-byte length) from the spec's words and table alone. */
export function decodeBySpec(body: Buffer, table = cupFieldTable()): SpecDecoded {
  let at = 0;
  const take = (n: number, what: string) => {
    if (at + n > body.length) throw new SpecDecodeError(`${what}: needs ${n} bytes at ${at}, frame has ${body.length}`);
    const b = body.subarray(at, at + n);
    at += n;
    return b;
  };
  const tpdu = take(5, 'TPDU');
  if (tpdu[0] !== 0x60) throw new SpecDecodeError('TPDU ID is not 0x60');
  const header = take(6, 'header');
  const mti = hexDigits(take(2, 'MTI'));
  if (!/^\d{4}$/.test(mti)) throw new SpecDecodeError(`MTI ${mti}`);
  const bitmap = take(8, 'bitmap');
  const fields = new Map<number, string | Buffer>();
  for (let bit = 1; bit <= 64; bit++) {
    if ((bitmap[(bit - 1) >> 3]! & (0x80 >> ((bit - 1) & 7))) === 0) continue;
    const f = table.get(bit);
    if (!f) throw new SpecDecodeError(`bit ${bit} set: the spec lists no field ${bit}`);
    let units = f.max;
    if (f.lengthType !== 'fixed') {
      const prefix = hexDigits(take(f.lengthType === 'LLVAR' ? 1 : 2, `field ${bit} length`));
      if (!/^\d+$/.test(prefix)) throw new SpecDecodeError(`field ${bit}: length prefix ${prefix}`);
      units = Number(prefix);
      if (units > f.max) throw new SpecDecodeError(`field ${bit}: length ${units} over ${f.max}`);
    }
    if (f.encoding === 'bcd') {
      const digits = hexDigits(take(Math.ceil(units / 2), `field ${bit}`));
      const odd = units % 2 === 1;
      const value = !odd ? digits : f.pad === 'left' ? digits.slice(1) : digits.slice(0, -1);
      if (odd && (f.pad === 'left' ? digits[0] : digits.at(-1)) !== '0') throw new SpecDecodeError(`field ${bit}: pad nibble not 0`);
      const text = f.content === 'z' ? value.replace(/D/g, '=') : value;
      if (!(f.content === 'z' ? /^[0-9=]*$/ : /^\d*$/).test(text)) throw new SpecDecodeError(`field ${bit}: ${f.content} holds ${value}`);
      fields.set(bit, text);
    } else if (f.encoding === 'ascii') {
      const text = take(units, `field ${bit}`).toString('latin1');
      const ok = { n: /^\d*$/, z: /^[0-9=]*$/, an: /^[0-9A-Za-z ]*$/, ans: /^[\x20-\x7e]*$/, b: /^/ }[f.content];
      if (!ok.test(text)) throw new SpecDecodeError(`field ${bit}: ${JSON.stringify(text)} is not ${f.content}`);
      fields.set(bit, text);
    } else {
      fields.set(bit, Buffer.from(take(units, `field ${bit}`)));
    }
  }
  if (at !== body.length) throw new SpecDecodeError(`${body.length - at} bytes after the last field`);
  return { tpdu, header, mti, fields };
}

/** The spec's message row for a request, chosen by MTI, field 3 and 60.1 (and 60.3 where the row names one). */
export function rowFor(rows: SpecMessage[], m: SpecDecoded): SpecMessage | undefined {
  const f60 = m.fields.get(60);
  const typeCode = typeof f60 === 'string' ? f60.slice(0, 2) : undefined;
  const networkCode = typeof f60 === 'string' ? f60.slice(8, 11) : undefined;
  const f3 = m.fields.get(3);
  return rows.find(
    (r) =>
      r.mtis.includes(m.mti) &&
      (r.processingCode === 'any' || (r.processingCode === null ? f3 === undefined : r.processingCode === f3)) &&
      (r.typeCode === 'any' || r.typeCode === typeCode) &&
      (r.networkCode === undefined || r.networkCode === networkCode),
  );
}
