// Checks that open and verify both make, with one wording each, so the daemon refuses what `posj journal
// verify` calls corrupt in the same words: a truncated segment, a missing segment (a gap in the middle,
// or a deleted newest one that its predecessor's seal still names).
import { segmentFileName } from '../../protocol/journal/format.js';
import { JournalCorruptionError } from './errors.js';

/** The writer preallocates every segment to its declared size before naming it, so a shorter file lost its end. */
export function truncationError(name: string, fileBytes: number, declaredBytes: number): JournalCorruptionError | null {
  if (fileBytes >= declaredBytes) return null;
  return new JournalCorruptionError(name, fileBytes, `segment file is ${fileBytes} bytes but its header declares ${declaredBytes}: truncated`);
}

/** Seqs from `firstSeq` up to the next segment (`nextFirstSeq`, or none: the newest was removed) are in no file. */
export function missingSegmentError(firstSeq: number, nextFirstSeq: number | null): JournalCorruptionError {
  const range = nextFirstSeq === null ? `seq ${firstSeq} onwards` : `seq ${firstSeq}..${nextFirstSeq - 1}`;
  const why = nextFirstSeq === null ? 'the segment before it ends with a seal naming it' : 'a gap between segments';
  return new JournalCorruptionError(segmentFileName(firstSeq), 0, `segment is missing: ${range} is in no segment (${why})`);
}
