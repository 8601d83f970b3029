// How the terminal resumes after `posj journal repair` (journal/repair.ts): which salvaged records may fold
// without a MAC, how STAN and batch move forward, what the repaired journal must hold again.
//
// - A record whose MAC could not be checked (the first after a hole) may only add: an intent (its
//   authorization is then reversed, 98, unless a checked outcome follows), a reversal owed, attempts, a
//   STAN used. It never clears anything: no outcome, receipt, reversal cleared or closed, no settlement end,
//   no supervisor record. Without a device key nothing can be checked and every readable record folds.
// - STAN: the furthest ahead (wrapping at 999999) of the prefix's, the salvaged fold's and the last STAN
//   any readable record carries, then REPAIR_STAN_MARGIN plus one per record possibly lost further on:
//   each lost record could have been an intent whose request reached the acquirer.
// - Batch: the furthest ahead evidenced (intents, settlement steps, a settlement's next batch). When that
//   is ahead of the fold's, the open batch is rebuilt from the intents of that batch alone.
import { JournalError } from '../journal/errors.js';
import type { SalvagePolicy } from '../journal/repair.js';
import type { JournalRecord } from '../journal/state-machine.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { RecordTypes } from '../journal/record-types.js';
import { TerminalRecord, type AuthIntent, type SettlementDone, type StanAllocated } from './records.js';
import { MAX_BATCH, MAX_STAN } from './settlement.js';
import { terminalFold, type TerminalJournalState } from './terminal-fold.js';
import { addToTotals, emptyTotals } from './terminal-state.js';

/** STANs skipped after a repair beyond one per possibly lost record (a documented margin). */
export const REPAIR_STAN_MARGIN = 100;

export interface SalvagedObligations {
  reversalsOwed: { stan: number; reason: string; stuck: boolean }[];
  /** Authorizations with no known outcome: reversed (98) at the next boot. */
  inFlight: number[];
  receiptsPending: number[];
  settlement: { batch: number; step: string } | null;
  /** Reversals the salvaged records show cleared or closed: they stay closed. */
  reversalsClosed: number;
}

const ADDS_ONLY = new Set<string>([
  TerminalRecord.authIntent.name,
  TerminalRecord.reversalRequired.name,
  TerminalRecord.reversalAttempt.name,
  TerminalRecord.reversalStuck.name,
  TerminalRecord.stanAllocated.name,
  TerminalRecord.settlementStep.name,
]);

/** a is ahead of b on a counter that wraps from `max` to 1 (by less than half the range). */
export function isAhead(a: number, b: number, max: number): boolean {
  const d = (((a - b) % max) + max) % max;
  return d > 0 && d < max / 2;
}

const furthest = (max: number, values: number[]) => values.reduce((best, v) => (isAhead(v, best, max) ? v : best));
const advance = (v: number, by: number, max: number) => ((v - 1 + by) % max) + 1;

// Past the damage a record is only CRC-checked: its payload may be any JSON at all (null, a string, a
// counter out of range). Such a record is never folded, and a counter is evidence only if it could be one.
const isObject = (p: unknown): p is Record<string, unknown> => typeof p === 'object' && p !== null && !Array.isArray(p);
const counter = (v: unknown, max: number) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max ? v : undefined);

// Only records that allocate a STAN are evidence of the counter: the last one counts (journal order), and a
// reversal attempt or a reprint may name an old STAN long after newer ones were handed out.
function stanOf(r: JournalRecord): number | undefined {
  if (!isObject(r.payload)) return undefined;
  if (r.type === TerminalRecord.authIntent.name || r.type === TerminalRecord.stanAllocated.name || r.type === TerminalRecord.settlementStep.name) {
    return counter(r.payload.stan, MAX_STAN);
  }
  return undefined;
}

const RAISES_REVERSAL = new Set<string>([TerminalRecord.reversalRequired.name, TerminalRecord.reversalAttempt.name, TerminalRecord.reversalStuck.name]);
const ENDS_REVERSAL = new Set<string>([TerminalRecord.reversalCleared.name, TerminalRecord.reversalClosed.name]);

/**
 * STANs the salvaged records show a reversal owed for (raised, tried or stuck, and no clearing or closing
 * after) whose transaction the salvaged state does not know at all: their intent, with the reversal image,
 * was in the damaged part. The repaired journal could neither send nor name them (no amount, no card), and dropping them
 * would leave the cardholder debited with nobody told.
 */
function reversalsWithoutIntent(s: TerminalJournalState, evidence: JournalRecord[]): number[] {
  const owed = new Map<number, boolean>();
  for (const r of evidence) {
    const stan = isObject(r.payload) ? counter(r.payload.stan, MAX_STAN) : undefined;
    if (stan === undefined) continue;
    if (RAISES_REVERSAL.has(r.type)) owed.set(stan, true);
    else if (ENDS_REVERSAL.has(r.type)) owed.set(stan, false);
  }
  // A STAN whose transaction the state knows had its intent folded, and the fold decided its reversal.
  const known = new Set(Object.values(s.txns).map((t) => t.intent.stan));
  for (const k of [...Object.keys(s.inFlight), ...Object.keys(s.reversals), ...Object.keys(s.batchEntries)]) known.add(Number(k));
  return [...owed].filter(([stan, isOwed]) => isOwed && !known.has(stan)).map(([stan]) => stan);
}

function batchOf(r: JournalRecord): number | undefined {
  if (!isObject(r.payload)) return undefined;
  const p = r.payload as Partial<AuthIntent & SettlementDone>;
  if (r.type === TerminalRecord.authIntent.name || r.type === TerminalRecord.settlementStep.name) return counter(p.batch, MAX_BATCH);
  if (r.type === TerminalRecord.settlementDone.name) return counter(p.nextBatch, MAX_BATCH);
  return undefined;
}

/** Every STAN the state still refers to: what the repaired journal must keep the records of. */
function referencedStans(s: TerminalJournalState): Set<number> {
  return new Set([...Object.keys(s.inFlight), ...Object.keys(s.reversals), ...Object.keys(s.pendingReceipts), ...Object.keys(s.batchEntries)].map(Number));
}

export const terminalSalvage: SalvagePolicy<TerminalJournalState, SalvagedObligations> = {
  // The repair record holds the salvaged state in the version-1 form, without `txns` (they could exceed
  // the half-segment limit of a record): the repaired journal rebuilds them from the open batch's records
  // at its next open (terminal-journal.ts), as after a checkpoint of an older build.
  fold: {
    ...terminalFold,
    apply: (s, r) => {
      if (isObject(r.payload)) terminalFold.apply(s, r);
    },
    toCheckpoint: ({ version: _version, txns: _txns, ...v1 }) => v1,
  },
  types: new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]),

  foldsUnverified: (type) => ADDS_ONLY.has(type),

  finish({ prefix, salvaged, evidence, prefixRecords, recordsLostAtMost }) {
    const lost = reversalsWithoutIntent(salvaged, evidence);
    if (lost.length > 0) {
      const list = lost.map((n) => String(n).padStart(6, '0')).join(', ');
      throw new JournalError(
        'REPAIR_REFUSED',
        `the damage destroyed the intent of STAN ${list}, whose reversal is owed (the salvaged records raise it and nothing clears it): a repaired journal could not send it or say for how much, so nothing was changed and the terminal cannot be repaired by itself: ask the acquirer whether STAN ${list} of batch ${salvaged.batch} stands and have it reversed there, and escalate with this journal kept as it is`,
      );
    }
    const s = structuredClone(salvaged);
    const stans = evidence.map(stanOf).filter((x): x is number => x !== undefined);
    const batches = evidence.map(batchOf).filter((x): x is number => x !== undefined);
    const evidencedStan = furthest(MAX_STAN, [prefix.stan, salvaged.stan, ...stans.slice(-1)]);
    const evidencedBatch = furthest(MAX_BATCH, [prefix.batch, salvaged.batch, ...batches.slice(-1)]);
    const stanAfter = advance(evidencedStan, recordsLostAtMost + REPAIR_STAN_MARGIN, MAX_STAN);
    if (evidencedBatch !== s.batch) {
      // The fold missed a settlement's end: only intents of the evidenced batch belong to the open one.
      const batchOfIntent = new Map<number, number>();
      for (const r of [...prefixRecords, ...evidence]) if (r.type === TerminalRecord.authIntent.name) batchOfIntent.set(r.seq, (r.payload as AuthIntent).batch);
      s.totals = emptyTotals();
      for (const [k, e] of Object.entries(s.batchEntries)) {
        if (batchOfIntent.get(e.seq) === evidencedBatch) addToTotals(s.totals, e.kind, e.amount, 1);
        else delete s.batchEntries[k];
      }
      const seqs = Object.values(s.batchEntries).map((e) => e.seq);
      s.batchStartSeq = seqs.length > 0 ? Math.min(...seqs) : null;
      if (s.settlement && s.settlement.batch !== evidencedBatch) s.settlement = null;
      if (s.settlementRun && s.settlementRun.batch !== evidencedBatch) s.settlementRun = null;
      s.batch = evidencedBatch;
    }
    s.stan = stanAfter;
    const closed = evidence.filter((r) => r.type === TerminalRecord.reversalCleared.name || r.type === TerminalRecord.reversalClosed.name).length;
    return {
      state: s,
      stan: { before: prefix.stan, evidenced: evidencedStan, after: stanAfter },
      batch: { before: prefix.batch, evidenced: evidencedBatch, after: s.batch },
      obligations: {
        reversalsOwed: Object.entries(s.reversals).map(([k, r]) => ({ stan: Number(k), reason: r.reason, stuck: r.stuck })),
        inFlight: Object.keys(s.inFlight).map(Number),
        receiptsPending: Object.keys(s.pendingReceipts).map(Number),
        settlement: s.settlement,
        reversalsClosed: closed,
      },
    };
  },

  reappend(state, salvaged, cutSeq) {
    const stans = referencedStans(state);
    const names = new Set<string>(Object.values(TerminalRecord).map((t) => t.name));
    return salvaged.filter((r) => {
      if (r.seq < cutSeq || !names.has(r.type)) return false;
      const stan = (r.payload as { stan?: unknown })?.stan;
      return typeof stan === 'number' && stans.has(stan) && r.type !== TerminalRecord.stanAllocated.name && r.type !== TerminalRecord.settlementStep.name;
    });
  },

  remap(s, seqMap) {
    const to = (seq: number) => seqMap.get(seq) ?? seq;
    for (const a of Object.values(s.inFlight)) a.seq = to(a.seq);
    for (const a of Object.values(s.reversals)) a.seq = to(a.seq);
    for (const a of Object.values(s.pendingReceipts)) a.seq = to(a.seq);
    for (const a of Object.values(s.batchEntries)) a.seq = to(a.seq);
    if (s.batchStartSeq !== null) s.batchStartSeq = to(s.batchStartSeq);
    // The transactions are keyed by their intent's seq: re-keyed in seq order (journal order).
    const txns: typeof s.txns = {};
    for (const v of Object.values(s.txns)) {
      v.seq = to(v.seq);
      txns[v.seq] = v;
    }
    s.txns = txns;
  },
};

