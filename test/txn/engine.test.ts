// The engine against the acquirer simulator on simulated time: every operation, every fault rule of the
// simulator, and after each one the money invariants (journal vs the acquirer's ledger) must hold.
import { describe, expect, it } from 'vitest';
import { jobPaperText } from '../../protocol/escpos/page-text.js';
import { TerminalRecord, type ReceiptNotPrinted, type ReversalAttempt } from '../../firmware-ts/txn/records.js';
import { EngineRig, PASSWORD } from './engine-rig.js';
import type { RollbackAnchor } from '../../firmware-ts/txn/rollback-anchor.js';

async function bootedRig(rules: ConstructorParameters<typeof EngineRig>[0] = {}, opts: Parameters<EngineRig['start']>[0] = {}) {
  const rig = new EngineRig(rules);
  const engine = await rig.start(opts);
  const boot = await rig.run(engine.boot());
  expect(boot.signedOn).toBe(true);
  return { rig, engine };
}

const liveDebits = (rig: EngineRig) => {
  const reversed = new Set(rig.ledger('reversal').map((e) => (e.kind === 'reversal' ? e.target : null)));
  return rig.ledger('authorization').filter((e) => !reversed.has(e.seq));
};

describe('sale', () => {
  it('is written ahead: intent durable before the request, outcome before the answer, receipt journaled when printed', async () => {
    const { rig, engine } = await bootedRig();
    const r = await rig.run(engine.sale(12_345));
    expect(r).toMatchObject({ kind: 'approved', txn: 'sale', amount: 12_345, receipt: 'printed' });
    const types = rig.records().map((x) => x.type);
    expect(types.slice(-3)).toEqual([TerminalRecord.authIntent.name, TerminalRecord.authOutcome.name, TerminalRecord.receiptPrinted.name]);
    const intent = rig.records(TerminalRecord.authIntent.name)[0]!.payload as { reversalImage: Record<string, string>; stan: number };
    // The image rebuilds the 0400 without card data: its terminal ID (the original's), never the merchant's 15 digits.
    expect(Object.keys(intent.reversalImage).sort()).toEqual(['11', '22', '25', '3', '4', '41', '49', '60', 'mti'].sort());
    expect(rig.host.state.byKey.get(`${'12345678'}|000001|${String(intent.stan).padStart(6, '0')}`)?.amount).toBe('000000012345');
    expect(rig.violations()).toEqual([]);
    expect(engine.health()).toMatchObject({ pendingReversals: [], stuckReversals: [], pendingReceipts: [], totals: { saleCount: 1, saleAmount: 12_345 } });
  });

  it('declined by the host (rule decline 51): no debit, nothing owed', async () => {
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 500 }, then: { action: 'decline', code: '51' } }] });
    expect(await rig.run(engine.sale(500))).toMatchObject({ kind: 'declined', responseCode: '51' });
    expect(rig.ledger('authorization')).toHaveLength(0);
    expect(rig.violations()).toEqual([]);
  });

  it('answered slowly (under the timeout): approved once', async () => {
    const { rig, engine } = await bootedRig({ rules: [{ when: { mti: '0200' }, then: { action: 'approve', delayMs: 20_000 } }] });
    expect(await rig.run(engine.sale(800))).toMatchObject({ kind: 'approved' });
    expect(rig.violations()).toEqual([]);
  });

  it('a duplicated reply is ignored: one sale, and the next sale is unaffected', async () => {
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 700 }, then: { action: 'duplicate' } }] });
    expect(await rig.run(engine.sale(700))).toMatchObject({ kind: 'approved' });
    expect(await rig.run(engine.sale(900))).toMatchObject({ kind: 'approved' });
    expect(liveDebits(rig)).toHaveLength(2);
    expect(rig.violations()).toEqual([]);
  });

  for (const [name, action, reason] of [
    ['no reply after the debit (drop-reply)', { action: 'drop-reply' }, '98'],
    ['connection reset after the debit', { action: 'reset' }, '98'],
    ['reply after the timeout (after-timeout)', { action: 'approve', delayMs: 45_000 }, '98'],
    ['reply with a bad MAC', { action: 'bad-mac' }, 'A0'],
  ] as const) {
    it(`${name}: reversed (${reason}) at once, the debit undone exactly once`, async () => {
      const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 4_200, mti: '0200' }, then: action }] });
      const r = await rig.run(engine.sale(4_200));
      expect(r).toMatchObject({ kind: 'reversed', reason, reversal: 'cleared' });
      // A late 0210 arriving now never turns the reversed sale back into one.
      await rig.idle(60_000);
      expect(engine.status({ stan: r.kind === 'reversed' ? r.stan : 0 })).toMatchObject({ found: true, state: 'reversed' });
      expect(rig.ledger('reversal')).toHaveLength(1);
      expect(liveDebits(rig)).toHaveLength(0);
      expect(engine.health().totals.saleCount).toBe(0);
      expect(rig.violations()).toEqual([]);
      expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved' });
      expect(rig.violations()).toEqual([]);
    });
  }

  it('the chip card refuses the host approval: reversed with 06, no receipt', async () => {
    const { rig, engine } = await bootedRig();
    rig.reader.entryMode = 'chip';
    rig.reader.chipReversal = '06';
    expect(await rig.run(engine.sale(3_000))).toMatchObject({ kind: 'reversed', reason: '06', reversal: 'cleared' });
    expect(rig.printer.jobs.filter((j) => j.startsWith('slip'))).toEqual([]);
    expect(liveDebits(rig)).toHaveLength(0);
    expect(rig.violations()).toEqual([]);
  });

  it('host unreachable: not sent, nothing owed, the STAN is not reused', async () => {
    const { rig, engine } = await bootedRig();
    rig.unplug();
    const r = await rig.run(engine.sale(100));
    expect(r.kind).toBe('not-sent');
    rig.reachable = true;
    const next = await rig.run(engine.sale(100));
    expect(next.kind === 'approved' && r.kind === 'not-sent' && next.stan > r.stan).toBe(true);
    expect(rig.violations()).toEqual([]);
  });
});

describe('reversal', () => {
  it('a 0410 answered A0 is not a clearing: the engine signs on again and resends', async () => {
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }] });
    // Requests so far: 0800 (index 0). Then 0200 (1), 0400 answered A0 (2), 0800 (3), 0401 (4).
    rig.script = [null, null, { action: 'decline', code: 'A0' }];
    const r = await rig.run(engine.sale(4_200));
    expect(r).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    expect(rig.ledger('sign-on')).toHaveLength(2);
    const attempts = rig.records(TerminalRecord.reversalAttempt.name).map((x) => (x.payload as ReversalAttempt).mti);
    expect(attempts).toEqual(['0400', '0401']);
    expect(rig.violations()).toEqual([]);
  });

  it('a 0410 answered 96 (the host did not act) is not a clearing: the reversal stays owed until one takes effect', async () => {
    // Found by the deterministic simulator (posj sim): the engine used to clear on any code but A0.
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, { when: { mti: '0400' }, then: { action: 'decline', code: '96' } }] });
    const r = await rig.run(engine.sale(4_200));
    // 0400 answered 96 without effect; the 0401 repeats are approved and take effect.
    expect(r).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    const attempts = rig.records(TerminalRecord.reversalAttempt.name).map((x) => (x.payload as ReversalAttempt).mti);
    expect(attempts).toEqual(['0400', '0401']);
    expect(rig.events).toContainEqual(expect.objectContaining({ type: 'reversal-refused', responseCode: '96' }));
    expect(rig.ledger('reversal')).toHaveLength(1);
    expect(rig.violations()).toEqual([]);
  });

  it('a reversal answered 96 every time is kept stuck, never cleared', async () => {
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, { when: { mti: '0400' }, then: { action: 'decline', code: '96' } }, { when: { mti: '0401' }, then: { action: 'decline', code: '96' } }] });
    const r = await rig.run(engine.sale(4_200));
    expect(r).toMatchObject({ kind: 'reversed', reversal: 'stuck' });
    expect(engine.health().stuckReversals).toHaveLength(1);
    expect(rig.violations()).toEqual([expect.objectContaining({ invariant: 'no-phantom-debit' })]);
  });

  it('a 0400 the host applied but whose 0410 was lost is repeated as 0401 and still takes effect once', async () => {
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, { when: { mti: '0400' }, then: { action: 'drop-reply' } }] });
    expect(await rig.run(engine.sale(4_200))).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    const attempts = rig.records(TerminalRecord.reversalAttempt.name).map((x) => (x.payload as ReversalAttempt).mti);
    expect(attempts).toEqual(['0400', '0401']);
    expect(rig.ledger('reversal')).toHaveLength(1);
    expect(rig.violations()).toEqual([]);
  });

  it('host unreachable after the debit: each attempt journaled as not sent, none counted, never stuck; background rounds until it is back', async () => {
    const { rig, engine } = await bootedRig();
    // The host debits, then the network goes away before the reply.
    rig.cutOnWrite = { at: 'after-host', cut: () => rig.unplug() };
    const r = await rig.run(engine.sale(4_200));
    expect(r).toMatchObject({ kind: 'reversed', reason: '98', reversal: 'pending', attempts: 0 });
    const stan = r.kind === 'reversed' ? r.stan : 0;
    expect(rig.records(TerminalRecord.reversalNotSent.name)).toHaveLength(1);
    expect(engine.health().stuckReversals).toEqual([]);
    expect(rig.events).toContainEqual(expect.objectContaining({ type: 'reversal-not-sent', stan }));
    // Background rounds keep trying on a capped backoff; nothing is sent, nothing counted, nothing dropped.
    await rig.idle(10 * 60_000, 5_000);
    const notSent = rig.records(TerminalRecord.reversalNotSent.name).length;
    expect(notSent).toBeGreaterThan(2);
    expect(rig.records(TerminalRecord.reversalAttempt.name)).toHaveLength(notSent);
    expect(engine.reversals()).toEqual([expect.objectContaining({ stan, attempts: 0, stuck: false })]);
    const scheduled = rig.events.filter((e) => e.type === 'reversal-round-scheduled').map((e) => (e.type === 'reversal-round-scheduled' ? e.inMs : 0));
    expect(scheduled.slice(0, 3)).toEqual([60_000, 120_000, 240_000]);
    // Still owed, the debit still stands: the checker says so mid-run only as an obligation kept.
    expect(rig.violations([r])).toEqual(expect.arrayContaining([expect.objectContaining({ invariant: 'no-failed-debit', stan })]));

    rig.reachable = true;
    await rig.idle(20 * 60_000, 10_000);
    expect(engine.health().pendingReversals).toEqual([]);
    // The first send that left the terminal is the 0400.
    const sent = rig.records(TerminalRecord.reversalAttempt.name).slice(notSent).map((x) => (x.payload as ReversalAttempt).mti);
    expect(sent[0]).toBe('0400');
    expect(rig.ledger('reversal')).toHaveLength(1);
    expect(rig.violations([r])).toEqual([]);
    expect(engine.status({ stan })).toMatchObject({ state: 'reversed', reversal: { state: 'cleared', responseCode: '00' } });
  });

  it('stuck when the host answers every send without acting: kept, slip printed, debits refused naming the STAN; clears when it acts again', async () => {
    const hostBusy = [{ when: { mti: '0400' }, then: { action: 'decline', code: '96' } }, { when: { mti: '0401' }, then: { action: 'decline', code: '96' } }] as const;
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...hostBusy] });
    const started = rig.clock.now();
    const r = await rig.run(engine.sale(4_200), 100);
    expect(r).toMatchObject({ kind: 'reversed', reason: '98', reversal: 'stuck', attempts: 3 });
    const stan = r.kind === 'reversed' ? r.stan : 0;
    const attempts = rig.records(TerminalRecord.reversalAttempt.name).map((x) => x.payload as ReversalAttempt);
    expect(attempts.map((a) => a.mti)).toEqual(['0400', '0401', '0401']);
    // Spaced on the Clock: 2 s, then 4 s (the default policy), not back to back.
    const at = attempts.map((a) => Date.parse(a.at));
    expect([at[1]! - at[0]!, at[2]! - at[1]!].map((d) => Math.round(d / 1_000))).toEqual([2, 4]);
    expect(at[0]! - started).toBeLessThan(31_000 + 1_000);
    expect(engine.health().stuckReversals).toEqual([stan]);
    expect(rig.printer.jobs).toContain(`reversal-${stan}`);
    expect(engine.reversals()).toEqual([expect.objectContaining({ stan, stuck: true, attempts: 3, reason: '98' })]);
    // The cardholder is debited right now, and the checker says so.
    expect(rig.violations([r])).toEqual(expect.arrayContaining([expect.objectContaining({ invariant: 'no-phantom-debit', stan }), expect.objectContaining({ invariant: 'no-failed-debit', stan })]));

    const refusedSale = await rig.run(engine.sale(100));
    expect(refusedSale).toMatchObject({ kind: 'refused', reason: 'reversal-stuck' });
    expect(refusedSale.kind === 'refused' && refusedSale.detail).toContain(`STAN ${String(stan).padStart(6, '0')}`);
    expect(rig.ledger('authorization')).toHaveLength(1);

    rig.host.rules = { ...rig.host.rules, rules: [] };
    await rig.idle(20 * 60_000, 10_000);
    expect(engine.health().pendingReversals).toEqual([]);
    expect(rig.ledger('reversal')).toHaveLength(1);
    expect(rig.violations([r])).toEqual([]);
    expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved' });
    expect(rig.violations()).toEqual([]);
  });

  it('refusing sales while stuck is configurable', async () => {
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, { when: { mti: '0400' }, then: { action: 'decline', code: '96' } }, { when: { mti: '0401' }, then: { action: 'decline', code: '96' } }] }, { refuseSalesWhileStuck: false });
    expect(await rig.run(engine.sale(4_200))).toMatchObject({ reversal: 'stuck' });
    rig.host.rules = { ...rig.host.rules, rules: [] };
    // The next sale first sends the owed reversal (before every online message), then goes through.
    expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved' });
    expect(engine.reversals()).toEqual([]);
    expect(rig.violations()).toEqual([]);
  });

  it('a sale waits on owed reversals only for its budget, then goes ahead; the reversal goes on in the background', async () => {
    const { rig, engine } = await bootedRig({}, { preSaleBudgetMs: 3_000 });
    rig.cutOnWrite = { at: 'after-host', cut: () => rig.unplug() };
    const prior = await rig.run(engine.sale(4_200));
    expect(prior).toMatchObject({ kind: 'reversed', reversal: 'pending' });
    const stan = prior.kind === 'reversed' ? prior.stan : 0;
    // The host is back, but answers the 0400 20 s late: far beyond a 3 s budget.
    rig.reachable = true;
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { mti: '0400' }, then: { action: 'approve', delayMs: 20_000 } }] };
    const started = rig.clock.now();
    const sale = await rig.run(engine.sale(700), 100);
    expect(sale).toMatchObject({ kind: 'approved' });
    expect(rig.clock.now() - started).toBeLessThan(3_000 + 2_000);
    expect(rig.events).toContainEqual(expect.objectContaining({ type: 'reversal-wait-over' }));
    expect(engine.health().pendingReversals).toEqual([stan]);
    await rig.idle(5 * 60_000, 5_000);
    expect(engine.health().pendingReversals).toEqual([]);
    expect(rig.violations()).toEqual([]);
  });

  it('a supervisor closes a stuck reversal only with the password and a reason, recorded', async () => {
    const { rig, engine } = await bootedRig({
      rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'decline', code: '05' } }, { when: { mti: '0400' }, then: { action: 'drop-reply' } }, { when: { mti: '0401' }, then: { action: 'drop-reply' } }],
      // The sale itself is dropped by script (index 1), so the host never debits.
      script: [null, { action: 'drop-reply' }],
    });
    const r = await rig.run(engine.sale(4_200));
    const stan = r.kind === 'reversed' ? r.stan : -1;
    expect(await rig.run(engine.closeReversal({ stan, password: 'nope', reason: 'called acquirer' }))).toMatchObject({ closed: false });
    expect(await rig.run(engine.closeReversal({ stan, password: PASSWORD, reason: 'acquirer confirmed no debit' }))).toMatchObject({ closed: true });
    expect(engine.reversals()).toEqual([]);
    expect(rig.records(TerminalRecord.reversalClosed.name)).toHaveLength(1);
  });

  it('at boot an intent with no outcome is reversed (98) before any new transaction', async () => {
    const { rig, engine } = await bootedRig();
    // Written ahead as the engine would, then the terminal died before sending anything.
    await rig.journal.append([{ type: TerminalRecord.authIntent.name, payload: { stan: rig.journal.state.stan + 1, batch: 1, kind: 'sale', amount: 999, currency: '156', maskedPan: '621214*********0006', entryMode: '902', at: new Date(rig.clock.now()).toISOString(), reversalImage: { mti: '0200', '3': '000000', '4': '000000000999', '11': String(rig.journal.state.stan + 1).padStart(6, '0'), '22': '902', '25': '00', '49': '156', '60': '22000001000' } } }], { durable: true });
    engine.stop();
    await rig.journal.close();
    const again = await rig.start();
    const boot = await rig.run(again.boot());
    expect(boot.reversalsRaised).toHaveLength(1);
    expect(boot.reversalsCleared).toEqual(boot.reversalsRaised);
    expect(rig.ledger('reversal')).toEqual([expect.objectContaining({ target: null })]);
    expect(rig.violations()).toEqual([]);
  });
});

describe('printer', () => {
  it('a printer failure after approval does not reverse: the receipt stays pending and prints on recovery', async () => {
    const { rig, engine } = await bootedRig();
    rig.printer.working = false;
    const r = await rig.run(engine.sale(2_000));
    expect(r).toMatchObject({ kind: 'approved', receipt: 'pending' });
    const stan = r.kind === 'approved' ? r.stan : 0;
    expect(engine.health().pendingReceipts).toEqual([stan]);
    expect(rig.records(TerminalRecord.receiptPrinted.name)).toHaveLength(0);
    expect(rig.ledger('reversal')).toHaveLength(0);
    rig.printer.recover();
    await rig.idle(1_000);
    expect(engine.health().pendingReceipts).toEqual([]);
    expect(rig.printer.jobs).toContain(`slip-1-${stan}`);
    expect(engine.status({ stan })).toMatchObject({ state: 'approved', receipt: 'printed' });
    expect(rig.violations()).toEqual([]);
  });

  it('a slip torn part-way (the printer line dropped mid-job) is owed and prints on recovery marked duplicate; one refused before any paper moved prints unmarked', async () => {
    const { rig, engine } = await bootedRig();
    rig.printer.torn = true;
    const torn = await rig.run(engine.sale(2_100));
    rig.printer.recover();
    rig.printer.working = false;
    const blank = await rig.run(engine.sale(2_200));
    expect([torn, blank]).toMatchObject([{ kind: 'approved', receipt: 'pending' }, { kind: 'approved', receipt: 'pending' }]);
    const [tornStan, blankStan] = [torn, blank].map((r) => (r.kind === 'approved' ? r.stan : 0));
    // The torn slip was tried again while the paper was out: refused before any paper moved, it still
    // owes a duplicate, because the first job's part is on paper (the refusal's record carries that over).
    const notPrinted = (stan: number) => rig.records(TerminalRecord.receiptNotPrinted.name).map((r) => r.payload as ReceiptNotPrinted).filter((p) => p.stan === stan).map((p) => [p.reason, p.mayBeOnPaper]);
    expect(notPrinted(tornStan!)).toEqual([['write-failed', true], ['paper-end', true]]);
    expect(notPrinted(blankStan!)).toEqual([['paper-end', false]]);
    rig.printer.recover();
    await rig.idle(1_000);
    expect(engine.health().pendingReceipts).toEqual([]);
    expect(rig.printer.jobs.slice(-2)).toEqual([`slip-1-${tornStan}-dup`, `slip-1-${blankStan}`]);
    const paper = rig.printer.printedBytes.slice(-2).map((b) => jobPaperText(b).join('\n'));
    expect(paper.map((t) => t.includes('重打印'))).toEqual([true, false]);
    expect(rig.records(TerminalRecord.receiptPrinted.name).slice(-2).map((r) => r.payload)).toEqual([
      { stan: tornStan, copies: 'both', duplicate: true },
      { stan: blankStan, copies: 'both' },
    ]);
  });

  it('reprint (last or by STAN) is marked duplicate', async () => {
    const { rig, engine } = await bootedRig();
    const a = await rig.run(engine.sale(100));
    await rig.run(engine.sale(200));
    expect(await rig.run(engine.reprint({ last: true }))).toMatchObject({ kind: 'printed' });
    expect(await rig.run(engine.reprint({ stan: a.kind === 'approved' ? a.stan : 0 }))).toMatchObject({ kind: 'printed' });
    expect(rig.printer.jobs.filter((j) => j.endsWith('-dup'))).toHaveLength(2);
    expect(await rig.run(engine.reprint({ stan: 4242 }))).toEqual({ kind: 'not-found', detail: 'no transaction with that STAN is kept' });
  });
});

describe('void, refund, pre-authorization, balance, status', () => {
  it('void: same batch by STAN with the supervisor password, once', async () => {
    const { rig, engine } = await bootedRig();
    const sale = await rig.run(engine.sale(5_000));
    const stan = sale.kind === 'approved' ? sale.stan : 0;
    expect(await rig.run(engine.void({ stan, password: 'wrong' }))).toMatchObject({ kind: 'refused', reason: 'supervisor-refused' });
    expect(await rig.run(engine.void({ stan, password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'void', amount: 5_000 });
    expect(await rig.run(engine.void({ stan, password: PASSWORD }))).toMatchObject({ kind: 'refused', reason: 'original-not-voidable' });
    expect(engine.status({ stan })).toMatchObject({ state: 'voided' });
    expect(rig.violations()).toEqual([]);
  });

  it('a void that times out is itself reversed, and the sale can be voided again', async () => {
    const { rig, engine } = await bootedRig();
    const sale = await rig.run(engine.sale(5_000));
    const stan = sale.kind === 'approved' ? sale.stan : 0;
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { mti: '0200', amount: 5_000 }, then: { action: 'drop-reply' } }] };
    expect(await rig.run(engine.void({ stan, password: PASSWORD }))).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    rig.host.rules = { ...rig.host.rules, rules: [] };
    expect(await rig.run(engine.void({ stan, password: PASSWORD }))).toMatchObject({ kind: 'approved' });
    expect(rig.violations()).toEqual([]);
  });

  it('refund by RRN and original date, up to the original amount', async () => {
    const { rig, engine } = await bootedRig();
    const sale = await rig.run(engine.sale(8_000));
    const rrn = sale.kind === 'approved' ? sale.rrn : '';
    // The original date is the sale's field 13, as the acquirer recorded it (it refuses any other).
    const date = (rig.ledger('authorization').at(-1) as { date: string }).date;
    expect(await rig.run(engine.refund({ rrn, date, amount: 3_000, password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'refund' });
    // More than is left of the sale: the terminal refuses it itself (the acquirer would answer 13).
    expect(await rig.run(engine.refund({ rrn, date, amount: 6_000, password: PASSWORD }))).toMatchObject({ kind: 'refused', reason: 'invalid-amount' });
    expect(await rig.run(engine.refund({ rrn: 'bad', date: '1121', amount: 1, password: PASSWORD }))).toMatchObject({ kind: 'refused' });
    expect(engine.status({ rrn })).toMatchObject({ found: true, txn: 'sale' });
    expect(rig.violations()).toEqual([]);
  });

  it('pre-authorization, completion and pre-auth void', async () => {
    const { rig, engine } = await bootedRig();
    const pre = await rig.run(engine.preauth(10_000));
    const preStan = pre.kind === 'approved' ? pre.stan : 0;
    expect(await rig.run(engine.completion({ stan: preStan, amount: 20_000 }))).toMatchObject({ kind: 'refused', reason: 'invalid-amount' });
    expect(await rig.run(engine.completion({ stan: preStan, amount: 9_000 }))).toMatchObject({ kind: 'approved', txn: 'preauth-completion' });
    expect(await rig.run(engine.completion({ stan: preStan, amount: 9_000 }))).toMatchObject({ kind: 'refused', reason: 'original-not-voidable' });
    const pre2 = await rig.run(engine.preauth(4_000));
    expect(await rig.run(engine.preauthVoid({ stan: pre2.kind === 'approved' ? pre2.stan : 0, password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'preauth-void' });
    expect(rig.violations()).toEqual([]);
  });

  it('balance inquiry: the available balance, no receipt, nothing to reverse on a timeout', async () => {
    const { rig, engine } = await bootedRig();
    await rig.run(engine.sale(1_000));
    expect(await rig.run(engine.balance())).toMatchObject({ kind: 'approved', txn: 'balance', balance: 10_000_000 - 1_000, receipt: 'none' });
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { mti: '0200' }, then: { action: 'drop-reply' } }] };
    expect(await rig.run(engine.balance())).toMatchObject({ kind: 'declined', responseCode: '98' });
    expect(engine.reversals()).toEqual([]);
    expect(rig.violations()).toEqual([]);
  });

  it('status answers from the journal alone', async () => {
    const { rig, engine } = await bootedRig({ rules: [{ when: { amount: 500 }, then: { action: 'decline', code: '51' } }] });
    const d = await rig.run(engine.sale(500));
    expect(engine.status({ stan: d.kind === 'declined' ? d.stan : 0 })).toMatchObject({ found: true, state: 'declined', responseCode: '51' });
    expect(engine.status({ stan: 777 })).toEqual({ found: false });
    expect(engine.status({ rrn: '999999999999' })).toEqual({ found: false });
  });
});

describe('an engine nobody listens to, or whose listener throws', () => {
  it.each([
    ['without an event listener', { unheard: true }],
    ['with a listener that throws at every event', { listenerThrows: true }],
  ] as const)('works %s: sign-on failed and done, a rollback alarm, receipts, a chip refusal, reversals and their rounds, a late reply', async (_name, listener) => {
    const rig = new EngineRig();
    const rpmb: RollbackAnchor = { name: 'rpmb', evidence: async () => ({ anchor: 'rpmb counter', last: { batch: 1, stan: 50 }, detail: 'the monotonic counter is at STAN 50' }) };
    const engine = await rig.start({ ...listener, anchors: [rpmb] });
    rig.unplug();
    expect(await rig.run(engine.boot())).toMatchObject({ signedOn: false });
    rig.reachable = true;
    expect(await rig.run(engine.signOn())).toBe(true);
    expect(engine.health().rollback).toMatchObject({ anchor: 'rpmb counter' });
    expect(await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: 'counter checked' }))).toMatchObject({ acknowledged: true });
    expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved', receipt: 'printed' });
    rig.printer.working = false;
    const pending = await rig.run(engine.sale(200));
    expect(pending).toMatchObject({ kind: 'approved', receipt: 'pending' });
    expect(rig.records(TerminalRecord.receiptNotPrinted.name).map((r) => r.payload)).toMatchObject([{ stan: pending.kind === 'approved' ? pending.stan : -1, reason: 'paper-end' }]);
    rig.printer.recover();
    rig.reader.entryMode = 'chip';
    rig.reader.fail.completeChip = 'throw';
    expect(await rig.run(engine.sale(300))).toMatchObject({ kind: 'reversed', reason: '06', detail: 'the card did not complete the approved transaction (GEN AC2: device error (test))' });
    rig.reader.entryMode = 'magstripe';
    rig.cutOnWrite = { at: 'after-host', cut: () => rig.unplug() };
    const lost = await rig.run(engine.sale(400));
    expect(lost).toMatchObject({ kind: 'reversed', reversal: 'pending' });
    expect(await rig.run(engine.sale(500))).toMatchObject({ kind: 'not-sent' });
    engine.linkEvent({ type: 'stray-response', reason: 'late', mti: '0210', stan: '000001', responseCode: '00' });
    rig.reachable = true;
    await rig.idle(5 * 60_000, 5_000);
    expect(engine.reversals()).toEqual([]);
    rig.link.close();
    expect(await rig.run(engine.signOn())).toBe(false);
    if ('unheard' in listener) expect(rig.events).toEqual([]);
    else expect(rig.events.map((e) => e.type)).toEqual(expect.arrayContaining(['sign-on-failed', 'signed-on', 'rollback-detected', 'receipt-pending', 'receipt-printed', 'late-reply-ignored', 'reversal-round-scheduled']));
    expect(rig.violations()).toEqual([]);
  });
});

