import type { RecordSchema } from './record-types.js';

// Record types the journal writes for itself; codes below 16 are reserved for it.
export const CHECKPOINT: RecordSchema = { name: 'journal.checkpoint', code: 1, version: 1 };
export const RETENTION: RecordSchema = { name: 'journal.retention', code: 2, version: 1 };
export const INTERNAL_TYPES = [CHECKPOINT, RETENTION];

export interface CheckpointPayload {
  /** Every record with seq ≤ throughSeq is folded into `state`. */
  throughSeq: number;
  /** Segments holding only seqs ≤ this were archived or removed by retention. */
  retainedThroughSeq: number;
  state: unknown;
}

export interface RetentionPayload {
  throughSeq: number;
  mode: 'archive' | 'delete';
  segments: string[];
}
