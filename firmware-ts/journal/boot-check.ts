// What the daemon runs before it opens its journal: the full `verify` (every segment, every checksum, the
// MAC chain). Open alone reads only the newest segment, so a flipped byte in an older one would otherwise
// go unnoticed until repair time; refused here with the very words `posj journal verify` prints. Older
// segments whose bytes are the ones a previous boot verified are hashed rather than re-read record by
// record (verified-segments.ts); the outcome is the same as a full verify's.
import type { Storage } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { JournalCorruptionError, JournalTamperError } from './errors.js';
import type { RecordTypes } from './record-types.js';
import { loadVerifiedSegments, saveVerifiedSegments, type SegmentSummary } from './verified-segments.js';
import { verifyJournal } from './verify.js';

export interface BootCheckReport {
  segments: number;
  /** Older segments taken from `verified` (hashed, not re-read record by record). */
  reused: number;
  /** Why `verified` could not be rewritten (a full or read-only disk): the next boot verifies more, nothing else. */
  saveError?: string;
}

export function refuseDamagedJournal(dir: string, opts: { storage?: Storage; deviceKey: Buffer; types: RecordTypes }): BootCheckReport {
  const storage = opts.storage ?? nodeStorage;
  const verified = loadVerifiedSegments(storage, dir, opts.deviceKey);
  const passed: SegmentSummary[] = [];
  let reused = 0;
  const r = verifyJournal(dir, {
    deviceKey: opts.deviceKey,
    types: opts.types,
    storage,
    verified,
    onSegmentPassed: (s) => {
      passed.push(s);
      if (verified.get(s.name) === s) reused++;
    },
  });
  if (r.corrupt) throw new JournalCorruptionError(r.corrupt.segment, r.corrupt.offset, r.corrupt.reason);
  if (r.tampered) throw new JournalTamperError(r.tampered.segment, r.tampered.offset, r.tampered.seq, r.tampered.reason);
  // Only what changed is written: a boot with no new sealed segment leaves the file as it is.
  if (passed.length === verified.size && reused === passed.length) return { segments: r.segments, reused };
  try {
    saveVerifiedSegments(storage, dir, opts.deviceKey, passed);
    return { segments: r.segments, reused };
  } catch (e) {
    return { segments: r.segments, reused, saveError: `${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim() };
  }
}
