// Tamper evidence: every record's MAC chains the previous record's MAC under a key derived from the device
// key, so `verify` notices an edited, removed or reordered record — not only accidental damage, which the
// CRC already catches. The device key itself never enters the journal.
import * as crypto from 'node:crypto';
import { MAC_BYTES } from '../../protocol/journal/format.js';

export const ZERO_MAC = Buffer.alloc(MAC_BYTES);

const SHA256_BLOCK = 64;
/** One-shot SHA-256 (Node ≥ 20.12): no Hash object per call, which is most of an HMAC's cost on ~300 bytes. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;

export class RecordChain {
  private readonly chainKey: Buffer;
  /** The chain key XOR ipad / opad (RFC 2104), so a record's HMAC is two one-shot hashes. */
  private readonly innerPad: Buffer;
  private readonly outerPad: Buffer;

  constructor(deviceKey: Buffer) {
    if (deviceKey.length < 16) throw new RangeError('device key must be at least 16 bytes');
    this.chainKey = crypto.createHmac('sha256', deviceKey).update('pos-journal record chain v1').digest();
    this.innerPad = Buffer.alloc(SHA256_BLOCK, 0x36);
    this.outerPad = Buffer.alloc(SHA256_BLOCK, 0x5c);
    for (let i = 0; i < this.chainKey.length; i++) {
      this.innerPad[i]! ^= this.chainKey[i]!;
      this.outerPad[i]! ^= this.chainKey[i]!;
    }
  }

  /** HMAC-SHA256(chainKey, prevMac ‖ header ‖ payload), first 16 bytes (JOURNAL_FORMAT §5). */
  recordMac(prevMac: Buffer, headerBytes: Buffer, payload: Buffer): Buffer {
    if (!oneShot) return crypto.createHmac('sha256', this.chainKey).update(prevMac).update(headerBytes).update(payload).digest().subarray(0, MAC_BYTES);
    const inner = oneShot('sha256', Buffer.concat([this.innerPad, prevMac, headerBytes, payload]), 'buffer');
    return oneShot('sha256', Buffer.concat([this.outerPad, inner]), 'buffer').subarray(0, MAC_BYTES);
  }

  headerMac(headerBody: Buffer): Buffer {
    return crypto.createHmac('sha256', this.chainKey).update('segment').update(headerBody).digest().subarray(0, MAC_BYTES);
  }
}
