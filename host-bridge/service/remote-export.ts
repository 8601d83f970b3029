// Dispute evidence from a terminal over its service port: the export comes in parts of one answer each
// (protocol/SERVICE_PORT.md, journal-export); they are joined, checked against the terminal's SHA-256 of
// the whole, and inflated. An export the terminal no longer holds (another bench asked meanwhile) is asked
// for again from the start, a bounded number of times.
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { MAX_PAYLOAD } from '../../protocol/service/service-frame.js';
import { ServiceError, type ServiceClient } from './service-client.js';

/** Generous for a dispute export; a bound so a wrong answer cannot inflate without limit. */
const MAX_EXPORT_BYTES = 256 * 1024 * 1024;
/** Each part is one frame: more parts than the bound can fill is a wrong answer, refused before the first is asked for. */
export const MAX_EXPORT_PARTS = Math.ceil(MAX_EXPORT_BYTES / MAX_PAYLOAD);
const RESTARTS = 3;

export interface RemoteExport {
  text: Buffer;
  transactions: number;
  corrupt: boolean;
  tampered: boolean;
  parts: number;
}

export async function fetchExport(c: Pick<ServiceClient, 'request'>, query: Record<string, unknown>, onPart?: (part: number, parts: number) => void): Promise<RemoteExport> {
  for (let restart = 0; ; restart++) {
    const first = await c.request({ op: 'journal-export', ...query, part: 0 }, Buffer.alloc(0), 120_000);
    const h = first.head;
    const parts = Number(h.parts);
    if (!Number.isSafeInteger(parts) || parts < 1 || parts > MAX_EXPORT_PARTS) throw new ServiceError('BAD_ANSWER', `journal-export answered parts=${String(h.parts)} (1..${MAX_EXPORT_PARTS})`);
    const pieces = [first.body];
    onPart?.(1, parts);
    try {
      for (let part = 1; part < parts; part++) {
        const a = await c.request({ op: 'journal-export', ...query, part, exportId: h.exportId }, Buffer.alloc(0), 120_000);
        pieces.push(a.body);
        onPart?.(part + 1, parts);
      }
    } catch (e) {
      if ((e as { code?: string }).code === 'EXPORT_EXPIRED' && restart < RESTARTS) continue;
      throw e;
    }
    const body = Buffer.concat(pieces);
    const sha = createHash('sha256').update(body).digest('hex');
    if (sha !== h.sha256) throw new ServiceError('BAD_ANSWER', `the export's ${parts} parts join to SHA-256 ${sha.slice(0, 16)}…, the terminal said ${String(h.sha256).slice(0, 16)}…`);
    return { text: inflateRawSync(body, { maxOutputLength: MAX_EXPORT_BYTES }), transactions: Number(h.transactions), corrupt: h.corrupt === true, tampered: h.tampered === true, parts };
  }
}
