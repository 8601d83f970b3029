// The serial line frame codec against the byte-exact examples in protocol/SERIAL_FRAMES.md, its typed
// errors, and properties: roundtrip, and random bytes only ever give a FrameError.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_LINE_BYTES,
  MAX_PAYLOAD_BYTES,
  decodeFrame,
  encodeFrame,
  frameCrc,
  type Frame,
} from '../../protocol/serial/frame.js';
import { FrameError } from '../../protocol/serial/frame-error.js';

const line = (s: string) => Buffer.from(s, 'latin1');
const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

function decodeError(bytes: Buffer): FrameError {
  try {
    decodeFrame(bytes);
  } catch (err) {
    if (err instanceof FrameError) return err;
    throw err;
  }
  throw new Error('decoded without error');
}

describe('CRC-16/CCITT-FALSE', () => {
  it('has the catalogued check value 0x29B1 for "123456789"', () => {
    expect(frameCrc(Buffer.from('123456789', 'latin1'))).toBe(0x29b1);
  });
});

describe('spec examples', () => {
  const examples: Array<[string, Frame, string]> = [
    ['STATUS request', { seq: 1, type: 'STATUS', payload: Buffer.from('{"id":1}') },
      '23 30 31 20 53 54 41 54 55 53 20 65 79 4a 70 5a 43 49 36 4d 58 30 3d 20 42 41 42 39 0a'],
    ['ACK of seq 1', { seq: 1, type: 'ACK', payload: Buffer.alloc(0) }, '23 30 31 20 41 43 4b 20 2d 20 38 30 39 37 0a'],
    ['NAK', { seq: 0, type: 'NAK', payload: Buffer.alloc(0) }, '23 30 30 20 4e 41 4b 20 2d 20 34 36 43 34 0a'],
    ['binary payload 0A 00 FF', { seq: 0x2a, type: 'RAW', payload: Buffer.from([0x0a, 0x00, 0xff]) },
      '23 32 41 20 52 41 57 20 43 67 44 2f 20 38 39 34 30 0a'],
  ];
  for (const [name, frame, bytes] of examples) {
    it(`${name} encodes to the spec bytes and back`, () => {
      expect(encodeFrame(frame).toString('hex')).toBe(hex(bytes).toString('hex'));
      expect(decodeFrame(hex(bytes).subarray(0, -1))).toEqual(frame);
    });
  }
});

describe('decode errors name what and where', () => {
  const good = encodeFrame({ seq: 1, type: 'STATUS', payload: Buffer.from('{"id":1}') }).subarray(0, -1);
  const withCrc = (body: string) => {
    const b = line(body);
    return Buffer.concat([b, line(frameCrc(b).toString(16).toUpperCase().padStart(4, '0'))]);
  };
  const cases: Array<[string, Buffer, string, number]> = [
    ['missing start', line('X01 ACK - 8097'), 'FRAME_NO_START', 0],
    ['too short', line('#01 ACK'), 'FRAME_TOO_SHORT', 7],
    ['flipped payload byte', Buffer.from(good).fill(0x41, 12, 13), 'FRAME_BAD_CRC', 24],
    ['lower-case CRC', line('#01 ACK - 809a'), 'FRAME_BAD_CRC_FIELD', 10],
    ['no space before CRC', line('#01 ACK -X8097'), 'FRAME_BAD_SEPARATOR', 9],
    ['lower-case seq', withCrc('#0a ACK - '), 'FRAME_BAD_SEQ', 1],
    ['no space after seq', withCrc('#01XACK - '), 'FRAME_BAD_SEPARATOR', 3],
    ['lower-case type', withCrc('#01 ack - '), 'FRAME_BAD_TYPE', 4],
    ['type of 17 chars', withCrc('#01 ABCDEFGHIJKLMNOPQ - '), 'FRAME_BAD_TYPE', 4],
    ['payload not base64', withCrc('#01 RAW a*== '), 'FRAME_BAD_PAYLOAD', 8],
    ['payload not padded', withCrc('#01 RAW YQ '), 'FRAME_BAD_PAYLOAD', 8],
    ['payload not canonical', withCrc('#01 RAW YR== '), 'FRAME_BAD_PAYLOAD', 8],
    ['empty payload field', withCrc('#01 RAW  '), 'FRAME_BAD_PAYLOAD', 8],
    ['no payload field', withCrc('#01 RAWX '), 'FRAME_BAD_SEPARATOR', 8],
    ['line too long', Buffer.alloc(MAX_LINE_BYTES, 0x23), 'FRAME_TOO_LONG', MAX_LINE_BYTES - 1],
  ];
  for (const [name, bytes, code, offset] of cases) {
    it(name, () => {
      const err = decodeError(bytes);
      expect({ code: err.code, offset: err.offset }).toEqual({ code, offset });
      expect(err.message).toContain(`at offset ${offset}`);
    });
  }

  it('refuses to encode what a peer could not decode', () => {
    expect(() => encodeFrame({ seq: 256, type: 'X', payload: Buffer.alloc(0) })).toThrow(RangeError);
    expect(() => encodeFrame({ seq: 1, type: 'a b', payload: Buffer.alloc(0) })).toThrow(RangeError);
    expect(() => encodeFrame({ seq: 1, type: 'X', payload: Buffer.alloc(MAX_PAYLOAD_BYTES + 1) })).toThrow(RangeError);
  });
});

const frameArb = fc.record({
  seq: fc.integer({ min: 0, max: 255 }),
  type: fc.stringMatching(/^[A-Z0-9_]{1,16}$/),
  payload: fc.uint8Array({ maxLength: MAX_PAYLOAD_BYTES }).map((u) => Buffer.from(u)),
});

describe('properties', () => {
  it('decode(encode(f)) == f and the line holds exactly one delimiter, at the end, within the limit', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const bytes = encodeFrame(f);
        expect(bytes.length).toBeLessThanOrEqual(MAX_LINE_BYTES);
        expect(bytes.indexOf(0x0a)).toBe(bytes.length - 1);
        expect(decodeFrame(bytes.subarray(0, -1))).toEqual(f);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes give a frame or a FrameError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2100 }), (u) => {
        try {
          decodeFrame(Buffer.from(u));
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('any single corrupted byte of a valid line is caught', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (f, at, xor) => {
        const bytes = Buffer.from(encodeFrame(f).subarray(0, -1));
        const i = at % bytes.length;
        bytes[i] = bytes[i]! ^ xor;
        expect(decodeError(bytes)).toBeInstanceOf(FrameError);
      }),
      { numRuns: 1000 },
    );
  });

  it('a truncated line (partial line) is always rejected', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), (f, cut) => {
        const bytes = encodeFrame(f).subarray(0, -1);
        expect(decodeError(bytes.subarray(0, cut % bytes.length))).toBeInstanceOf(FrameError);
      }),
      { numRuns: 500 },
    );
  });
});
