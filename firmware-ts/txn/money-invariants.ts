// The money invariants of DESIGN.md, checked by comparing the terminal's journal with the acquirer's
// ledger — and with what the cashier was told — after any mix of faults. Unit tests, end-to-end tests and
// the deterministic simulator all call this one function; an empty list means the terminal, the acquirer
// and the cashier agree. The journal is read through the checker's own fold (invariant-fold.ts), never
// through the engine's lookups. One check here is beyond DESIGN's eight, read from the ledger alone:
// no-over-credit (checkCredits), no debit given back more than its amount.
import type { JournalRecord } from '../journal/state-machine.js';
import { findSensitive } from '../pci/card-data.js';
import { checkedKey as txnKey, foldForChecks, type CheckedTxn } from './invariant-fold.js';
import { TerminalRecord, type AuthIntent, type StanAllocated } from './records.js';

/** The ledger fields the check reads (host-bridge/acquirer/ledger.ts entries fit this shape). */
export interface LedgerEntryLike {
  seq: number;
  kind: string;
  txn?: string;
  terminalId?: string;
  batch?: string;
  stan?: string;
  amount?: string;
  /** An authorization: the acquirer's reference number for it (a refund names its original by this). */
  rrn?: string;
  /**
   * A reversal: the authorization it undid, or null when none existed. A void, refund, completion or
   * pre-authorization void: the seq of the entry it applies to (a refund's is the entry whose RRN it named).
   */
  target?: number | null;
}

/**
 * The eight invariants of DESIGN.md (1: no-phantom-debit, 2: no-lost-sale, 3: stan-unique and
 * batch-forward, 4: reversal-once, 7: no-card-data, 8: no-failed-debit and request-once; 5 and 6 need the
 * settlement entries and the boots, checked by the simulator and the bench), and one beyond them:
 * no-over-credit (see checkCredits).
 */
export type InvariantName = 'no-phantom-debit' | 'no-lost-sale' | 'stan-unique' | 'batch-forward' | 'reversal-once' | 'no-card-data' | 'no-failed-debit' | 'request-once' | 'no-over-credit';

/**
 * What the cashier was told about one operation. `failed` covers declined, reversed (in any state), not
 * sent, refused and an error reply; `unknown` an answer that says the outcome is not known yet; an
 * operation whose answer never arrived (a crash, a lost reply) is simply not listed, or listed `unknown`.
 */
export interface ToldCashier {
  said: 'approved' | 'failed' | 'unknown';
  requestId?: string;
  /** The transaction the answer named, when it named one. */
  batch?: number;
  stan?: number;
}

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
  /** What the cashier was told (invariant 8). Without it only the request-id half of 8 is checked. */
  told?: readonly ToldCashier[];
}

export function checkMoneyInvariants({ records, ledger, terminalId, allowOwedReversals = false, told = [] }: InvariantInput): Violation[] {
  const out: Violation[] = [];
  const views = foldForChecks(records);

  checkCounters(records, out);

  for (const r of records) {
    const found = findSensitive(r.payload);
    if (found) out.push({ invariant: 'no-card-data', detail: `record seq ${r.seq} (${r.type}) holds ${found.what} at ${found.where}` });
  }

  const mine = ledger.filter((e) => e.terminalId === terminalId);
  const bySeq = new Map(ledger.map((e) => [e.seq, e]));
  // A reversal concerns this terminal when it sent it or when it undid one of its authorizations (an
  // acquirer that matched another terminal's reversal to this one's sale).
  const reversalsOfMine = ledger.filter(
    (e) => e.kind === 'reversal' && (e.terminalId === terminalId || (e.target !== null && e.target !== undefined && bySeq.get(e.target)?.terminalId === terminalId)),
  );
  const reversedTargets = new Map<number, number>();
  for (const e of reversalsOfMine) {
    if (e.target === null || e.target === undefined) continue;
    reversedTargets.set(e.target, (reversedTargets.get(e.target) ?? 0) + 1);
  }

  // 4. A reversal takes effect at most once, only on its own authorization, and only when the terminal asked.
  for (const [target, times] of reversedTargets) {
    if (times > 1) out.push({ invariant: 'reversal-once', detail: `ledger authorization seq ${target} reversed ${times} times` });
  }
  for (const e of reversalsOfMine) {
    const batch = Number(e.batch);
    const stan = Number(e.stan);
    const target = e.target === null || e.target === undefined ? undefined : bySeq.get(e.target);
    if (target && (target.terminalId !== e.terminalId || target.batch !== e.batch || target.stan !== e.stan)) {
      out.push({ invariant: 'reversal-once', batch, stan, detail: `reversal seq ${e.seq} undid authorization seq ${target.seq} of another ${target.terminalId !== e.terminalId ? 'terminal' : 'STAN or batch'}` });
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
      if (allowOwedReversals && owes(v)) continue;
      out.push({ invariant: 'no-phantom-debit', batch, stan, detail: `acquirer holds ${e.txn} ${e.amount} (ledger seq ${e.seq}) that the journal reversed (${v.reversal})` });
    } else if (!v.outcome?.approved) {
      out.push({ invariant: 'no-phantom-debit', batch, stan, detail: `acquirer approved ${e.txn} ${e.amount} (ledger seq ${e.seq}); journal says ${v.outcome ? `declined ${v.outcome.responseCode}` : 'no outcome'}` });
    } else if (Number(e.amount) !== v.amount) {
      out.push({ invariant: 'no-phantom-debit', batch, stan, detail: `acquirer amount ${e.amount} vs journal ${v.amount}` });
    }
  }

  // 2. No lost sale: everything the journal holds as approved (and did not reverse) is live at the acquirer.
  for (const [key, v] of views) {
    if (!v.outcome?.approved || v.reversal || v.kind === 'balance') continue;
    if (!liveAtHost.has(key)) {
      out.push({ invariant: 'no-lost-sale', batch: v.batch, stan: v.stan, detail: `journal approved ${v.kind} ${v.amount}; the acquirer has no live authorization for it` });
    }
  }

  checkToldFailed(views, liveAtHost, told, allowOwedReversals, out);
  checkCredits(ledger, bySeq, terminalId, out);
  return out;
}

const isDebit = (e: LedgerEntryLike | undefined) => e?.kind === 'authorization' && (e.txn === 'sale' || e.txn === 'preauth-completion');
const isCredit = (e: LedgerEntryLike) => e.kind === 'authorization' && (e.txn === 'void' || e.txn === 'refund');
const fen = (e: LedgerEntryLike) => Number(e.amount ?? 0);

/**
 * Beyond the eight: no card credited beyond its debit (no-over-credit). DESIGN.md's eight compare the
 * journal with the ledger one authorization at a time, so none of them looks at what several do to one
 * debit: a sale of 8,000 refunded 3,000 and then voided gave the card 11,000 back, every entry approved,
 * journaled and told truthfully, and all eight held. This reads the acquirer's ledger alone: for each debit
 * (a sale or a pre-authorization completion, reversed or not — every authorization entry is an approval),
 * what took effect against it — its own reversal (the whole debit given back), and the voids and refunds
 * that name it and were not reversed — must not exceed its amount.
 *
 * The ledger names a credit's original by `target`, the seq of the entry it applies to: for a refund, the
 * entry whose RRN its field 37 named, found by the acquirer among every terminal's authorizations (an RRN
 * is the acquirer's, unique across its terminals). So credits are matched across the whole ledger: a
 * refund here of another terminal's sale counts against that sale, with every other terminal's credits of
 * it. A debit concerns this terminal when it made the debit or when one of the credits against it is this
 * terminal's; another terminal's credits of another terminal's debit are that terminal's check. A credit
 * this terminal sent that names no debit the ledger holds (no target, a seq not in the ledger, or an entry
 * that is not a sale or completion) is a credit beyond a debit of nothing: the acquirer keeps every
 * authorization, so it is never a sale the ledger merely forgot.
 *
 * Mid-run as at the end: a credit the acquirer holds has reached the card even while the terminal still
 * owes its reversal. The engine counts a refund it has no confirmed answer for against its sale, and never
 * voids or refunds a sale whose own reversal is open, so no honest run is over-credited while it waits.
 * A reversal that took effect twice gives the debit back once here (invariant 4 reports the second).
 */
function checkCredits(ledger: readonly LedgerEntryLike[], bySeq: Map<number, LedgerEntryLike>, terminalId: string, out: Violation[]): void {
  const reversed = new Map<number, LedgerEntryLike>();
  for (const e of ledger) if (e.kind === 'reversal' && e.target !== null && e.target !== undefined && !reversed.has(e.target)) reversed.set(e.target, e);
  const against = new Map<number, LedgerEntryLike[]>();
  for (const e of ledger) {
    if (!isCredit(e)) continue;
    const original = e.target === null || e.target === undefined ? undefined : bySeq.get(e.target);
    if (!isDebit(original)) {
      if (e.terminalId === terminalId && !reversed.has(e.seq)) {
        const names = e.target === null || e.target === undefined ? 'names no original' : original ? `names ledger seq ${e.target}, a ${original.txn ?? original.kind}` : `names ledger seq ${e.target}, which the ledger does not hold`;
        out.push({ invariant: 'no-over-credit', batch: Number(e.batch), stan: Number(e.stan), detail: `${e.txn} seq ${e.seq} credited ${fen(e)} fen and ${names}: a credit beyond any debit` });
      }
      continue;
    }
    const list = against.get(original!.seq);
    if (list) list.push(e);
    else against.set(original!.seq, [e]);
  }
  for (const [seq, credits] of against) {
    const debit = bySeq.get(seq)!;
    if (debit.terminalId !== terminalId && !credits.some((c) => c.terminalId === terminalId)) continue;
    const parts: string[] = [];
    let back = 0;
    const back1 = reversed.get(seq);
    if (back1) {
      back += fen(debit);
      parts.push(`its reversal seq ${back1.seq} ${fen(debit)}`);
    }
    for (const c of credits) {
      if (reversed.has(c.seq)) continue;
      back += fen(c);
      parts.push(`${c.txn} seq ${c.seq}${c.terminalId !== debit.terminalId ? ` (terminal ${c.terminalId})` : ''} ${fen(c)}`);
    }
    if (back <= fen(debit)) continue;
    const mine = debit.terminalId === terminalId;
    // The transaction named is this terminal's: the debit, or its first credit of another terminal's debit.
    const named = mine ? debit : credits.find((c) => c.terminalId === terminalId)!;
    out.push({
      invariant: 'no-over-credit',
      batch: Number(named.batch),
      stan: Number(named.stan),
      detail: `${debit.txn} of ${fen(debit)} fen (ledger seq ${seq}${debit.rrn ? `, RRN ${debit.rrn}` : ''}${mine ? '' : `, terminal ${debit.terminalId}`}) credited back ${back}, ${back - fen(debit)} beyond its debit: ${parts.join(', ')}`,
    });
  }
}

/** A reversal the journal still owes (not answered, not closed). */
const owes = (t: CheckedTxn) => t.reversal === 'owed' || t.reversal === 'stuck';

/**
 * 8. No "failed" that debits: whatever the cashier was told failed is not live at the acquirer once the
 * reversals owed are answered; and one request id never starts two authorizations.
 */
function checkToldFailed(views: Map<string, CheckedTxn>, liveAtHost: Map<string, LedgerEntryLike>, told: readonly ToldCashier[], allowOwed: boolean, out: Violation[]): void {
  const byRequest = new Map<string, CheckedTxn[]>();
  for (const t of views.values()) {
    if (t.requestId === undefined) continue;
    byRequest.set(t.requestId, [...(byRequest.get(t.requestId) ?? []), t]);
  }
  for (const [id, ts] of byRequest) {
    if (ts.length > 1) out.push({ invariant: 'request-once', detail: `request id ${id} started ${ts.length} authorizations (STAN ${ts.map((t) => t.stan).join(', ')})` });
  }
  for (const t of told) {
    if (t.said !== 'failed') continue;
    // The answer's own STAN, and whatever the request id started (an answer may name no STAN at all).
    const named = new Map<string, CheckedTxn | undefined>();
    if (t.batch !== undefined && t.stan !== undefined) named.set(txnKey(t.batch, t.stan), views.get(txnKey(t.batch, t.stan)));
    for (const v of t.requestId !== undefined ? (byRequest.get(t.requestId) ?? []) : []) named.set(txnKey(v.batch, v.stan), v);
    for (const [key, v] of named) {
      const e = liveAtHost.get(key);
      if (!e) continue;
      if (allowOwed && v && owes(v)) continue;
      out.push({
        invariant: 'no-failed-debit',
        batch: e.batch === undefined ? undefined : Number(e.batch),
        stan: e.stan === undefined ? undefined : Number(e.stan),
        detail: `the cashier was told ${t.requestId !== undefined ? `request ${t.requestId}` : `batch ${key.replace('|', ' STAN ')}`} failed; the acquirer holds ${e.txn} ${e.amount} live (ledger seq ${e.seq}); the journal says ${v ? (v.reversal ? `reversal ${v.reversal}` : v.outcome ? (v.outcome.approved ? 'approved' : `declined ${v.outcome.responseCode}`) : 'no outcome') : 'nothing'}`,
      });
    }
  }
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
