// Field 52: the ISO 9564-1 format 0 (ANSI X9.8) PIN block, encrypted under the PIN working key (PIK) that
// sign-on delivers in field 62. Only the PIN pad forms a clear block and only the acquirer opens one; the
// terminal carries the encrypted 8 bytes in memory for one request (protocol/ISO8583.md, "Field 52").
//   PIN field  = 0, PIN length (one nibble, 4..12), the PIN digits, then F nibbles: 16 nibbles
//   PAN field  = 0000, then the 12 right-most PAN digits excluding the check digit: 16 nibbles
//   clear block = PIN field XOR PAN field;  field 52 = 3DES-ECB(PIK, clear block)
import type { SecretKey } from './keys.js';

export const PIN_BLOCK_LENGTH = 8;
export const MIN_PIN_DIGITS = 4;
export const MAX_PIN_DIGITS = 12;

/** Field 53 for a format 0 block (53.1 = 2, "with PAN") under a double-length 3DES key (53.2 = 6). */
export const PIN_SECURITY_CONTROL = '2600000000000000';
/** Field 26: the most PIN digits this terminal's PIN pad accepts. */
export const PIN_CAPTURE_CODE = String(MAX_PIN_DIGITS);

export type PinBlockProblem = 'bad-length' | 'bad-pan' | 'bad-pin' | 'not-format-0' | 'bad-pin-length' | 'bad-pin-digit' | 'bad-filler';

/** A PIN or PAN that cannot make a block, or 8 bytes that are not a format 0 block for that PAN. */
export class PinBlockError extends Error {
  constructor(
    readonly problem: PinBlockProblem,
    /** Nibble position in the clear block (0..15) where it went wrong, when it is about the block. */
    readonly nibble: number | undefined,
    detail: string,
  ) {
    // Never the PIN, the PAN or the block bytes: the message may reach a log.
    super(`PIN block: ${problem}${nibble !== undefined ? ` at nibble ${nibble}` : ''} (${detail})`);
    this.name = 'PinBlockError';
  }
}

/** The PAN field: 0000 + the 12 right-most digits before the check digit (zero-filled on the left). */
function panField(pan: string): Buffer {
  if (!/^\d{12,19}$/.test(pan)) throw new PinBlockError('bad-pan', undefined, 'a PAN is 12 to 19 digits');
  return Buffer.from(`0000${pan.slice(0, -1).slice(-12).padStart(12, '0')}`, 'hex');
}

function xor8(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(PIN_BLOCK_LENGTH);
  for (let i = 0; i < PIN_BLOCK_LENGTH; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** The clear format 0 block. Only the PIN pad (and a test) ever holds one. */
export function clearPinBlock(pin: string, pan: string): Buffer {
  if (!new RegExp(`^\\d{${MIN_PIN_DIGITS},${MAX_PIN_DIGITS}}$`).test(pin)) {
    throw new PinBlockError('bad-pin', undefined, `a PIN is ${MIN_PIN_DIGITS} to ${MAX_PIN_DIGITS} digits`);
  }
  const pinField = Buffer.from(`0${pin.length.toString(16).toUpperCase()}${pin}`.padEnd(16, 'F'), 'hex');
  return xor8(pinField, panField(pan));
}

/**
 * The PIN inside a clear format 0 block, strictly: format nibble 0, a length of 4..12, decimal digits,
 * then only F nibbles. Anything else is a PinBlockError naming the nibble.
 */
export function pinFromClearBlock(block: Buffer, pan: string): string {
  if (block.length !== PIN_BLOCK_LENGTH) throw new PinBlockError('bad-length', undefined, `a PIN block is ${PIN_BLOCK_LENGTH} bytes, got ${block.length}`);
  const nibbles = xor8(block, panField(pan)).toString('hex').toUpperCase();
  if (nibbles[0] !== '0') throw new PinBlockError('not-format-0', 0, 'the control nibble is not 0');
  const length = parseInt(nibbles[1]!, 16);
  if (length < MIN_PIN_DIGITS || length > MAX_PIN_DIGITS) throw new PinBlockError('bad-pin-length', 1, `length nibble ${length} is outside ${MIN_PIN_DIGITS}..${MAX_PIN_DIGITS}`);
  for (let i = 2; i < 2 + length; i++) {
    if (!/[0-9]/.test(nibbles[i]!)) throw new PinBlockError('bad-pin-digit', i, 'a PIN nibble is not a decimal digit');
  }
  for (let i = 2 + length; i < 16; i++) {
    if (nibbles[i] !== 'F') throw new PinBlockError('bad-filler', i, 'a filler nibble is not F');
  }
  return nibbles.slice(2, 2 + length);
}

/** What the PIN pad sends: the clear block encrypted under the PIK (3DES-ECB, one block). */
export function encryptPinBlock(pik: SecretKey, pin: string, pan: string): Buffer {
  const clear = clearPinBlock(pin, pan);
  try {
    return pik.encrypt(clear);
  } finally {
    clear.fill(0);
  }
}

/** What the acquirer does with field 52: decrypt under the session's PIK and read the PIN back. */
export function decryptPinBlock(pik: SecretKey, block: Buffer, pan: string): string {
  if (block.length !== PIN_BLOCK_LENGTH) throw new PinBlockError('bad-length', undefined, `a PIN block is ${PIN_BLOCK_LENGTH} bytes, got ${block.length}`);
  const clear = pik.decrypt(block);
  try {
    return pinFromClearBlock(clear, pan);
  } finally {
    clear.fill(0);
  }
}
