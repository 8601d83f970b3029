// The record chain's MACs (chain.ts) computed the fast way — two one-shot SHA-256 over precomputed HMAC pads,
// buffers reused and grown — must be exactly HMAC-SHA256 as RFC 2104 and JOURNAL_FORMAT §5 define it, for
// every length of payload (below, at and past the reused buffer's size), in place and from separate
// buffers, and on a Node without the one-shot hash. A MAC that differed only in some cases would read as
// tampering after an upgrade, or accept what it should not.
import * as crypto from 'node:crypto';
import * as fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecordChain, ZERO_MAC } from '../../firmware-ts/journal/chain.js';
import { MAC_BYTES, RECORD_HEADER_BYTES } from '../../protocol/journal/format.js';
import { propertyRuns } from '../property-runs.js';

const chainKeyOf = (deviceKey: Buffer) => crypto.createHmac('sha256', deviceKey).update('pos-journal record chain v1').digest();
const reference = (deviceKey: Buffer, ...parts: Buffer[]) => {
  const h = crypto.createHmac('sha256', chainKeyOf(deviceKey));
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, MAC_BYTES);
};

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const payloads = fc.oneof(bytes(0, 64), bytes(4000, 4200), bytes(5000, 9000));

describe('record chain MAC', () => {
  afterEach(() => {
    vi.doUnmock('node:crypto');
    vi.resetModules();
  });

  it('is HMAC-SHA256(chain key, prevMac ‖ header bytes 4..32 ‖ payload) cut to 16 bytes, whatever the payload length, one chain reused', () => {
    const deviceKey = crypto.randomBytes(32);
    const chain = new RecordChain(deviceKey);
    fc.assert(
      fc.property(bytes(16, 16), bytes(28, 28), payloads, (prev, header, payload) => {
        expect(chain.recordMac(prev, header, payload)).toEqual(reference(deviceKey, prev, header, payload));
      }),
      { numRuns: propertyRuns(300) },
    );
  });

  it('writes the same MAC into a record framed in an image, reading the previous MAC from the record before it', () => {
    const deviceKey = crypto.randomBytes(24);
    const chain = new RecordChain(deviceKey);
    fc.assert(
      fc.property(bytes(16, 16), payloads, bytes(0, 40), bytes(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES), (prevMac, payload, lead, header) => {
        // An image: some bytes, a previous record's MAC at prevAt, then this record's header and payload.
        const prevAt = lead.length;
        const at = prevAt + MAC_BYTES + 3;
        const image = Buffer.alloc(at + RECORD_HEADER_BYTES + payload.length, 0xaa);
        lead.copy(image, 0);
        prevMac.copy(image, prevAt);
        header.copy(image, at);
        payload.copy(image, at + RECORD_HEADER_BYTES);
        const before = Buffer.from(image);
        chain.writeRecordMac(image, at, payload.length, image, prevAt);
        const expected = reference(deviceKey, prevMac, header.subarray(4, 32), payload);
        expect(image.subarray(at + 32, at + 32 + MAC_BYTES)).toEqual(expected);
        // Nothing but the MAC field changed.
        image.copy(before, at + 32, at + 32, at + 32 + MAC_BYTES);
        expect(image).toEqual(before);
      }),
      { numRuns: propertyRuns(200) },
    );
  });

  it('MACs a segment header as HMAC(chain key, "segment" ‖ header bytes), apart from any record MAC', () => {
    const deviceKey = crypto.randomBytes(32);
    const chain = new RecordChain(deviceKey);
    const body = crypto.randomBytes(40);
    expect(chain.headerMac(body)).toEqual(reference(deviceKey, Buffer.from('segment'), body));
    expect(chain.headerMac(body)).not.toEqual(chain.recordMac(ZERO_MAC, body.subarray(0, 28), Buffer.alloc(0)));
    expect(ZERO_MAC).toEqual(Buffer.alloc(MAC_BYTES));
  });

  it('depends on the device key, and refuses one shorter than 16 bytes', () => {
    const a = new RecordChain(Buffer.alloc(16, 1));
    const b = new RecordChain(Buffer.alloc(16, 2));
    const header = Buffer.alloc(28);
    expect(a.recordMac(ZERO_MAC, header, Buffer.from('x'))).not.toEqual(b.recordMac(ZERO_MAC, header, Buffer.from('x')));
    expect(() => new RecordChain(Buffer.alloc(15))).toThrow(new RangeError('device key must be at least 16 bytes'));
  });

  it('gives the same MACs on a Node without the one-shot hash (before 20.12)', async () => {
    vi.resetModules();
    vi.doMock('node:crypto', async () => {
      const real = await vi.importActual<typeof import('node:crypto')>('node:crypto');
      const rest = { ...real, hash: undefined };
      return { ...rest, default: rest };
    });
    const { RecordChain: Fallback } = await import('../../firmware-ts/journal/chain.js');
    const deviceKey = crypto.randomBytes(32);
    const fast = new RecordChain(deviceKey);
    const slow = new Fallback(deviceKey);
    for (const n of [0, 1, 300, 5000]) {
      const prev = crypto.randomBytes(16);
      const header = crypto.randomBytes(28);
      const payload = crypto.randomBytes(n);
      expect(slow.recordMac(prev, header, payload)).toEqual(fast.recordMac(prev, header, payload));
      expect(slow.recordMac(prev, header, payload)).toEqual(reference(deviceKey, prev, header, payload));
    }
    const body = crypto.randomBytes(40);
    expect(slow.headerMac(body)).toEqual(fast.headerMac(body));
  });
});
