// Realistic synthetic traffic for `posj journal fill`, tests and benchmarks: sales with intent (durable),
// outcome (durable) and printed (lazy) records, the odd decline and reversal, and a settlement every
// `batchSize` sales so the open set stays the size a real terminal's does.
import type { RecordInput } from './journal.js';
import { TerminalRecord, type AuthIntent, type AuthOutcome } from '../txn/records.js';

// Test BINs only; the PAN is masked before it is ever written.
const TEST_CARDS = ['622202******1234', '621700******0018', '476173******0119', '520000******0008', '356999******0013'];
const MERCHANT_TIME = Date.UTC(2026, 10, 21, 1, 0, 0);

export interface SyntheticStep {
  records: RecordInput[];
  durable: boolean;
}

function stanOf(n: number): number {
  return ((n - 1) % 999_999) + 1;
}

/** Deterministic pseudo-random numbers so two fills of the same size are byte-comparable in content. */
function mix(n: number): number {
  let x = (n ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export function saleIntent(n: number, batch: number): AuthIntent {
  const stan = stanOf(n);
  const r = mix(n);
  const at = new Date(MERCHANT_TIME + n * 37_000).toISOString();
  return {
    stan,
    batch,
    kind: 'sale',
    amount: 100 + (r % 500_000),
    currency: '156',
    maskedPan: TEST_CARDS[r % TEST_CARDS.length]!,
    entryMode: r % 3 === 0 ? '072' : '051',
    at,
    reversalImage: { mti: '0400', processingCode: '000000', posEntry: '051', posCondition: '00', reason: '98' },
  };
}

export function saleOutcome(n: number, approved: boolean): AuthOutcome {
  const r = mix(n + 7);
  return {
    stan: stanOf(n),
    result: approved ? 'approved' : 'declined',
    responseCode: approved ? '00' : '51',
    rrn: `R${(r % 100_000_000).toString().padStart(8, '0')}`.padEnd(12, 'X'),
    authCode: approved ? (r % 1_000_000).toString(36).toUpperCase().padStart(6, '0') : undefined,
    at: new Date(MERCHANT_TIME + n * 37_000 + 1_400).toISOString(),
  };
}

/** Steps for sale number n (1-based) in a terminal that settles every `batchSize` sales. */
export function* syntheticSteps(fromSale: number, count: number, batchSize = 500): Generator<SyntheticStep> {
  // Obligations left open during a batch are met before it settles, as a terminal does.
  let owedReversals: number[] = [];
  let unprinted: number[] = [];
  // The batch's approved sales, for the settlement's totals (its slip is printed from them).
  let debit = { count: 0, amount: 0 };
  for (let n = fromSale; n < fromSale + count; n++) {
    const batch = Math.floor((n - 1) / batchSize) + 1;
    const r = mix(n);
    yield { records: [{ type: TerminalRecord.authIntent.name, payload: saleIntent(n, batch) }], durable: true };
    if (r % 97 === 0) {
      // The reply was lost: the terminal owes a reversal until the acquirer answers it.
      yield { records: [{ type: TerminalRecord.reversalRequired.name, payload: { stan: stanOf(n), reason: '98', at: saleIntent(n, batch).at } }], durable: true };
      yield { records: [{ type: TerminalRecord.reversalAttempt.name, payload: { stan: stanOf(n), attempt: 1, mti: '0400', at: saleIntent(n, batch).at } }], durable: true };
      if (r % 5 !== 0) yield { records: [{ type: TerminalRecord.reversalCleared.name, payload: { stan: stanOf(n), responseCode: '00', at: saleIntent(n, batch).at } }], durable: true };
      else owedReversals.push(stanOf(n));
    } else {
      const approved = r % 23 !== 0;
      yield { records: [{ type: TerminalRecord.authOutcome.name, payload: saleOutcome(n, approved) }], durable: true };
      if (approved) debit = { count: debit.count + 1, amount: debit.amount + saleIntent(n, batch).amount };
      if (approved && r % 41 !== 0) yield { records: [{ type: TerminalRecord.receiptPrinted.name, payload: { stan: stanOf(n), copies: 'both' } }], durable: false };
      else if (approved) unprinted.push(stanOf(n));
    }
    if (n % batchSize === 0) {
      const at = new Date(MERCHANT_TIME + n * 37_000 + 5_000).toISOString();
      for (const stan of owedReversals) yield { records: [{ type: TerminalRecord.reversalCleared.name, payload: { stan, responseCode: '25', at } }], durable: true };
      for (const stan of unprinted) yield { records: [{ type: TerminalRecord.receiptPrinted.name, payload: { stan, copies: 'both' } }], durable: false };
      owedReversals = [];
      unprinted = [];
      const terminal = { debitCount: debit.count, debitAmount: debit.amount, creditCount: 0, creditAmount: 0 };
      debit = { count: 0, amount: 0 };
      yield { records: [{ type: TerminalRecord.settlementStep.name, payload: { batch, step: 'started', terminal, at } }], durable: true };
      yield { records: [{ type: TerminalRecord.settlementDone.name, payload: { batch, balanced: true, nextBatch: batch + 1, at } }], durable: true };
      yield { records: [{ type: TerminalRecord.settlementSlip.name, payload: { batch, event: 'printed', duplicate: false, at } }], durable: true };
    }
  }
}
