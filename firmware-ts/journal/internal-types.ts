import type { RecordSchema } from './record-types.js';

// Record types the journal writes for itself; codes below 16 are reserved for it.
export const CHECKPOINT: RecordSchema = { name: 'journal.checkpoint', code: 1, version: 1 };
export const RETENTION: RecordSchema = { name: 'journal.retention', code: 2, version: 1 };
/** The last record of a segment that has a successor: evidence that a newer segment must exist. */
export const SEAL: RecordSchema = { name: 'journal.sealed', code: 3, version: 1 };
/** What `posj journal repair` did; its `state` replaces the folded state (the salvaged one). */
export const REPAIR: RecordSchema = { name: 'journal.repair', code: 4, version: 1 };
export const INTERNAL_TYPES = [CHECKPOINT, RETENTION, SEAL, REPAIR];

export interface CheckpointPayload {
  /** Every record with seq ≤ throughSeq is folded into `state`. */
  throughSeq: number;
  /** Segments holding only seqs ≤ this were archived or removed by retention. */
  retainedThroughSeq: number;
  state: unknown;
  /**
   * First seqs of the older segments that existed when this segment was created; open checks each one
   * above the retention horizon is still there (a deleted middle segment). Absent in older journals.
   */
  segments?: number[];
}

export interface RetentionPayload {
  throughSeq: number;
  mode: 'archive' | 'delete';
  segments: string[];
}

export interface SealPayload {
  /** First seq (and name) of the segment created after this one. */
  nextFirstSeq: number;
}

export interface RepairPayload {
  /** The damage repaired: where verify found it and why. */
  damage: { segment: string; offset: number; reason: string };
  movedTo: string | null;
  recordsSalvaged: number;
  /** Upper bound on the records lost (seqs missing, plus unreadable bytes / smallest record). */
  recordsLostAtMost: number;
  stan: { before: number; evidenced: number; after: number };
  batch: { before: number; evidenced: number; after: number };
  /** The salvaged state (the fold's checkpoint form): it replaces whatever the records before it folded to. */
  state: unknown;
}
