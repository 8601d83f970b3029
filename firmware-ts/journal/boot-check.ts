// What the daemon runs before it opens its journal: the full `verify` (every segment, every checksum, the
// MAC chain). Open alone reads only the newest segment, so a flipped byte in an older one would otherwise
// go unnoticed until repair time; refused here with the very words `posj journal verify` prints.
import type { Storage } from '../io/storage.js';
import { JournalCorruptionError, JournalTamperError } from './errors.js';
import type { RecordTypes } from './record-types.js';
import { verifyJournal } from './verify.js';

export function refuseDamagedJournal(dir: string, opts: { storage?: Storage; deviceKey: Buffer; types: RecordTypes }): void {
  const r = verifyJournal(dir, { deviceKey: opts.deviceKey, types: opts.types, ...(opts.storage ? { storage: opts.storage } : {}) });
  if (r.corrupt) throw new JournalCorruptionError(r.corrupt.segment, r.corrupt.offset, r.corrupt.reason);
  if (r.tampered) throw new JournalTamperError(r.tampered.segment, r.tampered.offset, r.tampered.seq, r.tampered.reason);
}
