// Field 64: the CUP POS "ECB" MAC (银联 POS ECB 算法) under a double-length 3DES MAC working key.
//   MAB  = message bytes from the MTI through the last byte before field 64, zero-padded to 8n bytes
//   R    = XOR of all 8-byte blocks of MAB
//   H    = R as 16 upper-case ASCII hex digits
//   E1   = 3DES(MAK, H[0..8])
//   E2   = 3DES(MAK, E1 XOR H[8..16])
//   MAC  = first 8 characters of E2 as upper-case ASCII hex (8 bytes in field 64)
// TPDU and header are not covered: the network rewrites TPDU addresses in transit.
import { CUP_MESSAGE_OFFSET, encodeCup, type CupEnvelope } from './cup-envelope.js';
import type { IsoMessage } from './message.js';
import type { SecretKey } from './keys.js';

const MAC_FIELD = 64;
const MAC_LENGTH = 8;

const HEX_UPPER = '0123456789ABCDEF';

/** Upper-case ASCII hex of `bytes` into `out` from `at`. */
function hexInto(bytes: Uint8Array, count: number, out: Buffer, at: number): void {
  for (let i = 0; i < count; i++) {
    out[at + 2 * i] = HEX_UPPER.charCodeAt(bytes[i]! >> 4);
    out[at + 2 * i + 1] = HEX_UPPER.charCodeAt(bytes[i]! & 15);
  }
}

export function cupEcbMac(mak: SecretKey, mab: Buffer): Buffer {
  // R: the XOR of the MAB's 8-byte blocks, the last one zero-padded (a missing byte XORs as zero). In one
  // 8-byte buffer: a buffer per block was most of a sale's MAC cost, and two MACs are computed per sale.
  const r = Buffer.alloc(8);
  for (let i = 0; i < mab.length; i++) r[i & 7]! ^= mab[i]!;
  const h = Buffer.allocUnsafe(16);
  hexInto(r, 8, h, 0);
  const e1 = mak.encrypt(h.subarray(0, 8));
  for (let i = 0; i < 8; i++) e1[i]! ^= h[8 + i]!;
  const e2 = mak.encrypt(e1);
  // The first 8 hex digits of E2: its first 4 bytes.
  const mac = Buffer.allocUnsafe(8);
  hexInto(e2, 4, mac, 0);
  return mac;
}

/** Encodes a CUP frame body with field 64 filled in; returns the body and the message as sent. */
export function encodeCupWithMac(
  envelope: CupEnvelope,
  msg: IsoMessage,
  mak: SecretKey,
): { body: Buffer; message: IsoMessage } {
  const fields = new Map(msg.fields);
  fields.set(MAC_FIELD, Buffer.alloc(MAC_LENGTH));
  const body = encodeCup(envelope, { mti: msg.mti, fields });
  const mac = cupEcbMac(mak, body.subarray(CUP_MESSAGE_OFFSET, body.length - MAC_LENGTH));
  mac.copy(body, body.length - MAC_LENGTH);
  fields.set(MAC_FIELD, mac);
  return { body, message: { mti: msg.mti, fields } };
}

/**
 * True when a decoded CUP frame body carries field 64 and it matches. Field 64 is the last element of the
 * dialect, so it is always the body's last 8 bytes.
 */
export function verifyCupMac(body: Buffer, msg: IsoMessage, mak: SecretKey): boolean {
  const mac = msg.fields.get(MAC_FIELD);
  if (!Buffer.isBuffer(mac)) return false;
  const expected = cupEcbMac(mak, body.subarray(CUP_MESSAGE_OFFSET, body.length - MAC_LENGTH));
  return expected.equals(mac);
}
