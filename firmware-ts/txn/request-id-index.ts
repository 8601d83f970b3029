// The fold's transactions by client request id: what the engine asks on every sale that carries one (is it a
// repeat?), answered without a search of the open batch. Derived, never stored: kept per `txns` object in a
// WeakMap, built by one scan the first time that object is asked (after a checkpoint, a salvage or a rebuild
// replaced it), kept current by the fold's one place that adds a transaction, and dropped (rebuilt at the
// next lookup) when settlement's window drops transactions, so it never holds one the fold let go.
import type { TxnView } from './terminal-state.js';

type Txns = Record<string, TxnView>;

const indexes = new WeakMap<Txns, Map<string, TxnView>>();

function build(txns: Txns): Map<string, TxnView> {
  const ix = new Map<string, TxnView>();
  // Ascending seq: a reused id keeps its newest transaction, as a newest-first search finds it.
  for (const v of Object.values(txns)) if (v.intent.requestId !== undefined) ix.set(v.intent.requestId, v);
  indexes.set(txns, ix);
  return ix;
}

/** The fold added `v` (the newest) to `txns`. */
export function noteTxn(txns: Txns, v: TxnView): void {
  const id = v.intent.requestId;
  if (id !== undefined) indexes.get(txns)?.set(id, v);
}

/** The fold dropped transactions from `txns`. */
export function forgetDropped(txns: Txns): void {
  indexes.delete(txns);
}

/** The newest kept transaction that request id started. */
export function txnByRequestId(txns: Txns, requestId: string): TxnView | undefined {
  const v = (indexes.get(txns) ?? build(txns)).get(requestId);
  if (v === undefined || txns[v.seq] === v) return v;
  // Dropped by some other path since it was indexed: never trust the index over the transactions themselves.
  const again = build(txns).get(requestId);
  return again !== undefined && txns[again.seq] === again ? again : undefined;
}
