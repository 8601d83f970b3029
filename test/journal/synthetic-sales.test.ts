// The synthetic traffic that `posj journal fill`, the benchmarks and the history tests write
// (synthetic-sales.ts) must look like a terminal's day to the terminal's own fold, or the figures measured on
// it mean nothing: intent before outcome, durable where the engine is durable, every obligation a batch
// left open met before it settles, STANs and batches as the engine numbers them, masked card numbers only,
// and the same records for the same sale number whatever run or offset produced them.
import { describe, expect, it } from 'vitest';
import { saleIntent, saleOutcome, syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { terminalStateFold } from '../../firmware-ts/txn/terminal-state.js';
import { terminalFold } from '../../firmware-ts/txn/terminal-fold.js';
import { findSensitive } from '../../firmware-ts/pci/card-data.js';

function fold(fromSale: number, count: number, batchSize: number) {
  const machine = terminalStateFold('recent');
  const state = machine.initial();
  let seq = 0;
  const kinds = { intents: 0, reversals: 0, declined: 0, approved: 0, printedLazy: 0, settlements: 0 };
  const openAtSettlement: number[] = [];
  for (const step of syntheticSteps(fromSale, count, batchSize)) {
    expect(step.records).toHaveLength(1);
    const r = step.records[0]!;
    // Only the printed record is lazy, as in the engine.
    expect(step.durable).toBe(r.type !== TerminalRecord.receiptPrinted.name);
    if (r.type === TerminalRecord.settlementStep.name) {
      openAtSettlement.push(Object.keys(state.reversals).length + Object.keys(state.pendingReceipts).length + Object.keys(state.inFlight).length);
    }
    if (r.type === TerminalRecord.authIntent.name) kinds.intents++;
    if (r.type === TerminalRecord.reversalRequired.name) kinds.reversals++;
    if (r.type === TerminalRecord.authOutcome.name) kinds[(r.payload as { result: 'approved' | 'declined' }).result]++;
    if (r.type === TerminalRecord.receiptPrinted.name) kinds.printedLazy++;
    if (r.type === TerminalRecord.settlementDone.name) kinds.settlements++;
    machine.apply(state, { seq: ++seq, type: r.type, payload: structuredClone(r.payload) });
  }
  return { state, kinds, openAtSettlement };
}

describe('synthetic sales', () => {
  it("settle with their batch's totals and a printed slip: a daemon booted on a filled journal owes no slip (it failed reading 'debitCount')", () => {
    const state = terminalFold.initial();
    let seq = 0;
    let approvedAmount = 0;
    let approvedCount = 0;
    for (const step of syntheticSteps(1, 1_000, 500)) {
      for (const r of step.records) {
        terminalFold.apply(state, { seq: ++seq, type: r.type, payload: structuredClone(r.payload) });
        const p = r.payload as { result?: string; stan: number };
        if (r.type === TerminalRecord.authOutcome.name && p.result === 'approved' && p.stan > 500) {
          approvedCount++;
          approvedAmount += saleIntent(p.stan, 2).amount;
        }
      }
    }
    expect(state.slipsOwed).toEqual([]);
    expect(state.lastSettlement).toMatchObject({ batch: 2, terminal: { debitCount: approvedCount, debitAmount: approvedAmount, creditCount: 0, creditAmount: 0 } });
  });

  it('fold like a terminal day: every obligation met before each settlement, batches forward, STANs as allocated', () => {
    const { state, kinds, openAtSettlement } = fold(1, 2_000, 500);
    expect(kinds.intents).toBe(2_000);
    expect(kinds.settlements).toBe(4);
    expect(openAtSettlement).toEqual([0, 0, 0, 0]);
    expect(state.batch).toBe(5);
    expect(Object.keys(state.batchEntries)).toHaveLength(0);
    // The odd decline and lost reply, in the proportions the generator is built for (1/23 and 1/97).
    expect(kinds.declined).toBeGreaterThan(2_000 / 23 / 2);
    expect(kinds.declined).toBeLessThan((2_000 / 23) * 2);
    expect(kinds.reversals).toBeGreaterThan(2_000 / 97 / 2);
    expect(kinds.reversals).toBeLessThan((2_000 / 97) * 2);
    expect(kinds.approved + kinds.declined + kinds.reversals).toBe(2_000);
  });

  it('leave a batch with its open obligations (owed reversals, unprinted slips) until it settles', () => {
    const { state } = fold(1, 4_999, 5_000);
    expect(Object.keys(state.reversals).length).toBeGreaterThan(0);
    expect(Object.keys(state.pendingReceipts).length).toBeGreaterThan(0);
    expect(Object.keys(state.batchEntries).length).toBeGreaterThan(4_000);
    expect(state.batch).toBe(1);
  });

  it('write the records the engine writes, with its values: a lost reply reversed (98, 0400) and mostly cleared at once, the rest cleared before settlement (25), settlement started then done after the batch', () => {
    const steps = [...syntheticSteps(1, 1_000, 500)];
    const payloads = (type: string) => steps.filter((x) => x.records[0]!.type === type).map((x) => x.records[0]!.payload as Record<string, unknown>);
    const intents = payloads(TerminalRecord.authIntent.name);
    expect(new Set(intents.map((i) => `${i.kind}|${i.currency}`))).toEqual(new Set(['sale|156']));
    expect(new Set(intents.map((i) => i.entryMode))).toEqual(new Set(['051', '072']));
    const required = payloads(TerminalRecord.reversalRequired.name);
    expect(required.length).toBeGreaterThan(0);
    expect(required.every((r) => r.reason === '98')).toBe(true);
    expect(payloads(TerminalRecord.reversalAttempt.name).map((a) => [a.attempt, a.mti])).toEqual(required.map(() => [1, '0400']));
    const cleared = payloads(TerminalRecord.reversalCleared.name);
    expect(cleared.length).toBe(required.length);
    expect(cleared.some((c) => c.responseCode === '00') && cleared.some((c) => c.responseCode === '25')).toBe(true);
    expect(new Set(payloads(TerminalRecord.receiptPrinted.name).map((p) => p.copies))).toEqual(new Set(['both']));
    expect(payloads(TerminalRecord.settlementStep.name).map((p) => [p.batch, p.step])).toEqual([[1, 'started'], [2, 'started']]);
    expect(payloads(TerminalRecord.settlementDone.name).map((p) => [p.batch, p.balanced, p.nextBatch])).toEqual([[1, true, 2], [2, true, 3]]);
    // The settlement comes after the batch's last sale and before the next batch's first.
    const settledAt = payloads(TerminalRecord.settlementDone.name).map((p) => p.at as string);
    expect(settledAt[0]! > (intents[499]!.at as string) && settledAt[0]! < (intents[500]!.at as string)).toBe(true);
    expect(settledAt[1]! > (intents[999]!.at as string)).toBe(true);
    expect(new Set(payloads(TerminalRecord.authOutcome.name).map((o) => o.rrn)).size).toBeGreaterThan(900);
  });

  it('number sale n with STAN ((n - 1) mod 999,999) + 1, in batch ⌈n / batchSize⌉, and give sale n the same records from any offset', () => {
    for (const n of [1, 2, 999_999, 1_000_000, 1_000_001]) {
      expect(saleIntent(n, 3).stan).toBe(((n - 1) % 999_999) + 1);
      expect(saleOutcome(n, true).stan).toBe(saleIntent(n, 3).stan);
    }
    const all = [...syntheticSteps(1, 1_000, 250)];
    const tail = [...syntheticSteps(501, 500, 250)];
    const firstOf501 = all.findIndex((s) => s.records[0]!.type === TerminalRecord.authIntent.name && (s.records[0]!.payload as { stan: number }).stan === 501);
    expect(tail).toEqual(all.slice(firstOf501));
    const batches = all.filter((s) => s.records[0]!.type === TerminalRecord.authIntent.name).map((s) => (s.records[0]!.payload as { batch: number }).batch);
    expect(batches.slice(0, 250).every((b) => b === 1) && batches.slice(250, 500).every((b) => b === 2) && batches[999] === 4).toBe(true);
  });

  it('carry masked card numbers only, sane amounts, approval codes only when approved, and times that move forward', () => {
    let lastAt = '';
    for (let n = 1; n <= 1_000; n++) {
      const i = saleIntent(n, 1);
      expect(i.maskedPan).toMatch(/^\d{6}\*{6}\d{4}$/);
      expect(findSensitive(i)).toBeNull();
      expect(i.amount).toBeGreaterThanOrEqual(100);
      expect(i.amount).toBeLessThan(100 + 500_000);
      expect(['051', '072']).toContain(i.entryMode);
      expect(i.at > lastAt).toBe(true);
      lastAt = i.at;
      const ok = saleOutcome(n, true);
      const no = saleOutcome(n, false);
      expect([ok.result, ok.responseCode, no.result, no.responseCode, no.authCode]).toEqual(['approved', '00', 'declined', '51', undefined]);
      expect(ok.authCode).toMatch(/^[0-9A-Z]{6}$/);
      expect(ok.rrn).toHaveLength(12);
      expect(ok.at > i.at).toBe(true);
    }
    // Different sales differ (the mix is not constant).
    expect(new Set(Array.from({ length: 50 }, (_, k) => saleIntent(k + 1, 1).amount)).size).toBeGreaterThan(40);
    expect(new Set(Array.from({ length: 50 }, (_, k) => saleOutcome(k + 1, true).rrn)).size).toBeGreaterThan(40);
  });
});
