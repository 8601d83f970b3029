// The money invariants of DESIGN.md, checked by comparing the terminal's journal with the acquirer's
// ledger after any mix of faults. Unit tests, end-to-end tests and the deterministic simulator all call
// this one function; an empty list means the terminal and the acquirer agree.
import type { JournalRecord } from '../journal/state-machine.js';
import { findSensitive } from '../pci/card-data.js';
import { TerminalRecord, type AuthIntent, type StanAllocated } from './records.js';
import { txnKey, txnViews } from './txn-history.js';

/** The ledger fields the check reads (host-bridge/acquirer/ledger.ts entries fit this shape). */
export interface LedgerEntryLike {
  seq: number;
  kind: string;
  txn?: string;
  terminalId?: string;
  batch?: string;
  stan?: string;
  amount?: string;
  /** A reversal: the authorization it undid, or null when none existed. */
  target?: number | null;
}

export type InvariantName = 'no-phantom-debit' | 'no-lost-sale' | 'stan-unique' | 'batch-forward' | 'reversal-once' | 'no-card-data';

export interface Violation {
  invariant: InvariantName;
  batch?: number;
  stan?: number;
  detail: string;
}

export interface InvariantInput {
  /** The terminal's journal records, in order (readTerminalRecords). */
  records: readonly JournalRecord[];
  ledger: readonly LedgerEntryLike[];
  /** The terminal whose ledger entries are compared. */
  terminalId: string;
  /**
   * Mid-run (the simulator checks after every reboot): a debit whose reversal the journal still owes (owed
   * or stuck, not cleared or closed) is an obligation kept, not yet a phantom debit. Off for final checks.
   */
  allowOwedReversals?: boolean;
}

export function checkMoneyInvariants({ records, ledger, terminalId, allowOwedReversals = false }: InvariantInput): Violation[] {
  const out: Violation[] = [];
  const views = txnViews(records);

  checkCounters(records, out);

  for (const r of records) {
    const found = findSensitive(r.payload);
    if (found) out.push({ invariant: 'no-card-data', detail: `record seq ${r.seq} (${r.type}) holds ${found.what} at ${found.where}` });
  }

  const mine = ledger.filter((e) => e.terminalId === terminalId);
  const bySeq = new Map(ledger.map((e) => [e.seq, e]));
  const reversedTargets = new Map<number, number>();
  for (const e of mine) {
    if (e.kind !== 'reversal' || e.target === null || e.target === undefined) continue;
    reversedTargets.set(e.target, (reversedTargets.get(e.target) ?? 0) + 1);
  }

  // 4. A reversal takes effect at most once, only on its own authorization, and only when the terminal asked.
  for (const [target, times] of reversedTargets) {
    if (times > 1) out.push({ invariant: 'reversal-once', detail: `ledger authorization seq ${target} reversed ${times} times` });
  }
  for (const e of mine) {
    if (e.kind !== 'reversal') continue;
    const batch = Number(e.batch);
    const stan = Number(e.stan);
    const target = e.target === null || e.target === undefined ? undefined : bySeq.get(e.target);
    if (target && (target.terminalId !== e.terminalId || target.batch !== e.batch || target.stan !== e.stan)) {
      out.push({ invariant: 'reversal-once', batch, stan, detail: `reversal seq ${e.seq} undid authorization seq ${target.seq} of another STAN or batch` });
    }
    if (target && !views.get(txnKey(batch, stan))?.reversal) {
      out.push({ invariant: 'reversal-once', batch, stan, detail: `reversal seq ${e.seq} took effect but the journal never raised one` });
    }
  }

  // 1. No phantom debit: every live approval at the acquirer is a completed transaction in the journal.
  const liveAtHost = new Map<string, LedgerEntryLike>();
  for (const e of mine) {
    if (e.kind !== 'authorization' || reversedTargets.has(e.seq)) continue;
    const batch = Number(e.batch);
    const stan = Number(e.stan);
    liveAtHost.set(txnKey(batch, stan), e);
    const v = views.get(txnKey(batch, stan));
    if (!v) {
      out.push({ invariant: 'no-phantom-debit', batch, stan, detail: `acquirer approved ${e.txn} ${e.amount} (ledger seq ${e.seq}) with no intent in the journal` });
    } else if (v.reversal) {
      if (allowOwedReversals && (v.reversal.state === 'owed' || v.reversal.state === 'stuck')) continue;
      out.push({ invariant: 'no-phantom-debit', batch, stan, detail: `acquirer holds ${e.txn} ${e.amount} (ledger seq ${e.seq}) that the journal reversed (${v.reversal.state})` });
    } else if (v.outcome?.result !== 'approved') {
      out.push({ invariant: 'no-phantom-debit', batch, stan, detail: `acquirer approved ${e.txn} ${e.amount} (ledger seq ${e.seq}); journal says ${v.outcome ? `declined ${v.outcome.responseCode}` : 'no outcome'}` });
    } else if (Number(e.amount) !== v.intent.amount) {
      out.push({ invariant: 'no-phantom-debit', batch, stan, detail: `acquirer amount ${e.amount} vs journal ${v.intent.amount}` });
    }
  }

  // 2. No lost sale: everything the journal holds as approved (and did not reverse) is live at the acquirer.
  for (const [key, v] of views) {
    if (v.outcome?.result !== 'approved' || v.reversal || v.intent.kind === 'balance') continue;
    if (!liveAtHost.has(key)) {
      out.push({ invariant: 'no-lost-sale', batch: v.intent.batch, stan: v.intent.stan, detail: `journal approved ${v.intent.kind} ${v.intent.amount}; the acquirer has no live authorization for it` });
    }
  }
  return out;
}

/** 3. STANs strictly increase (wrapping at 999999) and are unique per batch; batch numbers never go back. */
function checkCounters(records: readonly JournalRecord[], out: Violation[]): void {
  let lastStan = 0;
  let lastBatch = 0;
  const seen = new Set<string>();
  for (const r of records) {
    let stan: number | undefined;
    let batch: number | undefined;
    if (r.type === TerminalRecord.authIntent.name) {
      ({ stan, batch } = r.payload as AuthIntent);
    } else if (r.type === TerminalRecord.stanAllocated.name) {
      stan = (r.payload as StanAllocated).stan;
    }
    if (stan === undefined) continue;
    const wrapped = lastStan > 900_000 && stan < 100_000;
    if (stan <= lastStan && !wrapped) out.push({ invariant: 'stan-unique', stan, detail: `record seq ${r.seq} uses STAN ${stan} after ${lastStan}` });
    lastStan = stan;
    if (batch === undefined) continue;
    if (batch < lastBatch) out.push({ invariant: 'batch-forward', batch, stan, detail: `record seq ${r.seq} is in batch ${batch} after batch ${lastBatch}` });
    lastBatch = Math.max(lastBatch, batch);
    const key = txnKey(batch, stan);
    if (seen.has(key)) out.push({ invariant: 'stan-unique', batch, stan, detail: `STAN ${stan} used twice in batch ${batch}` });
    seen.add(key);
  }
}
