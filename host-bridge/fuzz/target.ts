// What a fuzz target is: its seeds (the specs' worked examples and the suite's messages), a structure-aware
// mutator that changes a decoded value and re-encodes it — recomputing CRCs, MACs and length prefixes, so
// the mutation gets past the integrity checks that stop byte flips — and the property every input must
// keep: the decoder either refuses it with its own typed error, or returns a value that re-encodes to the
// same bytes. Any other exception, or a broken property, is a finding.
import type { Rng } from './mutate.js';

export interface FuzzTarget {
  name: string;
  /** Source files whose V8 coverage guides this target (substrings of script URLs). */
  covers: readonly string[];
  /** Valid inputs to start from (the corpus on disk adds what earlier runs found). */
  seeds(): Buffer[];
  /** Tokens worth inserting (field names, magic bytes, separators). */
  dictionary?: readonly Buffer[];
  maxLen: number;
  /** A structure-aware mutation of `input`, or undefined when the input does not decode that far. */
  structured?(input: Buffer, rng: Rng): Buffer | undefined;
  /** Runs one input; throws FuzzFinding (or anything else) when the property breaks. */
  run(input: Buffer): void;
  /** Called every `resetEvery` executions to drop state that grows with them (a ledger, say). */
  reset?(): void;
  resetEvery?: number;
}

/** A property the target asserts did not hold. */
export class FuzzFinding extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'FuzzFinding';
  }
}

export function expectEqual(a: Buffer, b: Buffer, what: string): void {
  if (!a.equals(b)) throw new FuzzFinding(`${what}: re-encoding differs (${a.toString('hex').slice(0, 80)} vs ${b.toString('hex').slice(0, 80)})`);
}

/** Runs `decode`; an error of one of `typed` is the decoder's own refusal and ends the run quietly. */
export function refusedWith(typed: readonly (abstract new (...args: never[]) => Error)[], decode: () => void): void {
  try {
    decode();
  } catch (e) {
    if (typed.some((t) => e instanceof t)) return;
    throw e;
  }
}
