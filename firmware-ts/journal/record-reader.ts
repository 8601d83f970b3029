// Reads records back out of the journal by seq, for work that needs more than the folded state holds (the
// batch upload needs each transaction's RRN and original). Scans only the segments that can hold the seqs
// asked for; the journal stays open and writing while it reads (every write is visible to a reader).
import * as path from 'node:path';
import { parseSegmentFileName } from '../../protocol/journal/format.js';
import type { Storage } from '../io/storage.js';
import { JournalCorruptionError } from './errors.js';
import type { RecordTypes } from './record-types.js';
import { readWhole } from './segment-io.js';
import { scanSegment } from './segment-scan.js';
import type { JournalRecord } from './state-machine.js';
import { parsePayload } from './journal.js';

export interface ReadableJournal {
  readonly dir: string;
  segmentNames(): string[];
}

export interface RecordReaderOptions {
  journal: ReadableJournal;
  storage: Storage;
  types: RecordTypes;
}

/** Every record with seq ≥ fromSeq, oldest first, upgraded to this build's payload versions. */
export function* readRecordsFrom(opts: RecordReaderOptions, fromSeq: number): Generator<JournalRecord> {
  const names = opts.journal.segmentNames();
  const firstSeqs = names.map((n) => parseSegmentFileName(n) ?? 0);
  // The segment holding fromSeq is the last one starting at or before it.
  let start = 0;
  while (start + 1 < names.length && firstSeqs[start + 1]! <= fromSeq) start++;
  for (let i = start; i < names.length; i++) {
    const name = names[i]!;
    const scan = scanSegment(name, readWhole(opts.storage, path.join(opts.journal.dir, name)), i === names.length - 1);
    if (scan.tail.kind === 'corrupt') throw new JournalCorruptionError(name, scan.tail.offset, scan.tail.reason);
    for (const rec of scan.records) {
      if (rec.seq < fromSeq) continue;
      const { name: type, payload } = opts.types.upgrade(rec.typeCode, rec.version, parsePayload(rec, name));
      yield { seq: rec.seq, type, payload };
    }
  }
}

/** The record with this seq, or null when it is not (or no longer) in the journal's segments. */
export function readRecord(opts: RecordReaderOptions, seq: number): JournalRecord | null {
  for (const r of readRecordsFrom(opts, seq)) return r.seq === seq ? r : null;
  return null;
}
