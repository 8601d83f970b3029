// Journal pull over the service port, read-only while the daemon writes: the list of segments with the
// terminal's own verification (the MAC chain checked here under the device key, which never leaves the
// terminal), a SHA-256 of a segment's prefix (so a resumed pull keeps only bytes that still match: a
// preallocated segment's zeros are later overwritten by records), and pieces of a segment, deflated.
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { MAX_PAYLOAD } from '../../protocol/service/service-frame.js';
import type { Storage } from '../io/storage.js';
import { readDeviceKey } from '../journal/device-key.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { RecordTypes } from '../journal/record-types.js';
import { listSegments, verifyJournal } from '../journal/verify.js';
import { TerminalRecord } from '../txn/records.js';
import { queryOf } from '../evidence/evidence.js';
import { exportEvidence } from '../evidence/evidence-export.js';
import { ServiceRequestError } from './service-server.js';

/** Raw bytes one `journal-read` may cover; the answer shrinks it until the deflated piece fits a frame. */
export const MAX_READ_BYTES = 64 * 1024;
const MAX_BODY = MAX_PAYLOAD - 256;

export class JournalService {
  constructor(
    /** `merchant`: the terminal's own identity, so an export over the service port shows the receipts as printed. */
    private readonly o: { storage: Storage; journalDir: string; deviceKeyFile: string; merchant?: { terminalId: string; merchantId: string; merchantName: string } },
  ) {}

  private segment(name: unknown): { file: string; size: number } {
    const seg = listSegments(this.o.storage, this.o.journalDir).find((s) => s.name === name);
    if (!seg) throw new ServiceRequestError('NO_SUCH_SEGMENT', `no journal segment ${JSON.stringify(name)}`);
    const file = path.join(this.o.journalDir, seg.name);
    const f = this.o.storage.open(file, 'r');
    const size = f.size();
    f.close();
    return { file, size };
  }

  manifest(): Record<string, unknown> {
    const verify = verifyJournal(this.o.journalDir, { storage: this.o.storage, deviceKey: readDeviceKey(this.o.deviceKeyFile), types: new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]) });
    const segments = listSegments(this.o.storage, this.o.journalDir).map((s) => ({ name: s.name, size: this.segment(s.name).size }));
    return { segments, verify };
  }

  hash(name: unknown, length: unknown): Record<string, unknown> {
    const { file, size } = this.segment(name);
    const n = Number(length);
    if (!Number.isSafeInteger(n) || n < 0 || n > size) return { sha256: null, size };
    const h = createHash('sha256');
    const f = this.o.storage.open(file, 'r');
    try {
      const buf = Buffer.alloc(MAX_READ_BYTES);
      for (let at = 0; at < n; at += buf.length) h.update(buf.subarray(0, f.read(buf, 0, Math.min(buf.length, n - at), at)));
    } finally {
      f.close();
    }
    return { sha256: h.digest('hex'), size };
  }

  /**
   * Dispute evidence for one query, raw-deflated and sent in parts of one answer each: part 0 builds the
   * export and names it (exportId, parts, sha256 of the whole deflated body); later parts come from that same
   * export, so a long one never mixes two states of the journal. Only the newest export is kept.
   */
  export(head: Record<string, unknown>, now: Date): { head: Record<string, unknown>; body: Buffer } {
    const part = head.part === undefined ? 0 : Number(head.part);
    if (!Number.isSafeInteger(part) || part < 0) throw new ServiceRequestError('BAD_REQUEST', `part ${String(head.part)}: a whole number from 0`);
    if (part === 0) this.lastExport = this.buildExport(head, now);
    const x = this.lastExport;
    if (!x || (part > 0 && head.exportId !== x.exportId)) throw new ServiceRequestError('EXPORT_EXPIRED', 'that export is no longer held here: ask for part 0 again');
    const parts = Math.max(1, Math.ceil(x.body.length / MAX_BODY));
    if (part >= parts) throw new ServiceRequestError('BAD_REQUEST', `part ${part} of an export in ${parts} parts`);
    return { head: { ...x.head, exportId: x.exportId, part, parts, sha256: x.sha256 }, body: x.body.subarray(part * MAX_BODY, (part + 1) * MAX_BODY) };
  }

  private lastExport: { exportId: string; head: Record<string, unknown>; body: Buffer; sha256: string } | null = null;

  private buildExport(head: Record<string, unknown>, now: Date): NonNullable<JournalService['lastExport']> {
    const format = head.format;
    if (format !== 'ndjson' && format !== 'csv' && format !== 'html') throw new ServiceRequestError('BAD_REQUEST', 'format: ndjson, csv or html');
    const num = (v: unknown) => (v === undefined ? undefined : Number(v));
    const str = (v: unknown) => (v === undefined ? undefined : String(v));
    let query;
    try {
      query = queryOf({ stan: num(head.stan), batch: num(head.batch), rrn: str(head.rrn), from: str(head.from), to: str(head.to) });
    } catch (e) {
      throw new ServiceRequestError('BAD_REQUEST', (e as Error).message);
    }
    const r = exportEvidence({ dir: this.o.journalDir, query, format, keyFile: this.o.deviceKeyFile, storage: this.o.storage, now, ...(this.o.merchant ? { merchant: this.o.merchant } : {}) });
    const body = deflateRawSync(Buffer.from(r.text));
    return {
      exportId: randomBytes(8).toString('hex'),
      head: { transactions: r.transactions.length, corrupt: r.verify.corrupt !== null, tampered: r.verify.tampered !== null },
      body,
      sha256: createHash('sha256').update(body).digest('hex'),
    };
  }

  read(name: unknown, offset: unknown, length: unknown): { head: Record<string, unknown>; body: Buffer } {
    const { file, size } = this.segment(name);
    const at = Number(offset);
    if (!Number.isSafeInteger(at) || at < 0 || at > size) throw new ServiceRequestError('BAD_REQUEST', `offset ${String(offset)} outside ${name} (${size} bytes)`);
    let want = Math.min(Number(length) || 0, MAX_READ_BYTES, size - at);
    const f = this.o.storage.open(file, 'r');
    try {
      for (;;) {
        const raw = Buffer.alloc(want);
        const got = f.read(raw, 0, want, at);
        const body = deflateRawSync(raw.subarray(0, got));
        if (body.length <= MAX_BODY || want <= 1024) return { head: { length: got, size }, body };
        want = Math.floor(want / 2);
      }
    } finally {
      f.close();
    }
  }
}
