// How many bytes one sale puts on disk per record, so the floor writes exactly what the journal writes.
import { payloadBytes, salePayloads } from './payloads.js';

/** Bytes of the intent, outcome and printed records of sale `i`. */
export type SaleRecordSizes = (i: number) => readonly [intent: number, outcome: number, printed: number];

export const RECORD_HEADER_BYTES = 48;

/** The journal's framing as the bench assumes it: payload + 48-byte header, padded to 8 bytes. */
export const framedSize = (payloadLength: number): number => Math.ceil((payloadLength + RECORD_HEADER_BYTES) / 8) * 8;

export const jsonSaleRecordSizes: SaleRecordSizes = (i) => {
  const p = salePayloads(i);
  return [framedSize(payloadBytes(p.intent).length), framedSize(payloadBytes(p.outcome).length), framedSize(payloadBytes(p.printed).length)];
};
