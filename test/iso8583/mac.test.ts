// Known-answer tests for the CUP POS ECB MAC and the sign-on key exchange. The expected values come from
// the openssl command-line tool (an implementation independent of Node's bindings) driven step by step.
import { execFileSync } from 'node:child_process';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cupEcbMac,
  decodeCup,
  defaultTerminalEnvelope,
  encodeCupWithMac,
  KeyExchangeError,
  message,
  SecretKey,
  unwrapWorkingKeys,
  verifyCupMac,
  wrapWorkingKeys,
} from '../../protocol/iso8583/index.js';

const MAK_HEX = 'A1B2C3D4E5F60718293A4B5C6D7E8F90';
const TMK_HEX = '0123456789ABCDEFFEDCBA9876543210';

function opensslEde(keyHex: string, block: Buffer): Buffer {
  return execFileSync('openssl', ['enc', '-des-ede-ecb', '-K', keyHex, '-nopad'], { input: block });
}

/** The MAC as the spec describes it, with every cipher call made by openssl. */
function referenceMac(keyHex: string, mab: Buffer): Buffer {
  const r = Buffer.alloc(8);
  for (let i = 0; i < mab.length; i++) r[i % 8]! ^= mab[i]!;
  const h = Buffer.from(r.toString('hex').toUpperCase(), 'ascii');
  const e1 = opensslEde(keyHex, h.subarray(0, 8));
  const x = Buffer.from(e1.map((b, i) => b ^ h[8 + i]!));
  const e2 = opensslEde(keyHex, x);
  return Buffer.from(e2.toString('hex').toUpperCase().slice(0, 8), 'ascii');
}

describe('3DES primitive', () => {
  it('matches the FIPS 81 DES vector when both halves of the key are equal', () => {
    const k = SecretKey.fromHex('0123456789ABCDEF0123456789ABCDEF');
    expect(k.encrypt(Buffer.from('Now is t')).toString('hex')).toBe('3fa40e8a984d4815');
  });

  it('one key encrypts and decrypts call after call, whole blocks, interleaved; a partial block is refused', () => {
    const k = SecretKey.fromHex('0123456789ABCDEF0123456789ABCDEF');
    const vector = Buffer.from('3fa40e8a984d4815', 'hex');
    for (let i = 0; i < 3; i++) {
      expect(k.decrypt(vector).toString('latin1')).toBe('Now is t');
      expect(k.encrypt(Buffer.from('Now is t'))).toEqual(vector);
      expect(k.decrypt(Buffer.concat([vector, vector])).toString('latin1')).toBe('Now is tNow is t');
    }
    expect(() => k.decrypt(vector.subarray(0, 5))).toThrow();
    expect(k.decrypt(vector).toString('latin1'), 'a refused call leaves the key usable').toBe('Now is t');
  });
});

describe('CUP POS ECB MAC', () => {
  const mak = SecretKey.fromHex(MAK_HEX);

  it('equals the openssl-driven reference on fixed and random MABs', () => {
    const fixed = Buffer.from('0200703C0480', 'hex');
    expect(cupEcbMac(mak, fixed)).toEqual(referenceMac(MAK_HEX, fixed));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 120 }), (a) => {
        const mab = Buffer.from(a);
        expect(cupEcbMac(mak, mab)).toEqual(referenceMac(MAK_HEX, mab));
      }),
      { numRuns: 15 },
    );
  });

  it('covers MTI through field 63 and verifies; one flipped bit fails', () => {
    const m = message('0210', { 3: '000000', 4: '000000000100', 11: '000001', 39: '00', 41: '12345678' });
    const { body, message: sent } = encodeCupWithMac(defaultTerminalEnvelope, m, mak);
    const { message: got } = decodeCup(body);
    expect(got).toEqual(sent);
    expect(verifyCupMac(body, got, mak)).toBe(true);
    expect(body.subarray(body.length - 8)).toEqual(referenceMac(MAK_HEX, body.subarray(11, body.length - 8)));
    const tampered = Buffer.from(body);
    tampered[tampered.length - 9]! ^= 0x01; // last character of field 41
    expect(verifyCupMac(tampered, decodeCup(tampered).message, mak)).toBe(false);
    expect(verifyCupMac(body, got, SecretKey.fromHex(TMK_HEX))).toBe(false);
  });

  it('ignores the TPDU, which the network may rewrite', () => {
    const m = message('0200', { 11: '000002', 41: '12345678' });
    const { body } = encodeCupWithMac(defaultTerminalEnvelope, m, mak);
    const rerouted = Buffer.from(body);
    rerouted[1] = 0x77;
    expect(verifyCupMac(rerouted, decodeCup(rerouted).message, mak)).toBe(true);
  });
});

describe('sign-on working keys', () => {
  const tmk = SecretKey.fromHex(TMK_HEX);

  it('check values match openssl', () => {
    expect(tmk.checkValue()).toEqual(opensslEde(TMK_HEX, Buffer.alloc(8)).subarray(0, 4));
  });

  it('wraps under the TMK and unwraps with check values', () => {
    const keys = { pin: SecretKey.fromHex('11111111111111112222222222222222'), mac: SecretKey.fromHex(MAK_HEX) };
    const f62 = wrapWorkingKeys(tmk, keys);
    expect(f62.length).toBe(40);
    expect(f62.subarray(20, 36)).toEqual(opensslEde(TMK_HEX, Buffer.from(MAK_HEX, 'hex')));
    const back = unwrapWorkingKeys(tmk, f62);
    expect(back.mac.checkValue()).toEqual(keys.mac.checkValue());
    const bad = Buffer.from(f62);
    bad[21]! ^= 1;
    expect(() => unwrapWorkingKeys(tmk, bad)).toThrow(KeyExchangeError);
    expect(() => unwrapWorkingKeys(tmk, f62.subarray(0, 39))).toThrow(/bad-length/);
  });

  it('never prints or serialises key bytes', () => {
    const k = SecretKey.fromHex(MAK_HEX);
    const shown = [inspect(k), JSON.stringify({ k }), String(k), inspect({ nested: { k } })].join(' ');
    expect(shown).not.toMatch(/a1b2|A1B2/);
    expect(shown).toContain('redacted');
  });
});
