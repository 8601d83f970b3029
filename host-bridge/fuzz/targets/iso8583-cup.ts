// The CUP POS codec: any body decodes to a message that re-encodes to the same bytes, or fails with
// Iso8583DecodeError. Structure-aware: decode, change fields, re-encode (bitmap, length prefixes and MAC
// recomputed).
import { cupDialect, decodeCup, encodeCup, encodeCupWithMac, Iso8583DecodeError, Iso8583EncodeError } from '../../../protocol/iso8583/index.js';
import { expectEqual, refusedWith, type FuzzTarget } from '../target.js';
import { mutateMessage } from './iso-values.js';
import { SEED_MAK, seedBodies } from './wire-seeds.js';

export const iso8583Cup: FuzzTarget = {
  name: 'iso8583-cup',
  covers: ['/protocol/iso8583/'],
  maxLen: 2048,
  dictionary: [Buffer.from([0x60, 0, 3, 0, 0]), Buffer.from([0x60, 0x31, 0, 0, 0, 0]), Buffer.from([0x02, 0x00]), Buffer.from([0x04, 0x00]), Buffer.from([0xff]), Buffer.from([0x99])],
  seeds: seedBodies,
  structured(input, rng) {
    let decoded;
    try {
      decoded = decodeCup(input);
    } catch {
      return undefined;
    }
    const mutated = mutateMessage(cupDialect, decoded.message, rng);
    try {
      return rng.chance(0.5) ? encodeCupWithMac(decoded.envelope, mutated, SEED_MAK).body : encodeCup(decoded.envelope, mutated);
    } catch (e) {
      if (e instanceof Iso8583EncodeError) return undefined;
      throw e;
    }
  },
  run(input) {
    refusedWith([Iso8583DecodeError], () => {
      const { envelope, message } = decodeCup(input);
      expectEqual(encodeCup(envelope, message), input, 'decodeCup → encodeCup');
    });
  },
};
