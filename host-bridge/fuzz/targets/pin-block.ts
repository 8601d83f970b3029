// Field 52's clear PIN block (ISO 9564 format 0), as the acquirer reads it back: the input is the PAN's
// digits, a newline, then the block's bytes. A block reads to a PIN of 4-12 digits that forms exactly the
// same block again with that PAN, or fails with PinBlockError. Structure-aware: a valid block for a random
// PIN with one nibble changed, or with a PAN of another length.
import { clearPinBlock, PinBlockError, pinFromClearBlock } from '../../../protocol/iso8583/index.js';
import { expectEqual, FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';

const SEEDS: [string, string][] = [
  ['6212345678901232', '123456'],
  ['6200000000000005', '1234'],
  ['4761739001010010', '999999999999'],
  ['621214000000000000', '0000'],
];

const split = (input: Buffer) => {
  const nl = input.indexOf(0x0a);
  return nl < 0 ? null : { pan: input.toString('latin1', 0, nl), block: input.subarray(nl + 1) };
};

export const pinBlock: FuzzTarget = {
  name: 'pin-block',
  covers: ['/protocol/iso8583/pin-block'],
  maxLen: 64,
  dictionary: [[0x0f], [0xff], [0x04], [0x0c], [0x0d], [0x0a]].map((b) => Buffer.from(b)),
  seeds: () => SEEDS.map(([pan, pin]) => Buffer.concat([Buffer.from(`${pan}\n`), clearPinBlock(pin, pan)])),
  structured(input, rng) {
    const parts = split(input);
    if (!parts || !/^\d{12,19}$/.test(parts.pan)) return undefined;
    const pan = rng.chance(0.3) ? parts.pan.slice(0, 12 + rng.int(parts.pan.length - 11)) : parts.pan;
    const pin = String(rng.int(10 ** 6)).padStart(4 + rng.int(9), '0');
    const block = clearPinBlock(pin, pan);
    const nibble = rng.int(16);
    if (rng.chance(0.8)) block[nibble >> 1]! ^= (1 + rng.int(15)) << (nibble & 1 ? 0 : 4);
    return Buffer.concat([Buffer.from(`${pan}\n`), block]);
  },
  run(input) {
    const parts = split(input);
    if (!parts) return;
    refusedWith([PinBlockError], () => {
      const pin = pinFromClearBlock(parts.block, parts.pan);
      if (!/^\d{4,12}$/.test(pin)) throw new FuzzFinding(`read back a PIN of ${pin.length} characters that are not all digits`);
      expectEqual(clearPinBlock(pin, parts.pan), parts.block, 'read → form (PIN block)');
    });
  },
};
