// Tamper evidence: every record's MAC chains the previous record's MAC under a key derived from the device
// key, so `verify` notices an edited, removed or reordered record — not only accidental damage, which the
// CRC already catches. The device key itself never enters the journal.
import { createHmac } from 'node:crypto';
import { MAC_BYTES } from '../../protocol/journal/format.js';

export const ZERO_MAC = Buffer.alloc(MAC_BYTES);

export class RecordChain {
  private readonly chainKey: Buffer;

  constructor(deviceKey: Buffer) {
    if (deviceKey.length < 16) throw new RangeError('device key must be at least 16 bytes');
    this.chainKey = createHmac('sha256', deviceKey).update('pos-journal record chain v1').digest();
  }

  recordMac(prevMac: Buffer, headerBytes: Buffer, payload: Buffer): Buffer {
    return createHmac('sha256', this.chainKey).update(prevMac).update(headerBytes).update(payload).digest().subarray(0, MAC_BYTES);
  }

  headerMac(headerBody: Buffer): Buffer {
    return createHmac('sha256', this.chainKey).update('segment').update(headerBody).digest().subarray(0, MAC_BYTES);
  }
}
