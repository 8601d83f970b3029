// protocol/ISO8583.md is the contract: its field tables must match the code's, and its worked example must
// be exactly what the encoder produces.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cupDialect,
  decodeCup,
  defaultTerminalEnvelope,
  encodeCupWithMac,
  financialRequest,
  frame,
  iso1987AsciiDialect,
  SecretKey,
  verifyCupMac,
  type Dialect,
} from '../../protocol/iso8583/index.js';

const spec = readFileSync('protocol/ISO8583.md', 'utf8');

function tableAfter(heading: string): string[][] {
  const start = spec.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of spec.slice(start).split('\n').slice(1)) {
    if (rows.length > 0 && !line.startsWith('|')) break;
    if (/^\| \d+ \|/.test(line)) rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

function tableOf(dialect: Dialect): string[][] {
  return [...dialect.fields.values()].map((f) => [
    String(f.number),
    f.name,
    f.content,
    f.lengthType,
    String(f.max),
    f.encoding,
    f.encoding === 'bcd' ? f.pad : '-',
  ]);
}

describe('protocol/ISO8583.md', () => {
  it('lists exactly the CUP POS elements the code implements', () => {
    expect(tableAfter('### CUP POS data elements')).toEqual(tableOf(cupDialect));
  });

  it('lists exactly the 1987 ASCII elements the code implements', () => {
    expect(tableAfter('## ISO 8583:1987 ASCII layout')).toEqual(tableOf(iso1987AsciiDialect));
  });

  it('worked example is byte for byte what the encoder sends', () => {
    const block = /```hex worked-example\n([\s\S]*?)```/.exec(spec);
    expect(block).not.toBeNull();
    const expected = Buffer.from(block![1]!.replace(/\s+/g, ''), 'hex');

    const mak = SecretKey.fromHex('A1B2C3D4E5F60718293A4B5C6D7E8F90');
    const sale = financialRequest({
      kind: 'sale',
      id: { terminalId: '12345678', merchantId: '898310048990001' },
      stan: '000017',
      batch: '000001',
      amount: '000000012345',
      card: { pan: '6212140000000000006', expiry: '2812', entryMode: '021' },
      time: '103015',
      date: '0315',
    });
    const { body } = encodeCupWithMac(defaultTerminalEnvelope, sale, mak);
    expect(frame(body).toString('hex').toUpperCase()).toBe(expected.toString('hex').toUpperCase());

    const decoded = decodeCup(expected.subarray(2));
    expect(decoded.message.fields.get(64)!.toString()).toBe('C54C96B5');
    expect(verifyCupMac(expected.subarray(2), decoded.message, mak)).toBe(true);
  });
});
