// Every lookup the engine makes (txn/txn-history.ts), answered from a fold of known records, transaction for
// transaction: which one a status, reprint, void, refund or reversal finds when STANs repeat in a new batch
// (after the wrap) or an RRN repeats, what a settled batch still answers, what refunds of a sale may have
// given back, and what a checkpoint of an older build gets rebuilt.
import { describe, expect, it } from 'vitest';
import type { RecordInput } from '../../firmware-ts/journal/journal.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { terminalFold } from '../../firmware-ts/txn/terminal-fold.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { terminalStateFold, type TerminalState, type TxnView } from '../../firmware-ts/txn/terminal-state.js';
import { rebuildTxns, refundedOf, reprintable, reversalIntent, saleByRrn, settledSale, viewByRrn, viewByStan, viewIn, voidedBy } from '../../firmware-ts/txn/txn-history.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';

const at = '2026-12-02T10:00:00.000Z';
type Kind = 'sale' | 'void' | 'refund' | 'preauth' | 'preauth-completion' | 'preauth-void' | 'balance';

/** The records of a terminal's history, written as the engine writes them; batch follows the settlements. */
class History {
  readonly records: RecordInput[] = [];
  private batch = 1;
  private add(type: { name: string }, payload: unknown): this {
    this.records.push({ type: type.name, payload });
    return this;
  }
  intent(stan: number, kind: Kind, amount: number, original?: { stan?: number; rrn?: string; date?: string }): this {
    const image = { mti: '0200', '4': String(amount).padStart(12, '0'), '11': String(stan).padStart(6, '0') };
    return this.add(TerminalRecord.authIntent, { stan, batch: this.batch, kind, amount, currency: '156', maskedPan: '622202******1234', entryMode: '051', at, reversalImage: image, ...(original ? { original } : {}) });
  }
  approved(stan: number, rrn: string): this {
    return this.add(TerminalRecord.authOutcome, { stan, result: 'approved', responseCode: '00', rrn, authCode: 'A00001', at });
  }
  declined(stan: number): this {
    return this.add(TerminalRecord.authOutcome, { stan, result: 'declined', responseCode: '51', at });
  }
  printed(stan: number): this {
    return this.add(TerminalRecord.receiptPrinted, { stan, copies: 'both' });
  }
  /** Approved and its slip printed: closed. */
  done(stan: number, kind: Kind, amount: number, rrn: string, original?: { stan?: number; rrn?: string; date?: string }): this {
    return this.intent(stan, kind, amount, original).approved(stan, rrn).printed(stan);
  }
  reversal(stan: number, reason: '98' | '06'): this {
    return this.add(TerminalRecord.reversalRequired, { stan, reason, at, maskedPan: '622202******1234' });
  }
  stuck(stan: number): this {
    return this.add(TerminalRecord.reversalStuck, { stan, attempts: 3, at });
  }
  cleared(stan: number): this {
    return this.add(TerminalRecord.reversalCleared, { stan, responseCode: '00', at });
  }
  closed(stan: number): this {
    return this.add(TerminalRecord.reversalClosed, { stan, reason: 'acquirer confirmed by phone', at });
  }
  settle(): this {
    this.add(TerminalRecord.settlementDone, { batch: this.batch, balanced: true, nextBatch: this.batch + 1, at });
    this.batch++;
    return this;
  }
  /** The journal's fold (bounded retention) over these records, seqs from 1. */
  state(): TerminalState {
    const fold = terminalStateFold('recent');
    const s = fold.initial();
    this.records.forEach((r, i) => fold.apply(s, { seq: i + 1, ...r }));
    return s;
  }
}

/** Which transaction a lookup found: batch, STAN and kind, or undefined. */
const which = (v: TxnView | undefined) => (v ? `${v.intent.batch}/${v.intent.stan} ${v.intent.kind}` : undefined);

describe('by STAN: the open batch first, then the newest kept', () => {
  it('a STAN used again in a new batch finds the new one; one not used again finds the settled one', () => {
    const h = new History().done(7, 'sale', 700, 'RRN000000007').done(8, 'sale', 800, 'RRN000000008').settle().done(7, 'sale', 7_000, 'RRN000000107');
    const s = h.state();
    expect(which(viewByStan(s, 7))).toBe('2/7 sale');
    expect(viewByStan(s, 7)?.intent.amount).toBe(7_000);
    expect(which(viewByStan(s, 8)), 'only in the settled batch').toBe('1/8 sale');
    expect(viewByStan(s, 9)).toBeUndefined();
  });

  it("an obligation carried over from a settled batch never answers for the open batch's STAN", () => {
    // Batch 1's STAN 9 still owes its slip after the settlement (settlement waits for no printer); after the
    // wrap batch 2 uses 9 again and is declined.
    const h = new History().intent(9, 'sale', 900).approved(9, 'RRN000000009').settle().intent(9, 'sale', 90).declined(9);
    const s = h.state();
    expect(s.txns[s.pendingReceipts['9']!.seq]?.intent.batch).toBe(1);
    expect(which(viewByStan(s, 9))).toBe('2/9 sale');
    expect(viewByStan(s, 9)?.outcome?.result).toBe('declined');
  });
});

describe('by RRN', () => {
  it('the newest with that RRN, whatever its kind; one still in flight is passed over', () => {
    const h = new History().done(1, 'sale', 100, 'RRN000000001').settle().done(2, 'sale', 200, 'RRN000000001').done(3, 'refund', 50, 'RRN000000003', { rrn: 'RRN000000001', date: '1202' }).intent(4, 'sale', 400);
    const s = h.state();
    expect(which(viewByRrn(s, 'RRN000000001')), 'an RRN the acquirer used twice').toBe('2/2 sale');
    expect(which(viewByRrn(s, 'RRN000000003'))).toBe('2/3 refund');
    expect(viewByRrn(s, 'RRN000000004')).toBeUndefined();
  });

  it("saleByRrn: this terminal's sale or completion only, the newest; never a refund or void of it", () => {
    const h = new History()
      .done(1, 'sale', 100, 'RRN000000001')
      .done(2, 'preauth', 500, 'RRN000000002')
      .done(3, 'preauth-completion', 400, 'RRN000000003', { stan: 2, rrn: 'RRN000000002' })
      .done(4, 'refund', 50, 'RRN000000004', { rrn: 'RRN000000001', date: '1202' })
      .settle()
      .done(5, 'sale', 300, 'RRN000000001')
      .done(6, 'void', 300, 'RRN000000006', { stan: 5, rrn: 'RRN000000001' })
      .intent(7, 'sale', 700);
    const s = h.state();
    expect(which(saleByRrn(s, 'RRN000000001')), 'the RRN used twice: the newest sale').toBe('2/5 sale');
    expect(which(saleByRrn(s, 'RRN000000003'))).toBe('1/3 preauth-completion');
    expect(saleByRrn(s, 'RRN000000002'), 'a pre-authorization is not refundable').toBeUndefined();
    expect(saleByRrn(s, 'RRN000000004'), 'a refund').toBeUndefined();
    expect(saleByRrn(s, 'RRN000000006'), 'a void').toBeUndefined();
  });
});

describe('reprint', () => {
  it('the last: the newest approved slip, past a decline, a reversed approval, a balance inquiry and one in flight', () => {
    const h = new History()
      .done(1, 'sale', 100, 'RRN000000001')
      .done(2, 'sale', 200, 'RRN000000002')
      .intent(3, 'sale', 300).declined(3)
      .intent(4, 'sale', 400).approved(4, 'RRN000000004').reversal(4, '06')
      .intent(5, 'balance', 0).approved(5, 'RRN000000005')
      .intent(6, 'sale', 600);
    expect(which(reprintable(h.state()))).toBe('1/2 sale');
  });

  it('the last after a settlement is the settled batch\'s newest slip', () => {
    const h = new History().done(1, 'sale', 100, 'RRN000000001').done(2, 'refund', 20, 'RRN000000002', { rrn: 'RRN000000001', date: '1202' }).settle();
    expect(which(reprintable(h.state()))).toBe('1/2 refund');
  });

  it('by STAN: the open batch\'s when the STAN was used again, else the settled one; never one not approved', () => {
    const h = new History().done(7, 'sale', 700, 'RRN000000007').done(8, 'sale', 800, 'RRN000000008').done(9, 'sale', 900, 'RRN000000009').settle().done(7, 'sale', 70, 'RRN000000107').intent(9, 'sale', 90).declined(9);
    const s = h.state();
    expect(which(reprintable(s, 7))).toBe('2/7 sale');
    expect(reprintable(s, 7)?.intent.amount).toBe(70);
    expect(which(reprintable(s, 8))).toBe('1/8 sale');
    expect(which(reprintable(s, 9)), 'the open batch\'s 9 was declined: the settled slip').toBe('1/9 sale');
    expect(reprintable(s, 10)).toBeUndefined();
  });
});

describe('a void of a STAN the open batch does not have: the sale in a settled batch', () => {
  const h = new History()
    .done(3, 'sale', 300, 'RRN000000003')
    .intent(4, 'sale', 400).declined(4)
    .done(5, 'refund', 50, 'RRN000000005', { rrn: 'RRN000000003', date: '1202' })
    .intent(6, 'sale', 600).reversal(6, '98').cleared(6)
    .intent(8, 'sale', 800).approved(8, 'RRN000000008').reversal(8, '06').cleared(8)
    .settle()
    .done(10, 'sale', 1_000, 'RRN000000010');
  const s = h.state();

  it('an approved, standing sale of a settled batch is found (its RRN for the refund)', () => {
    expect(which(settledSale(s, 3))).toBe('1/3 sale');
    expect(settledSale(s, 3)?.outcome?.rrn).toBe('RRN000000003');
  });

  it('none for a declined, never answered, reversed or non-sale STAN, a STAN never used, or the open batch', () => {
    expect(settledSale(s, 4), 'declined: nothing to refund').toBeUndefined();
    expect(settledSale(s, 5), 'a refund').toBeUndefined();
    expect(settledSale(s, 6), 'never answered, reversed').toBeUndefined();
    expect(settledSale(s, 8), 'approved, then reversed').toBeUndefined();
    expect(settledSale(s, 99)).toBeUndefined();
    expect(settledSale(s, 10), 'open batch: a void, not a refund').toBeUndefined();
  });
});

describe('refundedOf: what refunds of a sale may have given back', () => {
  it('approved, unanswered, a reversal owed, stuck or closed count; declined, a cleared reversal, other RRNs and kinds do not', () => {
    const sale = 'RRN000000001';
    const of = { rrn: sale, date: '1202' };
    const h = new History()
      .done(1, 'sale', 10_000, sale)
      .done(2, 'refund', 1_000, 'RRN000000002', of)
      .intent(3, 'refund', 2_000, of).declined(3)
      .intent(4, 'refund', 300, of).reversal(4, '98').cleared(4)
      .intent(5, 'refund', 40, of).reversal(5, '98').stuck(5)
      .intent(6, 'refund', 5, of).reversal(6, '98').closed(6)
      .intent(7, 'refund', 600, of).approved(7, 'RRN000000007').reversal(7, '06')
      .done(8, 'refund', 7_000, 'RRN000000008', { rrn: 'RRN000000099', date: '1202' })
      .done(9, 'void', 8_000, 'RRN000000009', { stan: 1, rrn: sale })
      .settle()
      .intent(10, 'refund', 20, of);
    const s = h.state();
    expect(refundedOf(s, sale)).toEqual({ fen: 1_000 + 40 + 5 + 600 + 20, unconfirmed: 40 + 5 + 600 + 20 });
    expect(refundedOf(s, 'RRN000000099')).toEqual({ fen: 7_000, unconfirmed: 0 });
    expect(refundedOf(s, 'RRN000000002'), 'a refund\'s own RRN').toEqual({ fen: 0, unconfirmed: 0 });
  });
});

describe('reprintable and viewIn by STAN: the open batch\'s entry taken directly finds what the walk finds', () => {
  /** The lookup as it was before the direct path: the newest acceptable view, the open batch first. */
  function walked(s: TerminalState, stan: number): TxnView | undefined {
    const views = Object.values(s.txns).reverse();
    const ok = (v: TxnView) => v.outcome?.result === 'approved' && !v.reversal && v.intent.kind !== 'balance' && v.intent.stan === stan;
    return views.find((v) => ok(v) && v.intent.batch === s.batch) ?? views.find(ok);
  }

  it('on 300 seeded histories of sales, voids, balances, declines, reversals and settlements, STANs repeating across batches', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    let compared = 0;
    for (let run = 0; run < 300; run++) {
      const h = new History();
      let stan = 1;
      for (let op = 0; op < 25; op++) {
        const k = rnd(10);
        const n = stan++;
        const rrn = `RRN${String(run * 100 + op).padStart(9, '0')}`;
        if (k < 4) h.done(n, 'sale', 100 + op, rrn);
        else if (k === 4) h.intent(n, 'sale', 100).approved(n, rrn).reversal(n, '06');
        else if (k === 5) h.intent(n, 'sale', 100).declined(n);
        else if (k === 6) h.done(n, 'balance', 0, rrn);
        else if (k === 7) h.done(n, 'void', 100, rrn, { stan: Math.max(1, n - 1 - rnd(3)) });
        else if (k === 8) h.intent(n, 'sale', 100).approved(n, rrn);
        else {
          h.settle();
          stan = 1 + rnd(4);
        }
      }
      const s = h.state();
      for (let q = 1; q <= 12; q++) {
        expect(which(reprintable(s, q)), `run ${run}, STAN ${q}`).toBe(which(walked(s, q)));
        if (walked(s, q)) compared++;
        // viewIn takes the same shortcut for the open batch: the newest with the batch and STAN.
        for (const b of [s.batch, s.batch - 1]) {
          const want = Object.values(s.txns).reverse().find((v) => v.intent.stan === q && v.intent.batch === b);
          expect(which(viewIn(s, b, q)), `run ${run}, batch ${b}, STAN ${q}`).toBe(which(want));
        }
      }
    }
    expect(compared).toBeGreaterThan(1_000);
  });
});

describe('voidedBy: the void standing against a transaction, which its slip must name', () => {
  it("a sale's void; a pre-authorization's pre-authorization void, not its completion; a void reversed stands against nothing", () => {
    const h = new History()
      .done(1, 'sale', 1_000, 'RRN000000001')
      .done(2, 'void', 1_000, 'RRN000000002', { stan: 1, rrn: 'RRN000000001' })
      .done(3, 'sale', 2_000, 'RRN000000003')
      // A void approved, then reversed (its card refused the approval): the sale stands again.
      .intent(4, 'void', 2_000, { stan: 3, rrn: 'RRN000000003' }).approved(4, 'RRN000000004').reversal(4, '06').cleared(4)
      // A void whose reply never came: no approval, nothing used up.
      .intent(5, 'void', 2_000, { stan: 3, rrn: 'RRN000000003' }).reversal(5, '98').cleared(5)
      .done(6, 'preauth', 5_000, 'RRN000000006')
      .done(7, 'preauth-void', 5_000, 'RRN000000007', { stan: 6 })
      .settle()
      // Batch 2 uses STANs 6 and 7 again: a pre-authorization completed by 7 ...
      .done(6, 'preauth', 6_000, 'RRN000000016')
      .done(7, 'preauth-completion', 6_000, 'RRN000000017', { stan: 6 })
      .settle()
      // ... and in batch 3 another one with the same STANs, voided: it says nothing of batch 2's.
      .done(6, 'preauth', 7_000, 'RRN000000026')
      .done(7, 'preauth-void', 7_000, 'RRN000000027', { stan: 6 });
    const s = h.state();
    const of = (batch: number, stan: number) => voidedBy(s, viewIn(s, batch, stan)!);
    expect([of(1, 1), of(1, 2), of(1, 3), of(1, 6), of(2, 6), of(3, 6)]).toEqual([2, undefined, undefined, 7, undefined, 7]);
  });

  it('an original is named by its RRN: a pre-authorization voided after a newer sale took its STAN is the one marked', () => {
    const h = new History()
      .done(6, 'preauth', 5_000, 'RRN000000036')
      .settle()
      // The STAN counter came round again: a sale of the next batch has 6 too.
      .done(6, 'sale', 1_000, 'RRN000000046')
      .done(7, 'preauth-void', 5_000, 'RRN000000047', { stan: 6, rrn: 'RRN000000036' });
    const s = h.state();
    const of = (batch: number, stan: number) => voidedBy(s, viewIn(s, batch, stan)!);
    expect([of(1, 6), of(2, 6)]).toEqual([7, undefined]);
  });
});

describe('what reads the journal: a closed reversal image, a rebuild for an older checkpoint', () => {
  async function journal(h: History) {
    const disk = new SimDisk();
    const j = await openTerminalJournal({ dir: '/j', deviceKey: Buffer.alloc(32, 5), storage: disk, segmentBytes: 64 * 1024 });
    await j.append(h.records, { durable: true });
    return { j, disk };
  }

  it("reversalIntent: the image from the fold while open, else the intent record by seq; nothing for a seq that is no intent", async () => {
    const { j, disk } = await journal(new History().done(1, 'sale', 100, 'RRN000000001').intent(2, 'sale', 200));
    const [closed, open] = Object.values(j.state.txns);
    expect(closed!.intent.reversalImage).toBeUndefined();
    expect(reversalIntent(closed!, j, disk)?.reversalImage).toEqual({ mti: '0200', '4': '000000000100', '11': '000001' });
    expect(reversalIntent(open!, j, disk)?.reversalImage).toEqual({ mti: '0200', '4': '000000000200', '11': '000002' });
    expect(reversalIntent({ ...closed!, seq: closed!.seq + 1 }, j, disk), "the seq of the sale's outcome").toBeUndefined();
    expect(reversalIntent({ ...closed!, seq: open!.seq + 100 }, j, disk), 'a seq past the end').toBeUndefined();
    await j.close();
  });

  it('rebuildTxns: the open batch (a decline too) and the obligations of earlier batches, nothing else of them', async () => {
    const h = new History()
      .done(1, 'sale', 100, 'RRN000000001')
      .intent(2, 'sale', 200).reversal(2, '98').stuck(2)
      .done(3, 'sale', 300, 'RRN000000003')
      .intent(4, 'sale', 400).approved(4, 'RRN000000004')
      .done(5, 'sale', 500, 'RRN000000005')
      .settle()
      .done(6, 'sale', 600, 'RRN000000006')
      .intent(7, 'sale', 700)
      .intent(8, 'sale', 800).declined(8);
    const { j, disk } = await journal(h);
    const want = Object.values(j.state.txns).filter((v) => [2, 4, 6, 7, 8].includes(v.intent.stan));
    const s = structuredClone(j.state);
    s.txns = {};
    s.version = 1;
    rebuildTxns(s, terminalFold.oldestOpenSeq(s), j, disk);
    expect(Object.values(s.txns).map(which)).toEqual(['1/2 sale', '1/4 sale', '2/6 sale', '2/7 sale', '2/8 sale']);
    expect(Object.values(s.txns)).toEqual(want);
    expect(s.version).toBe(2);
    await j.close();
  });
});
