import { createHash } from 'node:crypto';

/** A short content digest of a batch's payloads, so a kill drill can tell "intact" from "altered". */
export function batchDigest(payloads: unknown[]): string {
  const h = createHash('sha256');
  for (const p of payloads) h.update(JSON.stringify(p ?? null));
  return h.digest('hex').slice(0, 16);
}
