// Field 52: the ISO 9564 format 0 PIN block. The worked example of protocol/ISO8583.md (its 3DES steps
// computed with openssl and written into the spec) must be exactly what the code computes; the strict
// reader of a clear block takes back every PIN the builder formed and refuses everything else with a
// PinBlockError, never another exception; a reversal never carries the PIN fields.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clearPinBlock,
  decryptPinBlock,
  encryptPinBlock,
  financialRequest,
  PIN_SECURITY_CONTROL,
  PinBlockError,
  pinFromClearBlock,
  reversalRequest,
  SecretKey,
  unwrapPinKey,
  wrapWorkingKeys,
} from '../../protocol/iso8583/index.js';

const spec = readFileSync('protocol/ISO8583.md', 'utf8');

function example(): Record<string, string> {
  const block = /```text pin-block-example\n([\s\S]*?)```/.exec(spec);
  expect(block, 'the spec has the PIN block worked example').not.toBeNull();
  return Object.fromEntries(block![1]!.trim().split('\n').map((l) => {
    const m = /^(.*?)\s{2,}([0-9A-F]+)$/.exec(l.trim())!;
    return [m[1]!, m[2]!];
  }));
}

const PIN = '123456';
const PAN = '6212345678901232';
const PIK_HEX = '8AB3C4D5E6F70819A2B3C4D5E6F70819';
const TMK = SecretKey.fromHex('0123456789ABCDEFFEDCBA9876543210');

describe('the worked example of protocol/ISO8583.md, "Field 52"', () => {
  const ex = example();
  const pik = SecretKey.fromHex(PIK_HEX);

  it('names this PIN, PAN and PIK', () => {
    expect(spec).toContain(`PIN \`${PIN}\`, PAN \`${PAN}\``);
    expect(spec).toContain(`PIK \`${PIK_HEX}\``);
  });

  it('clear block and field 52 are the bytes openssl gave', () => {
    const clear = clearPinBlock(PIN, PAN);
    expect(clear.toString('hex').toUpperCase()).toBe(ex['clear block']);
    const pinField = Buffer.from(ex['PIN field']!, 'hex');
    const panField = Buffer.from(ex['PAN field']!, 'hex');
    expect(Buffer.from(pinField.map((b, i) => b ^ panField[i]!)).toString('hex').toUpperCase()).toBe(ex['clear block']);
    expect(encryptPinBlock(pik, PIN, PAN).toString('hex').toUpperCase()).toBe(ex['field 52']);
    expect(decryptPinBlock(pik, Buffer.from(ex['field 52']!, 'hex'), PAN)).toBe(PIN);
  });

  it('the PIK as field 62 carries it unwraps under the TMK with its check value', () => {
    expect(pik.checkValue().toString('hex').toUpperCase()).toBe(ex['PIK check value']);
    const part = Buffer.from(ex['PIK under the TMK']! + ex['PIK check value']!, 'hex');
    expect(wrapWorkingKeys(TMK, { pin: pik, mac: pik }).subarray(0, 20)).toEqual(part);
    const unwrapped = unwrapPinKey(TMK, part);
    expect(unwrapped.encrypt(clearPinBlock(PIN, PAN)).toString('hex').toUpperCase()).toBe(ex['field 52']);
    part[19]! ^= 0x01;
    expect(() => unwrapPinKey(TMK, part)).toThrow(/pin-key-check-failed/);
  });
});

const pins = fc.stringMatching(/^\d{4,12}$/);
const pans = fc.stringMatching(/^[1-9]\d{11,18}$/);

describe('format 0', () => {
  it('round-trips every PIN of 4-12 digits with every PAN of 12-19 digits, and another PAN does not read it back', () => {
    fc.assert(
      fc.property(pins, pans, pans, (pin, pan, other) => {
        const block = clearPinBlock(pin, pan);
        expect(block).toHaveLength(8);
        expect(pinFromClearBlock(block, pan)).toBe(pin);
        const otherField = other.slice(0, -1).slice(-12).padStart(12, '0');
        const sameField = pan.slice(0, -1).slice(-12).padStart(12, '0');
        if (otherField !== sameField) {
          let read: string | undefined;
          try {
            read = pinFromClearBlock(block, other);
          } catch (e) {
            expect(e).toBeInstanceOf(PinBlockError);
          }
          // Another PAN can only read back a PIN by XOR luck; never this PIN.
          expect(read === pin).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the strict reader takes any 8 bytes: a PIN of 4-12 digits or a PinBlockError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 12 }), pans, (bytes, pan) => {
        try {
          const pin = pinFromClearBlock(Buffer.from(bytes), pan);
          expect(pin).toMatch(/^\d{4,12}$/);
          expect(clearPinBlock(pin, pan)).toEqual(Buffer.from(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(PinBlockError);
          // The message names the problem and the nibble, never the bytes.
          if (bytes.length === 8) expect((e as Error).message.toLowerCase()).not.toContain(Buffer.from(bytes).toString('hex'));
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('names what is wrong and where', () => {
    const good = clearPinBlock('1234', PAN);
    const at = (mutate: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      mutate(b);
      try {
        pinFromClearBlock(b, PAN);
      } catch (e) {
        return { problem: (e as PinBlockError).problem, nibble: (e as PinBlockError).nibble };
      }
      return null;
    };
    expect(at((b) => (b[0]! ^= 0x10))).toEqual({ problem: 'not-format-0', nibble: 0 });
    expect(at((b) => (b[0]! ^= 0x09))).toEqual({ problem: 'bad-pin-length', nibble: 1 });
    expect(at((b) => (b[1]! ^= 0xa0))).toEqual({ problem: 'bad-pin-digit', nibble: 2 });
    expect(at((b) => (b[7]! ^= 0x01))).toEqual({ problem: 'bad-filler', nibble: 15 });
    expect(() => clearPinBlock('123', PAN)).toThrow(PinBlockError);
    expect(() => clearPinBlock('1234567890123', PAN)).toThrow(PinBlockError);
    expect(() => clearPinBlock('1234', '12345')).toThrow(PinBlockError);
    expect(() => pinFromClearBlock(Buffer.alloc(7), PAN)).toThrow(/bad-length/);
  });
});

describe('fields 26, 52, 53 on the wire', () => {
  const request = financialRequest({
    kind: 'sale',
    id: { terminalId: '12345678', merchantId: '898310048990001' },
    stan: '000017',
    batch: '000001',
    amount: '000000012345',
    card: { pan: PAN, expiry: '2812', entryMode: '051', pinBlock: encryptPinBlock(SecretKey.fromHex(PIK_HEX), PIN, PAN) },
    time: '103015',
    date: '0315',
  });

  it('a sale with a PIN block carries 26 = 12, 52 and 53 = 2600000000000000', () => {
    expect(request.fields.get(26)).toBe('12');
    expect(request.fields.get(52)).toEqual(Buffer.from(example()['field 52']!, 'hex'));
    expect(request.fields.get(53)).toBe(PIN_SECURITY_CONTROL);
  });

  it('its reversal (0400 and 0401) carries none of them, and 22 as the original', () => {
    for (const repeat of [false, true]) {
      const rev = reversalRequest(request, '98', repeat);
      for (const n of [2, 14, 26, 35, 52, 53, 55]) expect(rev.fields.has(n), `field ${n}`).toBe(false);
      expect(rev.fields.get(22)).toBe('051');
    }
  });
});
