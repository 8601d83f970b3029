// Tamper evidence: every record's MAC chains the previous record's MAC under a key derived from the device
// key, so `verify` notices an edited, removed or reordered record — not only accidental damage, which the
// CRC already catches. The device key itself never enters the journal.
import * as crypto from 'node:crypto';
import { MAC_BYTES, RECORD_HEADER_BYTES } from '../../protocol/journal/format.js';

/** Header bytes 4..32 of a record: what its MAC covers besides the previous MAC and the payload. */
const MAC_HEADER_BYTES = 28;
const SEGMENT_LABEL = Buffer.from('segment', 'latin1');
const EMPTY = Buffer.alloc(0);

export const ZERO_MAC = Buffer.alloc(MAC_BYTES);

const SHA256_BLOCK = 64;
/** One-shot SHA-256 (Node ≥ 20.12): no Hash object per call, which is most of an HMAC's cost on ~300 bytes. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;

export class RecordChain {
  private readonly chainKey: Buffer;
  /** The chain key XOR ipad / opad (RFC 2104), so a record's HMAC is two one-shot hashes. */
  private readonly outerPad: Buffer;
  /** innerPad ‖ prevMac ‖ header ‖ payload, rebuilt in place per record (grown for a larger payload). */
  private inner: Buffer;
  /** outerPad ‖ inner digest. */
  private readonly outer: Buffer;

  constructor(deviceKey: Buffer) {
    if (deviceKey.length < 16) throw new RangeError('device key must be at least 16 bytes');
    this.chainKey = crypto.createHmac('sha256', deviceKey).update('pos-journal record chain v1').digest();
    const innerPad = Buffer.alloc(SHA256_BLOCK, 0x36);
    this.outerPad = Buffer.alloc(SHA256_BLOCK, 0x5c);
    for (let i = 0; i < this.chainKey.length; i++) {
      innerPad[i]! ^= this.chainKey[i]!;
      this.outerPad[i]! ^= this.chainKey[i]!;
    }
    this.inner = Buffer.alloc(SHA256_BLOCK + MAC_BYTES + MAC_HEADER_BYTES + 4096);
    innerPad.copy(this.inner, 0);
    this.outer = Buffer.alloc(SHA256_BLOCK + 32);
    this.outerPad.copy(this.outer, 0);
  }

  /** HMAC-SHA256(chainKey, prevMac ‖ header ‖ payload), first 16 bytes (JOURNAL_FORMAT §5). */
  recordMac(prevMac: Buffer, headerBytes: Buffer, payload: Buffer): Buffer {
    return this.macOf(prevMac, headerBytes, 0, payload, 0, payload.length);
  }

  /** The same MAC for a record framed in `image` at `at` (its header bytes 4..32 and payload in place). */
  recordMacInImage(prevMac: Buffer, image: Buffer, at: number, payloadLength: number): Buffer {
    return this.macOf(prevMac, image, at + 4, image, at + RECORD_HEADER_BYTES, payloadLength);
  }

  /** HMAC of prefix ‖ header[headerAt, +headerLength) ‖ payload[payloadAt, +payloadLength), truncated to 16 bytes. */
  private macOf(prefix: Buffer, header: Buffer, headerAt: number, payload: Buffer, payloadAt: number, payloadLength: number, prefixLength = MAC_BYTES, headerLength = MAC_HEADER_BYTES): Buffer {
    if (!oneShot) {
      return crypto
        .createHmac('sha256', this.chainKey)
        .update(prefix.subarray(0, prefixLength))
        .update(header.subarray(headerAt, headerAt + headerLength))
        .update(payload.subarray(payloadAt, payloadAt + payloadLength))
        .digest()
        .subarray(0, MAC_BYTES);
    }
    const fixed = SHA256_BLOCK + prefixLength + headerLength;
    if (this.inner.length < fixed + payloadLength) {
      const grown = Buffer.alloc(fixed + payloadLength);
      this.inner.copy(grown, 0, 0, SHA256_BLOCK);
      this.inner = grown;
    }
    prefix.copy(this.inner, SHA256_BLOCK, 0, prefixLength);
    header.copy(this.inner, SHA256_BLOCK + prefixLength, headerAt, headerAt + headerLength);
    payload.copy(this.inner, fixed, payloadAt, payloadAt + payloadLength);
    oneShot('sha256', this.inner.subarray(0, fixed + payloadLength), 'buffer').copy(this.outer, SHA256_BLOCK);
    return oneShot('sha256', this.outer, 'buffer').subarray(0, MAC_BYTES);
  }

  /** HMAC-SHA256(chainKey, "segment" ‖ header bytes 0..40), first 16 bytes; open checks one per segment. */
  headerMac(headerBody: Buffer): Buffer {
    return this.macOf(SEGMENT_LABEL, headerBody, 0, EMPTY, 0, 0, SEGMENT_LABEL.length, headerBody.length);
  }
}
