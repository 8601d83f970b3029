// What the engine answers from its journal, field for field: status in every state, the reversal list in
// the order they were raised (across a STAN wrap), health, the stored outcome a repeated request id gets
// back in each way a transaction can end, reprints, a supervisor closing a reversal, and late replies.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { NOT_SENT } from '../../firmware-ts/txn/terminal-engine.js';
import type { TxnResult } from '../../firmware-ts/txn/engine-api.js';
import { EngineRig, HOST_IGNORES_REVERSALS, PASSWORD, supervisor } from './engine-rig.js';
import { PAN } from '../acquirer/harness.js';
import { maskPan } from '../../firmware-ts/pci/card-data.js';

const MASKED = maskPan(PAN);

async function booted(opts: Parameters<EngineRig['start']>[0] = {}, rules: ConstructorParameters<typeof EngineRig>[0] = {}) {
  const rig = new EngineRig(rules);
  const engine = await rig.start(opts);
  expect((await rig.run(engine.boot())).signedOn).toBe(true);
  return { rig, engine };
}

const stanOf = (r: TxnResult) => (r.kind === 'refused' ? -1 : r.stan);
const iso = (rig: EngineRig) => new Date(rig.clock.now()).toISOString();
/** The intent's time, as journaled: what status answers in `at`. */
const intentAt = (rig: EngineRig, stan: number) => (rig.records(TerminalRecord.authIntent.name).find((r) => (r.payload as { stan: number }).stan === stan)!.payload as { at: string }).at;

/** An intent written ahead as the engine would, with no outcome: in flight. */
async function inFlight(rig: EngineRig, amount: number, requestId?: string): Promise<number> {
  const stan = rig.journal.state.stan + 1;
  const s6 = String(stan).padStart(6, '0');
  await rig.journal.append(
    [{ type: TerminalRecord.authIntent.name, payload: { stan, batch: 1, kind: 'sale', amount, currency: '156', maskedPan: MASKED, entryMode: '902', at: iso(rig), reversalImage: { mti: '0200', '3': '000000', '4': String(amount).padStart(12, '0'), '11': s6, '22': '902', '25': '00', '49': '156', '60': '22000001000' }, ...(requestId ? { requestId } : {}) } }],
    { durable: true },
  );
  return stan;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('status', () => {
  it('an approved sale by STAN, RRN, request id and as the last one: every field', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(1_234, { requestId: 'till-9' }));
    if (sale.kind !== 'approved') throw new Error('not approved');
    const want = {
      found: true,
      stan: sale.stan,
      batch: 1,
      txn: 'sale',
      amount: 1_234,
      maskedPan: MASKED,
      state: 'approved',
      responseCode: '00',
      rrn: sale.rrn,
      authCode: sale.authCode,
      at: intentAt(rig, sale.stan),
      receipt: 'printed',
      requestId: 'till-9',
    };
    expect(sale.authCode).toMatch(/^\w{6}$/);
    expect(engine.status({ stan: sale.stan })).toEqual(want);
    expect(engine.status({ rrn: sale.rrn })).toEqual(want);
    expect(engine.status({ requestId: 'till-9' })).toEqual(want);
    expect(engine.status({ last: true })).toEqual(want);
  });

  it('declined, not sent, in flight, a receipt pending, voided, and a completed pre-authorization', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 510 }, then: { action: 'decline', code: '51' } }] });
    const declined = await rig.run(engine.sale(510));
    // Strict: a field the transaction has none of is absent, not undefined (no requestId here).
    expect(engine.status({ stan: stanOf(declined) })).toStrictEqual({ found: true, stan: stanOf(declined), batch: 1, txn: 'sale', amount: 510, maskedPan: MASKED, state: 'declined', responseCode: '51', at: intentAt(rig, stanOf(declined)), receipt: 'none' });

    rig.unplug();
    const notSent = await rig.run(engine.sale(600));
    expect(notSent.kind).toBe('not-sent');
    expect(engine.status({ stan: stanOf(notSent) })).toMatchObject({ state: 'not-sent', responseCode: NOT_SENT, receipt: 'none' });
    expect(engine.status({ stan: stanOf(notSent) })).not.toHaveProperty('rrn');
    rig.reachable = true;

    rig.printer.working = false;
    const pending = await rig.run(engine.sale(700));
    expect(engine.status({ stan: stanOf(pending) })).toMatchObject({ state: 'approved', receipt: 'pending' });
    rig.printer.working = true;

    const sale = await rig.run(engine.sale(800));
    await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }));
    expect(engine.status({ stan: stanOf(sale) })).toMatchObject({ txn: 'sale', state: 'voided', receipt: 'printed' });

    const pre = await rig.run(engine.preauth(900));
    await rig.run(engine.completion({ stan: stanOf(pre), amount: 900 }));
    // Used by its completion, a pre-authorization is still approved (only a sale becomes voided).
    expect(engine.status({ stan: stanOf(pre) })).toMatchObject({ txn: 'preauth', state: 'approved' });

    const flying = await inFlight(rig, 1_000);
    expect(engine.status({ stan: flying })).toEqual({ found: true, stan: flying, batch: 1, txn: 'sale', amount: 1_000, maskedPan: MASKED, state: 'in-flight', at: intentAt(rig, flying), receipt: 'none' });
    expect(engine.status({ last: true })).toMatchObject({ stan: flying });
  });

  it('a reversal owed, stuck, cleared and closed, with where it stands', async () => {
    const { rig, engine } = await booted({ refuseSalesWhileStuck: false }, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const stuck = await rig.run(engine.sale(4_200));
    const s = stanOf(stuck);
    expect(engine.status({ stan: s })).toStrictEqual({ found: true, stan: s, batch: 1, txn: 'sale', amount: 4_200, maskedPan: MASKED, state: 'reversal-stuck', at: intentAt(rig, s), receipt: 'none', reversal: { state: 'stuck', stan: s, reason: '98', attempts: 3 } });
    expect(await rig.run(engine.closeReversal({ stan: s, password: PASSWORD, reason: 'acquirer says no debit' }))).toEqual({ closed: true, detail: 'closed by supervisor' });
    expect(engine.status({ stan: s })).toMatchObject({ state: 'reversal-closed', reversal: { state: 'closed', stan: s, reason: '98', attempts: 3, closedReason: 'acquirer says no debit' } });

    rig.host.rules = { ...rig.host.rules, rules: [] };
    rig.cutOnWrite = { at: 'after-host', cut: () => rig.unplug() };
    const owed = await rig.run(engine.sale(4_300));
    const o = stanOf(owed);
    expect(engine.status({ stan: o })).toMatchObject({ state: 'reversal-pending', reversal: { state: 'pending', stan: o, reason: '98', attempts: 0 } });
    rig.reachable = true;
    await rig.run(engine.sendReversals());
    expect(engine.status({ stan: o })).toMatchObject({ state: 'reversed', reversal: { state: 'cleared', stan: o, reason: '98', attempts: 1, responseCode: '00' } });
  });
});

describe('the reversal list', () => {
  it('in the order the reversals were raised, across a STAN wrap, with kind, amount, card, reason, sends and stuck', async () => {
    const rig = new EngineRig({ rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, { when: { amount: 4_300, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const engine = await rig.start({ refuseSalesWhileStuck: false });
    await rig.journal.append([{ type: TerminalRecord.stanAllocated.name, payload: { stan: 999_997, purpose: 'sign-on', at: iso(rig) } }], { durable: true });
    await rig.run(engine.boot());
    const a = await rig.run(engine.sale(4_200));
    const b = await rig.run(engine.sale(4_300));
    expect([stanOf(a), stanOf(b)]).toEqual([999_999, 1]);
    const list = engine.reversals();
    expect(list.map((r) => r.stan)).toEqual([999_999, 1]);
    expect(list[1]).toEqual({ stan: 1, txn: 'sale', amount: 4_300, maskedPan: MASKED, reason: '98', attempts: 3, stuck: true });
    expect(list[0]).toMatchObject({ stan: 999_999, txn: 'sale', amount: 4_200, reason: '98', stuck: true });
    expect(engine.health()).toMatchObject({ stan: 1, pendingReversals: [1, 999_999], stuckReversals: [1, 999_999] });
  });
});

describe('health', () => {
  it('in flight, owed, stuck, receipts pending, totals and a failed journal, each in its place', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    await rig.run(engine.sale(1_000));
    rig.printer.working = false;
    const pending = await rig.run(engine.sale(2_000));
    const stuck = await rig.run(engine.sale(4_200));
    const flying = await inFlight(rig, 3_000);
    const h = engine.health();
    expect(h).toEqual({
      stan: flying,
      batch: 1,
      signedOn: true,
      inFlight: [flying],
      pendingReversals: [stanOf(stuck)],
      stuckReversals: [stanOf(stuck)],
      pendingReceipts: [stanOf(pending)],
      totals: { saleCount: 2, saleAmount: 3_000, refundCount: 0, refundAmount: 0, voidCount: 0, voidAmount: 0 },
      journalFailure: null,
      rollback: null,
    });
    // A copy: changing it changes nothing in the engine.
    h.totals.saleCount = 99;
    expect(engine.health().totals.saleCount).toBe(2);

    rig.disk.failNextSync();
    await rig.journal.append([{ type: TerminalRecord.stanAllocated.name, payload: { stan: flying + 1, purpose: 'sign-on', at: iso(rig) } }], { durable: true }).catch(() => undefined);
    const failure = engine.health().journalFailure;
    expect(typeof failure).toBe('string');
    expect(failure).toBe(String(rig.journal.failed));
    expect(failure!.length).toBeGreaterThan(0);
    rig.disk.clearFaults();
  });
});

describe('a repeated request id gets the first outcome back', () => {
  it('approved (receipt printed, then pending), declined, not sent: the stored result, nothing sent again', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 510 }, then: { action: 'decline', code: '51' } }] });
    const approved = await rig.run(engine.sale(1_000, { requestId: 'ok' }));
    expect(approved).toMatchObject({ kind: 'approved', receipt: 'printed' });
    expect(await rig.run(engine.sale(1_000, { requestId: 'ok' }))).toEqual({ ...approved, replayed: true });

    rig.printer.working = false;
    const pending = await rig.run(engine.sale(1_100, { requestId: 'slip' }));
    expect(pending).toMatchObject({ kind: 'approved', receipt: 'pending' });
    expect(await rig.run(engine.sale(1_100, { requestId: 'slip' }))).toEqual({ ...pending, replayed: true });
    rig.printer.recover();
    await rig.idle(2_000);
    expect(await rig.run(engine.sale(1_100, { requestId: 'slip' }))).toEqual({ ...pending, receipt: 'printed', replayed: true });

    const declined = await rig.run(engine.sale(510, { requestId: 'no' }));
    expect(await rig.run(engine.sale(510, { requestId: 'no' }))).toEqual({ kind: 'declined', txn: 'sale', stan: stanOf(declined), batch: 1, requestId: 'no', responseCode: '51', replayed: true });

    rig.unplug();
    const notSent = await rig.run(engine.sale(1_200, { requestId: 'ns' }));
    rig.reachable = true;
    expect(await rig.run(engine.sale(1_200, { requestId: 'ns' }))).toEqual({ kind: 'not-sent', txn: 'sale', stan: stanOf(notSent), batch: 1, requestId: 'ns', detail: 'nothing reached the acquirer', replayed: true });

    const balance = await rig.run(engine.balance({ requestId: 'bal' }));
    expect(balance).toMatchObject({ kind: 'approved', receipt: 'none' });
    // A balance answer carries no RRN or auth code: the replay has no authCode field at all.
    expect(await rig.run(engine.balance({ requestId: 'bal' }))).toStrictEqual({ kind: 'approved', txn: 'balance', stan: stanOf(balance), batch: 1, requestId: 'bal', amount: 0, maskedPan: MASKED, rrn: '', receipt: 'none', replayed: true });
    expect(rig.ledger('authorization')).toHaveLength(2);
  });

  it('reversed (cleared, then closed) and still in flight', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }] });
    const reversed = await rig.run(engine.sale(4_200, { requestId: 'rev' }));
    const s = stanOf(reversed);
    expect(await rig.run(engine.sale(4_200, { requestId: 'rev' }))).toEqual({
      kind: 'reversed', txn: 'sale', stan: s, batch: 1, requestId: 'rev', reason: '98', reversal: 'cleared', attempts: 1, reversalResponseCode: '00', detail: 'the terminal could not trust the result and reversed it', replayed: true,
    });

    const flying = await inFlight(rig, 3_000, 'fly');
    expect(await rig.run(engine.sale(3_000, { requestId: 'fly' }))).toEqual({ kind: 'unknown', txn: 'sale', stan: flying, batch: 1, requestId: 'fly', detail: 'still in flight: its outcome is decided when the terminal restarts', replayed: true });
  });

  it('a reversal a supervisor closed: its reason comes back with it', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const r = await rig.run(engine.sale(4_200, { requestId: 'closed' }));
    await rig.run(engine.closeReversal({ stan: stanOf(r), password: PASSWORD, reason: 'no debit at the acquirer' }));
    expect(await rig.run(engine.sale(4_200, { requestId: 'closed' }))).toEqual({
      kind: 'reversed', txn: 'sale', stan: stanOf(r), batch: 1, requestId: 'closed', reason: '98', reversal: 'closed', attempts: 3, closedReason: 'no debit at the acquirer', detail: 'the terminal could not trust the result and reversed it', replayed: true,
    });
  });
});

describe('a repeated request id on an operation that names an original', () => {
  const hostDate = (rig: EngineRig) => (rig.ledger('authorization').at(-1) as { date: string }).date;

  it('a completion, a pre-authorization void and a refund: the first outcome again, nothing sent twice', async () => {
    const { rig, engine } = await booted();
    const pre = await rig.run(engine.preauth(5_000));
    const completion = await rig.run(engine.completion({ stan: stanOf(pre), amount: 4_000, requestId: 'c-1' }));
    expect(completion).toMatchObject({ kind: 'approved', txn: 'preauth-completion', amount: 4_000, requestId: 'c-1' });
    expect(await rig.run(engine.completion({ stan: stanOf(pre), amount: 4_000, requestId: 'c-1' }))).toEqual({ ...completion, replayed: true });

    const held = await rig.run(engine.preauth(3_000));
    const released = await rig.run(engine.preauthVoid({ stan: stanOf(held), password: PASSWORD, requestId: 'pv-1' }));
    expect(released).toMatchObject({ kind: 'approved', txn: 'preauth-void', amount: 3_000, requestId: 'pv-1' });
    expect(await rig.run(engine.preauthVoid({ stan: stanOf(held), password: PASSWORD, requestId: 'pv-1' }))).toEqual({ ...released, replayed: true });

    const sale = await rig.run(engine.sale(8_000));
    const orig = { rrn: sale.kind === 'approved' ? sale.rrn : '', date: hostDate(rig), password: PASSWORD };
    const refund = await rig.run(engine.refund({ ...orig, amount: 2_000, requestId: 'r-1' }));
    expect(refund).toMatchObject({ kind: 'approved', txn: 'refund', amount: 2_000, requestId: 'r-1' });
    expect(await rig.run(engine.refund({ ...orig, amount: 2_000, requestId: 'r-1' }))).toEqual({ ...refund, replayed: true });

    const txns = (rig.ledger('authorization') as { txn: string; amount: string }[]).map((e) => [e.txn, Number(e.amount)]);
    expect(txns).toEqual([['preauth', 5_000], ['preauth-completion', 4_000], ['preauth', 3_000], ['preauth-void', 3_000], ['sale', 8_000], ['refund', 2_000]]);
  });
});

describe('reprint', () => {
  it('the newest approved slip, or one by STAN; a balance inquiry or a printer that fails is no reprint', async () => {
    const { rig, engine } = await booted();
    const a = await rig.run(engine.sale(100));
    const b = await rig.run(engine.sale(200));
    const bal = await rig.run(engine.balance());
    expect(await rig.run(engine.reprint({ last: true }))).toEqual({ kind: 'printed', stan: stanOf(b) });
    expect(rig.printer.jobs.at(-1)).toBe(`slip-1-${stanOf(b)}-dup`);
    expect(await rig.run(engine.reprint({ stan: stanOf(a) }))).toEqual({ kind: 'printed', stan: stanOf(a) });
    expect(rig.printer.jobs.at(-1)).toBe(`slip-1-${stanOf(a)}-dup`);
    expect(await rig.run(engine.reprint({ stan: stanOf(bal) }))).toEqual({ kind: 'not-found', detail: 'a balance inquiry prints no slip' });
    rig.printer.working = false;
    const printed = rig.records(TerminalRecord.receiptPrinted.name).length;
    expect(await rig.run(engine.reprint({ stan: stanOf(a) }))).toEqual({ kind: 'not-printed', stan: stanOf(a), reason: 'paper-end' });
    // A reprint that did not print owes nothing: the original slip was printed.
    expect(rig.records(TerminalRecord.receiptPrinted.name)).toHaveLength(printed);
    expect(rig.records(TerminalRecord.receiptNotPrinted.name)).toEqual([]);
    expect(engine.health().pendingReceipts).toEqual([]);
    expect(rig.events.at(-1)).toEqual({ type: 'receipt-pending', stan: stanOf(a), reason: 'paper-end' });
  });
});

describe('a reprint with no slip says why', () => {
  it('declined, never sent, in flight, reversed in each state, nothing kept: the words the cashier reads', async () => {
    const { rig, engine } = await booted({ refuseSalesWhileStuck: false }, { rules: [{ when: { amount: 510 }, then: { action: 'decline', code: '51' } }, { when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const why = async (stan: number) => rig.run(engine.reprint({ stan }));
    expect(await rig.run(engine.reprint({ last: true }))).toEqual({ kind: 'not-found', detail: 'no approved transaction with a slip is kept' });
    expect(await why(4_242)).toEqual({ kind: 'not-found', detail: 'no transaction with that STAN is kept' });
    const declined = await rig.run(engine.sale(510));
    expect(await why(stanOf(declined))).toEqual({ kind: 'not-found', detail: 'it was declined (response code 51): it has no slip' });
    rig.unplug();
    const notSent = await rig.run(engine.sale(600));
    expect(await why(stanOf(notSent))).toEqual({ kind: 'not-found', detail: 'it was never sent (nothing reached the acquirer): it has no slip' });
    rig.reachable = true;
    const stuck = await rig.run(engine.sale(4_200));
    expect(stuck).toMatchObject({ kind: 'reversed', reversal: 'stuck' });
    expect(await why(stanOf(stuck))).toEqual({ kind: 'not-found', detail: 'it failed and has no slip: its reversal is stuck (the acquirer has not confirmed it): call the acquirer' });
    await rig.run(engine.closeReversal({ stan: stanOf(stuck), password: PASSWORD, reason: 'acquirer says no debit' }));
    expect(await why(stanOf(stuck))).toEqual({ kind: 'not-found', detail: 'it failed and has no slip: its reversal was closed by a supervisor' });
    const flying = await inFlight(rig, 1_000);
    expect(await why(flying)).toEqual({ kind: 'not-found', detail: 'its outcome is not known yet: the terminal decides it when it restarts' });
    expect(rig.printer.jobs.filter((j) => j.startsWith('slip-'))).toEqual([]);
  });

  it('a reversal owed, then cleared', async () => {
    const { rig, engine } = await booted();
    // The reply lost with the line: the reversal cannot be sent yet.
    rig.cutOnWrite = { at: 'after-host', cut: () => rig.unplug() };
    const owed = await rig.run(engine.sale(4_300));
    expect(owed).toMatchObject({ kind: 'reversed' });
    expect(engine.status({ stan: stanOf(owed) })).toMatchObject({ reversal: { state: 'pending' } });
    expect(await rig.run(engine.reprint({ stan: stanOf(owed) }))).toEqual({ kind: 'not-found', detail: 'it failed and has no slip: its reversal is still owed; the card is not charged once the acquirer answers it' });
    rig.reachable = true;
    await rig.run(engine.sendReversals());
    expect(engine.status({ stan: stanOf(owed) })).toMatchObject({ reversal: { state: 'cleared' } });
    expect(await rig.run(engine.reprint({ stan: stanOf(owed) }))).toEqual({ kind: 'not-found', detail: 'it failed and has no slip: the acquirer confirmed its reversal, the card is not charged' });
  });
});

describe('closing a reversal', () => {
  it('only one owed, only with a reason and the password; recorded with the STAN, reason and time', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const r = await rig.run(engine.sale(4_200));
    const stan = stanOf(r);
    const asked = vi.spyOn(supervisor, 'verify');
    expect(await rig.run(engine.closeReversal({ stan: stan + 7, password: PASSWORD, reason: 'x' }))).toEqual({ closed: false, detail: `no reversal owed for STAN ${stan + 7}` });
    expect(await rig.run(engine.closeReversal({ stan, password: PASSWORD, reason: '  ' }))).toEqual({ closed: false, detail: 'a reason is required' });
    expect(asked).not.toHaveBeenCalled();
    expect(await rig.run(engine.closeReversal({ stan, password: 'x', reason: 'called' }))).toEqual({ closed: false, detail: 'wrong supervisor password' });
    expect(rig.records(TerminalRecord.reversalClosed.name)).toEqual([]);
    expect(await rig.run(engine.closeReversal({ stan, password: PASSWORD, reason: 'called' }))).toEqual({ closed: true, detail: 'closed by supervisor' });
    expect(asked.mock.calls).toEqual([['x', 'close-reversal'], [PASSWORD, 'close-reversal']]);
    expect(rig.records(TerminalRecord.reversalClosed.name).map((x) => x.payload)).toEqual([{ stan, reason: 'called', at: iso(rig) }]);
    expect(engine.reversals()).toEqual([]);
  });
});

describe('closing one of two owed reversals', () => {
  it('keeps the other on its backoff, and the closing survives a power cut', async () => {
    const { rig } = await booted();
    const a = await inFlight(rig, 1_100);
    const b = await inFlight(rig, 1_200);
    rig.engine.stop();
    rig.link.close();
    await rig.journal.close();
    let engine = await rig.start();
    rig.unplug();
    expect(await rig.run(engine.boot())).toMatchObject({ reversalsRaised: [a, b], signedOn: false, reversalsCleared: [] });
    const scheduled = () => rig.events.filter((e) => e.type === 'reversal-round-scheduled');
    const rounds = scheduled().length;
    expect(await rig.run(engine.closeReversal({ stan: a, password: PASSWORD, reason: 'no debit at the acquirer' }))).toEqual({ closed: true, detail: 'closed by supervisor' });
    // One still owed: its round stays where it was, not pushed a backoff further.
    expect(scheduled()).toHaveLength(rounds);
    rig.disk.crash(createRng(5), 'drop');
    rig.link.close();
    engine.stop();
    engine = await rig.start();
    expect(engine.reversals().map((r) => r.stan)).toEqual([b]);
    expect(engine.status({ stan: a })).toMatchObject({ state: 'reversal-closed', reversal: { state: 'closed', closedReason: 'no debit at the acquirer' } });
  });
});

describe('planted bug (g), test-only: a late approval believed', () => {
  it('only a late 0210 approving a STAN still owed closes its reversal, durably', async () => {
    const { rig, engine } = await booted({ plantedBugs: { lateReplyRevivesSale: true } }, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const r = await rig.run(engine.sale(4_200));
    const stan = stanOf(r);
    const s6 = String(stan).padStart(6, '0');
    for (const other of [{ mti: '0110', stan: s6, responseCode: '00' }, { mti: '0210', stan: s6, responseCode: '05' }, { mti: '0210', stan: String(stan + 1).padStart(6, '0'), responseCode: '00' }]) {
      engine.linkEvent({ type: 'stray-response', reason: 'late', ...other });
    }
    await rig.idle(1_000);
    expect(rig.records(TerminalRecord.reversalClosed.name)).toEqual([]);
    const at = iso(rig);
    engine.linkEvent({ type: 'stray-response', reason: 'late', mti: '0210', stan: s6, responseCode: '00' });
    await rig.idle(1_000);
    expect(rig.records(TerminalRecord.reversalClosed.name).map((x) => x.payload)).toEqual([{ stan, reason: 'planted bug: late approval believed', at }]);
    rig.disk.crash(createRng(5), 'drop');
    rig.link.close();
    engine.stop();
    expect((await rig.start()).reversals()).toEqual([]);
  });

  it('a stopped engine believes nothing', async () => {
    const { rig, engine } = await booted({ plantedBugs: { lateReplyRevivesSale: true } }, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const stan = stanOf(await rig.run(engine.sale(4_200)));
    engine.stop();
    engine.linkEvent({ type: 'stray-response', reason: 'late', mti: '0210', stan: String(stan).padStart(6, '0'), responseCode: '00' });
    await rig.idle(1_000);
    expect(rig.records(TerminalRecord.reversalClosed.name)).toEqual([]);
  });
});

describe('late replies', () => {
  it('a late reply is logged with its MTI, STAN and code and never acted on; other stray replies are not logged', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const r = await rig.run(engine.sale(4_200));
    const stan = stanOf(r);
    const s6 = String(stan).padStart(6, '0');
    const records = rig.records().length;
    rig.events.length = 0;
    engine.linkEvent({ type: 'stray-response', reason: 'late', mti: '0210', stan: s6, responseCode: '00' });
    engine.linkEvent({ type: 'stray-response', reason: 'late', mti: '0210', stan: 'abc' });
    engine.linkEvent({ type: 'stray-response', reason: 'duplicate', mti: '0210', stan: s6, responseCode: '00' });
    engine.linkEvent({ type: 'stray-response', reason: 'unmatched', mti: '0210', stan: s6 });
    engine.linkEvent({ type: 'connected' });
    await rig.idle(1_000);
    expect(rig.events.filter((e) => e.type === 'late-reply-ignored')).toStrictEqual([
      { type: 'late-reply-ignored', mti: '0210', stan, responseCode: '00' },
      { type: 'late-reply-ignored', mti: '0210' },
    ]);
    expect(rig.records().length).toBe(records);
    expect(engine.health().stuckReversals).toEqual([stan]);
  });
});

describe('after the STAN counter comes round', () => {
  it("a completion of an earlier batch's pre-authorization uses up that one, not a newer sale with its STAN", async () => {
    const { rig, engine } = await booted();
    const pre = await rig.run(engine.preauth(5_000));
    await rig.run(rig.settlement.settle());
    // A terminal in service for years: the counter reaches 999,999 and starts again at 1.
    await rig.journal.append([{ type: TerminalRecord.stanAllocated.name, payload: { stan: 999_999, purpose: 'sign-on', at: iso(rig) } }], { durable: true });
    let twin: TxnResult | undefined;
    for (let i = 0; i < 5 && (twin === undefined || stanOf(twin) !== stanOf(pre)); i++) twin = await rig.run(engine.sale(200 + i));
    expect(stanOf(twin!)).toBe(stanOf(pre));
    expect(engine.status({ stan: stanOf(pre) })).toMatchObject({ batch: 2, txn: 'sale' });

    expect(await rig.run(engine.completion({ stan: stanOf(pre), batch: 1, amount: 4_000 }))).toMatchObject({ kind: 'approved', txn: 'preauth-completion' });
    // The pre-authorization is used up: a second completion is refused by the terminal itself ...
    expect(await rig.run(engine.completion({ stan: stanOf(pre), batch: 1, amount: 4_000 }))).toMatchObject({ kind: 'refused', reason: 'original-not-voidable' });
    // ... and the newer sale with the same STAN is still the cashier's to void.
    expect(await rig.run(engine.void({ stan: stanOf(twin!), password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'void' });
  });
});
