// Terminal keys. The terminal master key (TMK) is configured; sign-on (0800/0810) delivers the PIN and MAC
// working keys in field 62, each encrypted under the TMK and followed by its check value. Key bytes live
// only inside SecretKey, which prints and serialises as "[redacted]" so it cannot reach a log or journal.
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { inspect } from 'node:util';

/** A double-length (16-byte) triple-DES key: EDE with K1, K2, K1. */
export class SecretKey {
  readonly #bytes: Buffer;
  #encryptor: Cipher | undefined;
  #decryptor: Decipher | undefined;
  constructor(bytes: Buffer) {
    if (bytes.length !== 16) throw new RangeError('a key is 16 bytes (double-length 3DES)');
    this.#bytes = Buffer.from(bytes);
  }
  static fromHex(hex: string): SecretKey {
    if (!/^[0-9A-Fa-f]{32}$/.test(hex)) throw new RangeError('a key is 32 hex digits');
    return new SecretKey(Buffer.from(hex, 'hex'));
  }
  /** ECB-encrypts whole 8-byte blocks. */
  encrypt(data: Buffer): Buffer {
    // ECB without padding keeps no state between whole blocks, so one cipher serves every call (a MAC is two
    // encryptions, each of which built a cipher context before). Anything else fails in final() as before.
    if (data.length % 8 === 0) return (this.#encryptor ??= createCipheriv('des-ede-ecb', this.#bytes, null).setAutoPadding(false)).update(data);
    const c = createCipheriv('des-ede-ecb', this.#bytes, null).setAutoPadding(false);
    return Buffer.concat([c.update(data), c.final()]);
  }
  decrypt(data: Buffer): Buffer {
    // As encrypt: whole blocks through one decipher (the host decrypts a PIN block per authorization).
    if (data.length % 8 === 0) return (this.#decryptor ??= createDecipheriv('des-ede-ecb', this.#bytes, null).setAutoPadding(false)).update(data);
    const d = createDecipheriv('des-ede-ecb', this.#bytes, null).setAutoPadding(false);
    return Buffer.concat([d.update(data), d.final()]);
  }
  /** This key encrypted under a key-encrypting key (the TMK): the only way its bytes leave the object. */
  wrapUnder(kek: SecretKey): Buffer {
    return kek.encrypt(this.#bytes);
  }
  /** Key check value: the first 4 bytes of the key encrypting eight zero bytes. */
  checkValue(): Buffer {
    return this.encrypt(Buffer.alloc(8)).subarray(0, 4);
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'SecretKey [redacted]';
  }
}

export interface WorkingKeys {
  pin: SecretKey;
  mac: SecretKey;
}

/** Field 62 of a 0810 with double-length keys: PIK (16) + PIK check (4) + MAK (16) + MAK check (4). */
export const WORKING_KEYS_LENGTH = 40;
/** The PIK part of field 62 (key under the TMK + check value): what the PIN pad is given. */
export const PIN_KEY_PART_LENGTH = 20;

/** The PIN pad's side: unwrap the PIK part of field 62 under its TMK and check it. */
export function unwrapPinKey(tmk: SecretKey, part: Buffer): SecretKey {
  if (part.length !== PIN_KEY_PART_LENGTH) throw new KeyExchangeError('bad-length');
  const key = new SecretKey(tmk.decrypt(part.subarray(0, 16)));
  if (!key.checkValue().equals(part.subarray(16, 20))) throw new KeyExchangeError('pin-key-check-failed');
  return key;
}

export class KeyExchangeError extends Error {
  constructor(readonly reason: 'bad-length' | 'pin-key-check-failed' | 'mac-key-check-failed') {
    super(`sign-on key exchange failed: ${reason}`);
    this.name = 'KeyExchangeError';
  }
}

/** The host side: wrap fresh working keys under the terminal master key. */
export function wrapWorkingKeys(tmk: SecretKey, keys: WorkingKeys): Buffer {
  const part = (k: SecretKey) => Buffer.concat([k.wrapUnder(tmk), k.checkValue()]);
  return Buffer.concat([part(keys.pin), part(keys.mac)]);
}

/** The terminal side: unwrap field 62 of the 0810 and check each key against its check value. */
export function unwrapWorkingKeys(tmk: SecretKey, field62: Buffer): WorkingKeys {
  if (field62.length !== WORKING_KEYS_LENGTH) throw new KeyExchangeError('bad-length');
  const unwrap = (at: number, reason: 'pin-key-check-failed' | 'mac-key-check-failed') => {
    const key = new SecretKey(tmk.decrypt(field62.subarray(at, at + 16)));
    if (!key.checkValue().equals(field62.subarray(at + 16, at + 20))) throw new KeyExchangeError(reason);
    return key;
  };
  return { pin: unwrap(0, 'pin-key-check-failed'), mac: unwrap(20, 'mac-key-check-failed') };
}
