// The seeded workload: what the cashier (and the world) does next. Operations on the terminal — sales,
// pre-authorizations and their completions or voids, voids, refunds, balance inquiries, settlements,
// sending reversals — mixed with the world's moves: time passing, network outages starting and ending,
// the printer breaking and being fixed. Originals for voids, refunds and completions are picked from the
// journal, as a cashier would pick them from a receipt.
import type { TxnView } from '../../firmware-ts/txn/txn-history.js';
import type { Rng } from './rng.js';

export type Op =
  | { kind: 'sale'; amount: number }
  | { kind: 'preauth'; amount: number }
  | { kind: 'balance' }
  | { kind: 'completion'; stan: number; batch: number; amount: number }
  | { kind: 'preauth-void'; stan: number; batch: number }
  | { kind: 'void'; stan: number }
  | { kind: 'refund'; rrn: string; date: string; amount: number }
  | { kind: 'settle' }
  | { kind: 'send-reversals' }
  | { kind: 'idle'; ms: number }
  | { kind: 'outage'; down: boolean }
  | { kind: 'outage-later'; inMs: number; forMs: number }
  | { kind: 'printer'; fix: boolean };

const WEIGHTS: [Op['kind'], number][] = [
  ['sale', 30],
  ['preauth', 7],
  ['balance', 3],
  ['completion', 8],
  ['preauth-void', 3],
  ['void', 8],
  ['refund', 6],
  ['settle', 5],
  ['send-reversals', 3],
  ['idle', 10],
  ['outage', 6],
  ['printer', 5],
];
const TOTAL = WEIGHTS.reduce((n, [, w]) => n + w, 0);

/** 1 fen .. 2,000 CNY, skewed to small amounts like a shop's till. */
function amount(rng: Rng): number {
  return rng.chance(0.7) ? 1 + rng.int(20_000) : 1 + rng.int(200_000);
}

const live = (v: TxnView) => v.outcome?.result === 'approved' && !v.reversal && v.consumedBy === undefined;

/** The next operation; falls back to a sale when the chosen one has no original to work on. */
/** `views`: the terminal's transactions in journal order, one per batch and STAN (asked only when an op needs an original). */
export function nextOp(rng: Rng, views: () => TxnView[], batch: number, netDown: boolean, printerBroken: boolean): Op {
  let pick = rng.int(TOTAL);
  let kind: Op['kind'] = 'sale';
  for (const [k, w] of WEIGHTS) {
    if (pick < w) {
      kind = k;
      break;
    }
    pick -= w;
  }
  const needsOriginal = kind === 'completion' || kind === 'preauth-void' || kind === 'void' || kind === 'refund';
  const txns = needsOriginal ? views() : [];
  const choose = <T>(xs: T[]): T | undefined => (xs.length ? xs[rng.int(xs.length)] : undefined);
  switch (kind) {
    case 'sale':
    case 'preauth':
      return { kind, amount: amount(rng) };
    case 'balance':
    case 'settle':
    case 'send-reversals':
      return { kind };
    case 'idle':
      return { kind, ms: rng.chance(0.5) ? 1_000 + rng.int(60_000) : 60_000 + rng.int(20 * 60_000) };
    case 'outage':
      // Half the outages start mid-operation (a request on the wire, a reversal round) and end by themselves.
      if (!netDown && rng.chance(0.5)) return { kind: 'outage-later', inMs: rng.int(40_000), forMs: 10_000 + rng.int(15 * 60_000) };
      return { kind, down: !netDown };
    case 'printer':
      return { kind, fix: printerBroken };
    case 'completion':
    case 'preauth-void': {
      const pre = choose(txns.filter((v) => v.intent.kind === 'preauth' && live(v)));
      if (!pre) break;
      if (kind === 'preauth-void') return { kind, stan: pre.intent.stan, batch: pre.intent.batch };
      return { kind, stan: pre.intent.stan, batch: pre.intent.batch, amount: 1 + rng.int(pre.intent.amount) };
    }
    case 'void': {
      const sale = choose(txns.filter((v) => v.intent.kind === 'sale' && v.intent.batch === batch && live(v)));
      if (sale) return { kind, stan: sale.intent.stan };
      break;
    }
    case 'refund': {
      const sale = choose(txns.filter((v) => (v.intent.kind === 'sale' || v.intent.kind === 'preauth-completion') && live(v) && v.outcome?.rrn));
      if (!sale) break;
      const d = new Date(sale.intent.at);
      const date = String(d.getUTCMonth() + 1).padStart(2, '0') + String(d.getUTCDate()).padStart(2, '0');
      return { kind, rrn: sale.outcome!.rrn!, date, amount: 1 + rng.int(sale.intent.amount) };
    }
  }
  return { kind: 'sale', amount: amount(rng) };
}

export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'sale':
    case 'preauth':
      return `${op.kind} ${op.amount}`;
    case 'completion':
      return `completion of ${op.batch}/${op.stan} for ${op.amount}`;
    case 'preauth-void':
      return `preauth-void of ${op.batch}/${op.stan}`;
    case 'void':
      return `void of stan ${op.stan}`;
    case 'refund':
      return `refund ${op.amount} of rrn ${op.rrn}`;
    case 'idle':
      return `idle ${op.ms} ms`;
    case 'outage':
      return op.down ? 'network outage' : 'network back';
    case 'outage-later':
      return `network outage in ${op.inMs} ms for ${op.forMs} ms`;
    case 'printer':
      return op.fix ? 'printer fixed' : 'printer breaks';
    default:
      return op.kind;
  }
}
