// The ledger folded into what the host needs to answer: which authorizations exist (by terminal, batch and
// STAN, and by RRN), which are reversed, voided, completed or refunded, and each batch's totals.
import type { BatchTotals } from '../../protocol/iso8583/index.js';
import type { AuthorizationEntry, LedgerEntry, SettlementEntry } from './ledger.js';

export const authKey = (terminalId: string, batch: string, stan: string) => `${terminalId}|${batch}|${stan}`;
export const batchKey = (terminalId: string, batch: string) => `${terminalId}|${batch}`;

export class LedgerState {
  /** Authorizations by terminal|batch|STAN (the reversal and void lookup). */
  readonly byKey = new Map<string, AuthorizationEntry & { seq: number }>();
  readonly byRrn = new Map<string, AuthorizationEntry & { seq: number }>();
  /** seq of each reversed authorization. */
  readonly reversed = new Set<number>();
  /** Keys a reversal arrived for before (or without) its original. */
  readonly orphanReversals = new Set<string>();
  /** seq of a sale or preauth → seq of the void / preauth void / completion that consumed it. */
  readonly consumedBy = new Map<number, number>();
  /** seq of a sale → amount refunded so far (refunds not reversed). */
  readonly refunded = new Map<number, bigint>();
  /** The first settlement of each terminal|batch: the batch is closed to new authorizations from then on. */
  readonly settlements = new Map<string, SettlementEntry & { seq: number }>();
  /** Wrong PINs in a row per card (masked PAN); absent = none. */
  readonly pinTries = new Map<string, number>();
  readonly entries: LedgerEntry[] = [];
  /**
   * Each card's net debit as positions() computes it, kept as entries arrive: a balance check on every
   * authorization summed the whole ledger, so a long bench run's host slowed with every sale.
   */
  readonly cardNets = new Map<string, bigint>();
  /**
   * Per terminal, what the host can tell it at sign-on (the rollback anchor, JOURNAL_FORMAT §10.2): the
   * batch it is in (a batch end moves it to the next) and the last STAN it used (a reversal repeats its
   * original's STAN, so it says nothing new).
   */
  readonly counters = new Map<string, { batch: string; last: { batch: string; stan: string } | null }>();

  constructor(entries: readonly LedgerEntry[]) {
    for (const e of entries) this.apply(e);
  }

  apply(e: LedgerEntry): void {
    this.entries.push(e);
    this.noteCounters(e);
    if (e.kind === 'authorization') {
      const a = e as AuthorizationEntry & { seq: number };
      this.byKey.set(authKey(a.terminalId, a.batch, a.stan), a);
      this.byRrn.set(a.rrn, a);
      this.addToCardNet(a, 1n);
      if (a.target !== undefined) {
        if (a.txn === 'refund') this.refunded.set(a.target, (this.refunded.get(a.target) ?? 0n) + BigInt(a.amount));
        else this.consumedBy.set(a.target, a.seq);
      }
    } else if (e.kind === 'pin-tries') {
      this.pinTries.set(e.cardRef ?? e.card, e.tries);
    } else if (e.kind === 'settlement') {
      const key = batchKey(e.terminalId, e.batch);
      if (!this.settlements.has(key)) this.settlements.set(key, e);
    } else if (e.kind === 'reversal') {
      if (e.target === null) {
        this.orphanReversals.add(authKey(e.terminalId, e.batch, e.stan));
        return;
      }
      const undone = this.entries[e.target - 1];
      if (!this.reversed.has(e.target) && undone?.kind === 'authorization') this.addToCardNet(undone, -1n);
      this.reversed.add(e.target);
      if (undone?.kind === 'authorization' && undone.target !== undefined) {
        // Reversing a void, completion, preauth void or refund gives back what it had consumed.
        if (undone.txn === 'refund') this.refunded.set(undone.target, (this.refunded.get(undone.target) ?? 0n) - BigInt(undone.amount));
        else if (this.consumedBy.get(undone.target) === undone.seq) this.consumedBy.delete(undone.target);
      }
    }
  }

  private noteCounters(e: LedgerEntry): void {
    if (e.kind !== 'authorization' && e.kind !== 'settlement' && e.kind !== 'batch-upload' && e.kind !== 'batch-end') return;
    const prev = this.counters.get(e.terminalId);
    const stan = 'stan' in e && e.stan ? e.stan : undefined;
    const last = stan !== undefined ? { batch: e.batch, stan } : (prev?.last ?? null);
    // After its batch end the terminal is in the next batch (999999 wraps to 1).
    const batch = e.kind === 'batch-end' ? String((Number(e.batch) % 999_999) + 1).padStart(6, '0') : e.batch;
    this.counters.set(e.terminalId, { batch, last });
  }

  /** A live authorization's part in its card's net (sign 1n), or taking it back when reversed (-1n). */
  private addToCardNet(a: AuthorizationEntry, sign: 1n | -1n): void {
    const part = a.txn === 'sale' || a.txn === 'preauth-completion' ? 1n : a.txn === 'void' || a.txn === 'refund' ? -1n : 0n;
    if (part !== 0n) this.cardNets.set(a.card, (this.cardNets.get(a.card) ?? 0n) + sign * part * BigInt(a.amount));
  }

  isLive(seq: number): boolean {
    return !this.reversed.has(seq);
  }

  /** Debits (sales and completions, not voided or reversed) and credits (refunds not reversed) of one batch. */
  batchTotals(terminalId: string, batch: string): BatchTotals {
    const t: BatchTotals = { debitAmount: 0n, debitCount: 0, creditAmount: 0n, creditCount: 0 };
    for (const a of this.byKey.values()) {
      if (a.terminalId !== terminalId || a.batch !== batch || !this.isLive(a.seq)) continue;
      if ((a.txn === 'sale' && !this.consumedBy.has(a.seq)) || a.txn === 'preauth-completion') {
        t.debitAmount += BigInt(a.amount);
        t.debitCount++;
      } else if (a.txn === 'refund') {
        t.creditAmount += BigInt(a.amount);
        t.creditCount++;
      }
    }
    return t;
  }
}

/** Money position of one card or terminal. All amounts in fen. */
export interface Position {
  debited: bigint;
  reversed: bigint;
  voided: bigint;
  refunded: bigint;
  net: bigint;
}

const zero = (): Position => ({ debited: 0n, reversed: 0n, voided: 0n, refunded: 0n, net: 0n });

/** Net position per masked card and per terminal: debits minus reversed debits, voids and refunds. */
export function positions(state: LedgerState): { cards: Map<string, Position>; terminals: Map<string, Position> } {
  const cards = new Map<string, Position>();
  const terminals = new Map<string, Position>();
  const add = (a: AuthorizationEntry, field: 'debited' | 'reversed' | 'voided' | 'refunded', sign: 1n | -1n) => {
    const amount = BigInt(a.amount);
    for (const [map, key] of [[cards, a.card], [terminals, a.terminalId]] as const) {
      const p = map.get(key) ?? zero();
      p[field] += amount;
      p.net += sign * amount;
      map.set(key, p);
    }
  };
  for (const e of state.entries) {
    if (e.kind !== 'authorization') continue;
    const live = state.isLive(e.seq);
    if (e.txn === 'sale' || e.txn === 'preauth-completion') {
      add(e, 'debited', 1n);
      if (!live) add(e, 'reversed', -1n);
    } else if (e.txn === 'void' && live) add(e, 'voided', -1n);
    else if (e.txn === 'refund' && live) add(e, 'refunded', -1n);
  }
  return { cards, terminals };
}

/** A card's net debit, for balance inquiries. */
export function cardNet(state: LedgerState, maskedPan: string): bigint {
  return state.cardNets.get(maskedPan) ?? 0n;
}
