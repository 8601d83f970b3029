// The terminal's state is a fold over the journal (DESIGN rule 1). The journal drives any fold that fits
// this shape, checkpoints it at every new segment, and asks it which records still hold an obligation.

export interface JournalRecord<P = unknown> {
  seq: number;
  type: string;
  payload: P;
}

export interface StateMachine<S> {
  initial(): S;
  /** Applies one record in place. Must be deterministic: replay after a crash rebuilds the same state. */
  apply(state: S, record: JournalRecord): void;
  toCheckpoint(state: S): unknown;
  fromCheckpoint(snapshot: unknown): S;
  /** Lowest seq still holding an open obligation, or null; retention never removes it or anything after. */
  oldestOpenSeq(state: S): number | null;
}

/** A fold that keeps nothing: for tools that only need records, not state. */
export const noState: StateMachine<null> = {
  initial: () => null,
  apply: () => undefined,
  toCheckpoint: () => null,
  fromCheckpoint: () => null,
  oldestOpenSeq: () => null,
};
