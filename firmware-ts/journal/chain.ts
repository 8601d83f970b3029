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
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'binary') => string }).hash;

/** The first 16 bytes of a digest given as a latin1 string. */
function macBuffer(digest: string): Buffer {
  const mac = Buffer.allocUnsafe(MAC_BYTES);
  mac.write(digest, 0, MAC_BYTES, 'latin1');
  return mac;
}

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
    return macBuffer(this.digest(prevMac, 0, MAC_BYTES, headerBytes, 0, MAC_HEADER_BYTES, payload, 0, payload.length));
  }

  /**
   * The same MAC for a record framed in `image` at `at` (header bytes 4..32 and payload in place), written
   * into its MAC field; the previous MAC is read from `prev` at `prevAt` (the record before in the same image).
   */
  writeRecordMac(image: Buffer, at: number, payloadLength: number, prev: Buffer, prevAt: number): void {
    const mac = this.digest(prev, prevAt, MAC_BYTES, image, at + 4, MAC_HEADER_BYTES, image, at + RECORD_HEADER_BYTES, payloadLength);
    // 16 characters of a one-byte string: a loop costs less than Buffer#write's trip through the binding.
    for (let i = 0; i < MAC_BYTES; i++) image[at + 32 + i] = mac.charCodeAt(i);
  }

  /**
   * HMAC-SHA256 of the three ranges, as a latin1 ('binary') string (one character per byte): Node's one-shot hash
   * makes a string for a fraction of what a Buffer result costs it, and writing one back is a copy.
   */
  private digest(a: Buffer, aAt: number, aLength: number, b: Buffer, bAt: number, bLength: number, c: Buffer, cAt: number, cLength: number): string {
    if (!oneShot) {
      return crypto
        .createHmac('sha256', this.chainKey)
        .update(a.subarray(aAt, aAt + aLength))
        .update(b.subarray(bAt, bAt + bLength))
        .update(c.subarray(cAt, cAt + cLength))
        .digest('binary');
    }
    const fixed = SHA256_BLOCK + aLength + bLength;
    if (this.inner.length < fixed + cLength) {
      const grown = Buffer.alloc(fixed + cLength);
      this.inner.copy(grown, 0, 0, SHA256_BLOCK);
      this.inner = grown;
    }
    const inner = this.inner;
    // The previous MAC and the header fields are a few bytes: a loop costs less than Buffer.copy's set-up.
    for (let i = 0; i < aLength; i++) inner[SHA256_BLOCK + i] = a[aAt + i]!;
    for (let i = 0; i < bLength; i++) inner[SHA256_BLOCK + aLength + i] = b[bAt + i]!;
    if (cLength > 0) c.copy(inner, fixed, cAt, cAt + cLength);
    const innerDigest = oneShot('sha256', inner.subarray(0, fixed + cLength), 'binary');
    const outer = this.outer;
    for (let i = 0; i < 32; i++) outer[SHA256_BLOCK + i] = innerDigest.charCodeAt(i);
    return oneShot('sha256', outer, 'binary');
  }

  /** HMAC-SHA256(chainKey, "segment" ‖ header bytes 0..40), first 16 bytes; open checks one per segment. */
  headerMac(headerBody: Buffer): Buffer {
    return macBuffer(this.digest(SEGMENT_LABEL, 0, SEGMENT_LABEL.length, headerBody, 0, headerBody.length, EMPTY, 0, 0));
  }
}
