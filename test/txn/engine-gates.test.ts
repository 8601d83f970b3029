// What the engine refuses before anything is at stake, word for word: amounts, a refund's RRN and date,
// the supervisor, the original a void or completion names, a request id, the rollback alarm, a stuck
// reversal, a failed sign-on and a full batch. Each refusal reads no card, journals nothing and sends
// nothing — and the first request past each gate does go out (so a gate that refuses too much fails too).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RollbackAnchor } from '../../firmware-ts/txn/rollback-anchor.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import type { TxnResult } from '../../firmware-ts/txn/engine-api.js';
import { EngineRig, HOST_IGNORES_REVERSALS, PASSWORD, supervisor } from './engine-rig.js';
import { describeOneTxn } from '../../firmware-ts/cli/terminal-commands.js';

async function booted(opts: Parameters<EngineRig['start']>[0] = {}, rules: ConstructorParameters<typeof EngineRig>[0] = {}) {
  const rig = new EngineRig(rules);
  const engine = await rig.start(opts);
  expect((await rig.run(engine.boot())).signedOn).toBe(true);
  return { rig, engine };
}

/** What a refusal must leave untouched: no card read, no record, no request at the acquirer. */
function untouched(rig: EngineRig) {
  return { reads: rig.reader.reads, records: rig.records().length, host: rig.host.state.entries.length };
}

const refusal = (txn: string, reason: string, detail: string) => ({ kind: 'refused', txn, reason, detail });
const stanOf = (r: TxnResult) => (r.kind === 'refused' ? -1 : r.stan);
const rrnOf = (r: TxnResult) => (r.kind === 'approved' ? r.rrn : '');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('amounts', () => {
  it('a sale, pre-authorization or refund of no fen, a fraction, a negative or more than 12 digits is refused before the card is read', async () => {
    const { rig, engine } = await booted();
    const before = untouched(rig);
    const words = 'amount must be a positive whole number of fen';
    for (const amount of [0, -1, 1.5, 1_000_000_000_000, Number.NaN]) {
      expect(await rig.run(engine.sale(amount)), String(amount)).toEqual(refusal('sale', 'invalid-amount', words));
    }
    expect(await rig.run(engine.preauth(0))).toEqual(refusal('preauth', 'invalid-amount', words));
    // The amount is checked before the supervisor is asked.
    const asked = vi.spyOn(supervisor, 'verify');
    expect(await rig.run(engine.refund({ rrn: '000000000001', date: '0101', amount: 0, password: PASSWORD }))).toEqual(refusal('refund', 'invalid-amount', words));
    expect(asked).not.toHaveBeenCalled();
    expect(untouched(rig)).toEqual(before);
    // The largest amount field 4 carries and the smallest one both go out (the host declines the first: 51).
    expect(await rig.run(engine.sale(999_999_999_999))).toMatchObject({ kind: 'declined', responseCode: '51' });
    expect(await rig.run(engine.sale(1))).toMatchObject({ kind: 'approved', amount: 1 });
    expect(rig.reader.reads).toBe(2);
  });

  it('a balance inquiry has no amount to check, and its intent and request carry none', async () => {
    const { rig, engine } = await booted();
    expect(await rig.run(engine.balance())).toMatchObject({ kind: 'approved', txn: 'balance', amount: 0 });
    const intent = rig.records(TerminalRecord.authIntent.name).at(-1)!.payload as { amount: number; reversalImage: Record<string, string> };
    expect(intent.amount).toBe(0);
    expect(intent.reversalImage['4']).toBeUndefined();
  });
});

describe("a refund of this terminal's own sale", () => {
  const hostRrn = (rig: EngineRig) => (rig.ledger('authorization').at(-1) as { rrn: string }).rrn;
  const hostDate = (rig: EngineRig) => (rig.ledger('authorization').at(-1) as { date: string }).date;

  it('a reversed or voided sale has no money to return: refused before the card is read', async () => {
    const { rig, engine } = await booted();
    // Approved by the host, refused by the chip (06): reversed, the host's RRN known to the terminal.
    rig.reader.entryMode = 'chip';
    rig.reader.chipReversal = '06';
    expect(await rig.run(engine.sale(3_100))).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    const reversed = { rrn: hostRrn(rig), date: hostDate(rig) };
    rig.reader.chipReversal = undefined;
    const sale = await rig.run(engine.sale(1_000));
    const voided = await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }));
    expect(voided).toMatchObject({ kind: 'approved', txn: 'void' });
    const before = untouched(rig);
    expect(await rig.run(engine.refund({ ...reversed, amount: 100, password: PASSWORD }))).toEqual(refusal('refund', 'original-not-refundable', `the sale with RRN ${reversed.rrn} is reversed: no money of it to return`));
    expect(await rig.run(engine.refund({ rrn: rrnOf(sale), date: '0101', amount: 100, password: PASSWORD }))).toEqual(refusal('refund', 'original-not-refundable', `the sale with RRN ${rrnOf(sale)} is voided (used by STAN ${stanOf(voided)}): no money of it to return`));
    expect(untouched(rig)).toEqual(before);
  });

  it('status of a sale names what its refunds gave back (it read APPROVED after a refund in full)', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(8_000));
    expect(engine.status({ stan: stanOf(sale) })).not.toHaveProperty('refunded');
    const orig = { rrn: rrnOf(sale), date: hostDate(rig), password: PASSWORD };
    expect(await rig.run(engine.refund({ ...orig, amount: 3_000 }))).toMatchObject({ kind: 'approved', txn: 'refund' });
    expect(engine.status({ stan: stanOf(sale) })).toMatchObject({ state: 'approved', refunded: { amount: 3_000, unconfirmed: 0 } });
    const words = describeOneTxn(engine.status({ rrn: rrnOf(sale) }) as unknown as Record<string, unknown>);
    expect(words).toMatch(/: APPROVED rrn=\d+ receipt=\w+, then refunded 30\.00$/);
    expect(await rig.run(engine.refund({ ...orig, amount: 5_000 }))).toMatchObject({ kind: 'approved', txn: 'refund' });
    expect(describeOneTxn(engine.status({ stan: stanOf(sale) }) as unknown as Record<string, unknown>)).toContain(', then refunded 80.00 (in full)');
  });

  it('never more than the sale less what its refunds returned; a reversed refund gives its part back', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(8_000));
    const orig = { rrn: rrnOf(sale), date: hostDate(rig), password: PASSWORD };
    expect(await rig.run(engine.refund({ ...orig, amount: 3_000 }))).toMatchObject({ kind: 'approved', txn: 'refund' });
    let before = untouched(rig);
    expect(await rig.run(engine.refund({ ...orig, amount: 5_001 }))).toEqual(refusal('refund', 'invalid-amount', 'refund amount must be 0.01..50.00 (the sale 80.00, 30.00 already refunded)'));
    expect(untouched(rig)).toEqual(before);
    // A refund whose reply is lost is reversed: it returned nothing, so its 2000 may be refunded again.
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { amount: 2_000, mti: '0220' }, then: { action: 'drop-reply' } }] };
    const lost = await rig.run(engine.refund({ ...orig, amount: 2_000 }));
    rig.host.rules = { ...rig.host.rules, rules: [] };
    expect(lost).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    expect(await rig.run(engine.refund({ ...orig, amount: 5_000 }))).toMatchObject({ kind: 'approved', txn: 'refund', amount: 5_000 });
    before = untouched(rig);
    expect(await rig.run(engine.refund({ ...orig, amount: 1 }))).toEqual(refusal('refund', 'invalid-amount', `the sale with RRN ${orig.rrn} is refunded in full`));
    expect(untouched(rig)).toEqual(before);
    expect(rig.violations()).toEqual([]);
  });
});

describe("a void of a sale partly refunded", () => {
  const hostDate = (rig: EngineRig) => (rig.ledger('authorization').at(-1) as { date: string }).date;

  it('is refused: the void would return the refunded part to the card a second time', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(8_000));
    const orig = { rrn: rrnOf(sale), date: hostDate(rig), password: PASSWORD };
    expect(await rig.run(engine.refund({ ...orig, amount: 3_000 }))).toMatchObject({ kind: 'approved', txn: 'refund' });
    const before = untouched(rig);
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }))).toEqual(
      refusal('void', 'original-not-voidable', `the sale with STAN ${stanOf(sale)} has 30.00 refunded: a void would return the whole 80.00 again; refund the rest (50.00) instead`),
    );
    expect(untouched(rig)).toEqual(before);
    // The rest goes back as a refund; then the sale is refunded in full and still not voidable.
    expect(await rig.run(engine.refund({ ...orig, amount: 5_000 }))).toMatchObject({ kind: 'approved', txn: 'refund' });
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }))).toEqual(
      refusal('void', 'original-not-voidable', `the sale with STAN ${stanOf(sale)} has 80.00 refunded: a void would return the whole 80.00 again; it is refunded in full`),
    );
    // What the acquirer holds: one debit of 8000 and credits of exactly 8000.
    const entries = rig.ledger('authorization') as { txn: string; amount: string }[];
    expect(entries.map((e) => [e.txn, Number(e.amount)])).toEqual([['sale', 8_000], ['refund', 3_000], ['refund', 5_000]]);
    expect(rig.violations()).toEqual([]);
  });

  it('a refund whose reversal was answered gives its part back; the sale is voidable again', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(8_000));
    const orig = { rrn: rrnOf(sale), date: hostDate(rig), password: PASSWORD };
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { amount: 2_000, mti: '0220' }, then: { action: 'drop-reply' } }] };
    expect(await rig.run(engine.refund({ ...orig, amount: 2_000 }))).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    rig.host.rules = { ...rig.host.rules, rules: [] };
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'void', amount: 8_000 });
    expect(rig.violations()).toEqual([]);
  });
});

describe('a refund whose reversal the acquirer never answered', () => {
  const hostDate = (rig: EngineRig) => (rig.ledger('authorization').at(-1) as { date: string }).date;

  it('still counts against the sale while the reversal is stuck and after a supervisor closes it: its credit may stand', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 6_000, mti: '0220' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const sale = await rig.run(engine.sale(8_000));
    const orig = { rrn: rrnOf(sale), date: hostDate(rig), password: PASSWORD };
    const lost = await rig.run(engine.refund({ ...orig, amount: 6_000 }));
    expect(lost).toMatchObject({ kind: 'reversed', reversal: 'stuck' });
    const words = 'refund amount must be 0.01..20.00 (the sale 80.00, 60.00 already refunded, 60.00 of it in refunds whose reversal the acquirer has not confirmed)';
    let before = untouched(rig);
    expect(await rig.run(engine.refund({ ...orig, amount: 2_001 }))).toEqual(refusal('refund', 'invalid-amount', words));
    expect(untouched(rig)).toEqual(before);
    expect(await rig.run(engine.closeReversal({ stan: stanOf(lost), password: PASSWORD, reason: 'host down for a week' }))).toMatchObject({ closed: true });
    before = untouched(rig);
    expect(await rig.run(engine.refund({ ...orig, amount: 2_001 }))).toEqual(refusal('refund', 'invalid-amount', words));
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }))).toEqual(
      refusal('void', 'original-not-voidable', `the sale with STAN ${stanOf(sale)} has 60.00 refunded, 60.00 of it in refunds whose reversal the acquirer has not confirmed: a void would return the whole 80.00 again; refund the rest (20.00) instead`),
    );
    expect(untouched(rig)).toEqual(before);
    expect(await rig.run(engine.refund({ ...orig, amount: 2_000 }))).toMatchObject({ kind: 'approved', txn: 'refund' });
  });
});

describe("a refund's RRN and original date", () => {
  const words = 'refund needs a 12-character RRN and the original date as MMDD';
  it('anything but 12 letters or digits, or a date that is not MMDD, is refused before the supervisor is asked', async () => {
    const { rig, engine } = await booted();
    const asked = vi.spyOn(supervisor, 'verify');
    const bad: [string, string][] = [
      ['12345678901', '0101'],
      ['1234567890123', '0101'],
      ['-12345678901', '0101'],
      ['12345678901-', '0101'],
      ['12345 678901', '0101'],
      ['', '0101'],
      ['123456789012', '0001'],
      ['123456789012', '1301'],
      ['123456789012', '2001'],
      ['123456789012', '0100'],
      ['123456789012', '0132'],
      ['123456789012', '0140'],
      ['123456789012', '101'],
      ['123456789012', '01011'],
      ['123456789012', 'x0101'],
      ['123456789012', '0101x'],
      ['123456789012', '01-1'],
      ['123456789012', ''],
    ];
    for (const [rrn, date] of bad) {
      expect(await rig.run(engine.refund({ rrn, date, amount: 100, password: PASSWORD })), `${rrn} ${date}`).toEqual(refusal('refund', 'original-not-found', words));
    }
    expect(asked).not.toHaveBeenCalled();
  });

  it('every well-formed RRN and date reaches the supervisor check', async () => {
    const { rig, engine } = await booted();
    const asked = vi.spyOn(supervisor, 'verify');
    const good: [string, string][] = [
      ['123456789012', '0101'],
      ['abcdefghijkl', '1231'],
      ['ABCDEFGHIJKL', '1019'],
      ['a1B2c3D4e5F6', '0930'],
      ['zZ09zZ09zZ09', '1120'],
      ['000000000000', '0229'],
      ['999999999999', '0310'],
    ];
    for (const [rrn, date] of good) {
      expect(await rig.run(engine.refund({ rrn, date, amount: 100, password: 'not-it' })), `${rrn} ${date}`).toEqual(refusal('refund', 'supervisor-refused', 'wrong supervisor password'));
    }
    expect(asked.mock.calls).toEqual(good.map(() => ['not-it', 'refund']));
  });
});

describe('the supervisor', () => {
  it('a void, a pre-authorization void and a refund ask for their purpose and are refused with its words', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(1_000));
    const pre = await rig.run(engine.preauth(2_000));
    const before = untouched(rig);
    const asked = vi.spyOn(supervisor, 'verify');
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: 'x' }))).toEqual(refusal('void', 'supervisor-refused', 'wrong supervisor password'));
    expect(await rig.run(engine.preauthVoid({ stan: stanOf(pre), password: 'x' }))).toEqual(refusal('preauth-void', 'supervisor-refused', 'wrong supervisor password'));
    expect(await rig.run(engine.refund({ rrn: rrnOf(sale), date: '0101', amount: 10, password: 'x' }))).toEqual(refusal('refund', 'supervisor-refused', 'wrong supervisor password'));
    expect(asked.mock.calls).toEqual([['x', 'void'], ['x', 'void'], ['x', 'refund']]);
    expect(untouched(rig)).toEqual(before);
  });

  it('the password is checked before the original is looked up', async () => {
    const { rig, engine } = await booted();
    expect(await rig.run(engine.void({ stan: 4_242, password: 'x' }))).toMatchObject({ reason: 'supervisor-refused' });
    expect(await rig.run(engine.preauthVoid({ stan: 4_242, password: 'x' }))).toMatchObject({ reason: 'supervisor-refused' });
  });
});

describe('the original a void or completion names', () => {
  it('none with that STAN, or one of another kind: not found, nothing sent', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(1_000));
    const pre = await rig.run(engine.preauth(2_000));
    const before = untouched(rig);
    expect(await rig.run(engine.void({ stan: 4_242, password: PASSWORD }))).toEqual(refusal('void', 'original-not-found', 'no sale with that STAN'));
    expect(await rig.run(engine.void({ stan: stanOf(pre), password: PASSWORD }))).toEqual(refusal('void', 'original-not-found', 'no sale with that STAN'));
    expect(await rig.run(engine.completion({ stan: stanOf(sale), amount: 100 }))).toEqual(refusal('preauth-completion', 'original-not-found', 'no preauth with that STAN'));
    expect(await rig.run(engine.completion({ stan: 4_242, amount: 100 }))).toEqual(refusal('preauth-completion', 'original-not-found', 'no preauth with that STAN'));
    expect(await rig.run(engine.preauthVoid({ stan: stanOf(sale), password: PASSWORD }))).toEqual(refusal('preauth-void', 'original-not-found', 'no preauth with that STAN'));
    // A batch other than the open one holds no such pre-authorization.
    expect(await rig.run(engine.completion({ stan: stanOf(pre), batch: 2, amount: 100 }))).toEqual(refusal('preauth-completion', 'original-not-found', 'no preauth with that STAN'));
    expect(await rig.run(engine.preauthVoid({ stan: stanOf(pre), batch: 2, password: PASSWORD }))).toEqual(refusal('preauth-void', 'original-not-found', 'no preauth with that STAN'));
    expect(untouched(rig)).toEqual(before);
    // Named with its batch, it is found.
    expect(await rig.run(engine.completion({ stan: stanOf(pre), batch: 1, amount: 2_000 }))).toMatchObject({ kind: 'approved', txn: 'preauth-completion', amount: 2_000 });
  });

  it('declined, reversed or already used: not voidable, and the words say which', async () => {
    const { rig, engine } = await booted({}, { rules: [{ when: { amount: 510 }, then: { action: 'decline', code: '51' } }, { when: { amount: 980, mti: '0200' }, then: { action: 'drop-reply' } }] });
    const declined = await rig.run(engine.sale(510));
    const reversed = await rig.run(engine.sale(980));
    expect(reversed).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    const sale = await rig.run(engine.sale(1_000));
    const voided = await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }));
    const pre = await rig.run(engine.preauth(3_000));
    const done = await rig.run(engine.completion({ stan: stanOf(pre), amount: 1_000 }));
    const before = untouched(rig);
    expect(await rig.run(engine.void({ stan: stanOf(declined), password: PASSWORD }))).toEqual(refusal('void', 'original-not-voidable', 'the sale is declined'));
    expect(await rig.run(engine.void({ stan: stanOf(reversed), password: PASSWORD }))).toEqual(refusal('void', 'original-not-voidable', 'the sale is reversed'));
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }))).toEqual(refusal('void', 'original-not-voidable', `the sale is voided (used by STAN ${stanOf(voided)})`));
    expect(await rig.run(engine.completion({ stan: stanOf(pre), amount: 1_000 }))).toEqual(refusal('preauth-completion', 'original-not-voidable', `the preauth is approved (used by STAN ${stanOf(done)})`));
    expect(await rig.run(engine.preauthVoid({ stan: stanOf(pre), password: PASSWORD }))).toEqual(refusal('preauth-void', 'original-not-voidable', `the preauth is approved (used by STAN ${stanOf(done)})`));
    expect(untouched(rig)).toEqual(before);
  });

  it('a completion is for 0.01 up to the pre-authorized amount', async () => {
    const { rig, engine } = await booted();
    const pre = await rig.run(engine.preauth(3_000));
    const before = untouched(rig);
    for (const amount of [0, -5, 3_001]) {
      expect(await rig.run(engine.completion({ stan: stanOf(pre), amount })), String(amount)).toEqual(refusal('preauth-completion', 'invalid-amount', 'completion amount must be 0.01..30.00'));
    }
    expect(untouched(rig)).toEqual(before);
    expect(await rig.run(engine.completion({ stan: stanOf(pre), amount: 3_000 }))).toMatchObject({ kind: 'approved', amount: 3_000 });
    const small = await rig.run(engine.preauth(500));
    expect(await rig.run(engine.completion({ stan: stanOf(small), amount: 1 }))).toMatchObject({ kind: 'approved', amount: 1 });
  });

  it("a void of a sale in a settled batch says to refund it, with the sale's RRN", async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(1_000));
    await rig.run(rig.settlement.settle());
    const before = untouched(rig);
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }))).toEqual(
      refusal('void', 'original-not-voidable', `the sale with STAN ${stanOf(sale)} is in settled batch 1: use refund (退货) with RRN ${rrnOf(sale)}`),
    );
    expect(untouched(rig)).toEqual(before);
  });

  it('after the STAN wrapped, a void names the open batch\'s sale, not a settled one with the same STAN', async () => {
    // A counter that walks the STAN round the wrap at each sign-on (each move a rollback alarm, acknowledged).
    let last: number | undefined;
    const walk: RollbackAnchor = { name: 'walk', evidence: async () => (last === undefined ? null : { anchor: 'walk', last: { batch: 2, stan: last }, detail: 'test walk' }) };
    const { rig, engine } = await booted({ anchors: [walk] });
    const old = await rig.run(engine.sale(1_000));
    await rig.run(rig.settlement.settle());
    for (const stan of [400_000, 800_000, 999_900]) {
      last = stan;
      expect(await rig.run(engine.signOn())).toBe(true);
      expect(await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: 'walking the STAN' }))).toMatchObject({ acknowledged: true });
    }
    last = undefined;
    const sale = await rig.run(engine.sale(2_000));
    expect(sale).toMatchObject({ kind: 'approved', batch: 2, stan: stanOf(old) });
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'void', amount: 2_000 });
  });
});

describe('request ids', () => {
  it('one used for another kind, amount or original is refused naming what it was used for; a malformed one before anything', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(1_000, { requestId: 'a-1' }));
    const voided = await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD, requestId: 'v-1' }));
    expect(voided).toMatchObject({ kind: 'approved', txn: 'void', requestId: 'v-1' });
    const before = untouched(rig);
    const reused = (txn: string, id: string, what: string) => ({ ...refusal(txn, 'request-id-reused', `request id ${id} was used for ${what}: a new operation needs a new id`), requestId: id });
    const s = String(stanOf(sale)).padStart(6, '0');
    const v = String(stanOf(voided)).padStart(6, '0');
    expect(await rig.run(engine.preauth(1_000, { requestId: 'a-1' }))).toEqual(reused('preauth', 'a-1', `sale 10.00 (STAN ${s})`));
    expect(await rig.run(engine.sale(1_001, { requestId: 'a-1' }))).toEqual(reused('sale', 'a-1', `sale 10.00 (STAN ${s})`));
    expect(await rig.run(engine.balance({ requestId: 'a-1' }))).toEqual(reused('balance', 'a-1', `sale 10.00 (STAN ${s})`));
    expect(await rig.run(engine.void({ stan: stanOf(sale) + 1, password: PASSWORD, requestId: 'v-1' }))).toEqual(reused('void', 'v-1', `void 10.00 (STAN ${v})`));
    expect(await rig.run(engine.refund({ rrn: rrnOf(sale), date: '0101', amount: 1_000, password: PASSWORD, requestId: 'v-1' }))).toEqual(reused('refund', 'v-1', `void 10.00 (STAN ${v})`));
    expect(await rig.run(engine.sale(1_000, { requestId: 'x'.repeat(65) }))).toEqual({ ...refusal('sale', 'invalid-request-id', 'a request id is 1..64 characters'), requestId: 'x'.repeat(65) });
    expect(untouched(rig)).toEqual(before);
    // The same void under its id again is its first outcome, not a refusal (a void names no amount).
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD, requestId: 'v-1' }))).toEqual({ ...voided, replayed: true });
    expect(untouched(rig)).toEqual(before);
  });
});

describe('the rollback alarm', () => {
  const anchor: RollbackAnchor = { name: 'rpmb', evidence: async () => ({ anchor: 'rpmb counter', last: { batch: 1, stan: 500 }, detail: 'the monotonic counter is at STAN 500' }) };

  it('refuses every money operation with what moved where, until a supervisor acknowledges with a reason', async () => {
    const rig = new EngineRig();
    const engine = await rig.start({ anchors: [anchor] });
    await rig.run(engine.boot());
    const alarm = engine.health().rollback!;
    const words = `the journal is behind what this terminal has used (${alarm.detail}): restored from an older copy or lost its newest records; STAN moved to ${String(alarm.after.stan).padStart(6, '0')} and batch to 000001. Transactions the journal lost (sales, owed reversals) may stand at the acquirer: check its ledger, then posj supervisor ack-rollback`;
    const before = untouched(rig);
    expect(await rig.run(engine.sale(100))).toEqual(refusal('sale', 'journal-rolled-back', words));
    expect(await rig.run(engine.balance())).toEqual(refusal('balance', 'journal-rolled-back', words));
    expect(untouched(rig)).toEqual(before);
    expect(await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: ' \t' }))).toEqual({ acknowledged: false, detail: 'a reason is required' });
    expect(await rig.run(engine.acknowledgeRollback({ password: 'x', reason: 'checked the ledger' }))).toEqual({ acknowledged: false, detail: 'wrong supervisor password' });
    expect(rig.records(TerminalRecord.anchorAcknowledged.name)).toEqual([]);
    const asked = vi.spyOn(supervisor, 'verify');
    expect(await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: 'checked the ledger' }))).toEqual({ acknowledged: true, detail: 'rollback alarm acknowledged by supervisor' });
    expect(asked.mock.calls).toEqual([[PASSWORD, 'acknowledge-rollback']]);
    expect(rig.records(TerminalRecord.anchorAcknowledged.name).map((r) => r.payload)).toEqual([{ reason: 'checked the ledger', at: new Date(rig.clock.now()).toISOString() }]);
    expect(engine.health().rollback).toBeNull();
    expect(await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: 'again' }))).toEqual({ acknowledged: false, detail: 'no rollback alarm is raised' });
    expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved' });
  });
});

describe('a stuck reversal', () => {
  async function stuckRig(refuseSalesWhileStuck = true) {
    const { rig, engine } = await booted({ refuseSalesWhileStuck }, { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] });
    const r = await rig.run(engine.sale(4_200));
    expect(r).toMatchObject({ kind: 'reversed', reversal: 'stuck', attempts: 3 });
    return { rig, engine, stan: stanOf(r) };
  }

  it('refuses new debits naming the STAN, kind, amount and sends, before any reversal is sent again', async () => {
    const { rig, engine, stan } = await stuckRig();
    const before = untouched(rig);
    const words = `reversal stuck: STAN ${String(stan).padStart(6, '0')} (sale 42.00, 3 sends unanswered) — the cardholder may be debited until the acquirer answers it; new debits wait until it is answered or a supervisor closes it`;
    expect(await rig.run(engine.sale(100))).toEqual(refusal('sale', 'reversal-stuck', words));
    expect(await rig.run(engine.preauth(100))).toEqual(refusal('preauth', 'reversal-stuck', words));
    expect(untouched(rig)).toEqual(before);
  });

  it('does not hold back what debits nobody: a balance inquiry and a refund still go (after the owed reversal is tried)', async () => {
    const { rig, engine, stan } = await stuckRig();
    const attempts = rig.records(TerminalRecord.reversalAttempt.name).length;
    expect(await rig.run(engine.balance())).toMatchObject({ kind: 'approved', txn: 'balance' });
    expect(await rig.run(engine.refund({ rrn: '000000009999', date: '0315', amount: 100, password: PASSWORD }))).toMatchObject({ txn: 'refund' });
    expect(rig.records(TerminalRecord.reversalAttempt.name).length).toBeGreaterThan(attempts);
    expect(engine.health().stuckReversals).toEqual([stan]);
  });

  it('with refusing switched off, a sale goes out after the round', async () => {
    const { rig, engine, stan } = await stuckRig(false);
    expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved' });
    expect(engine.health().stuckReversals).toEqual([stan]);
  });

  it('a reversal the pre-sale round makes stuck refuses the sale it held back: no card read, no request', async () => {
    const { rig, engine } = await booted({ preSaleBudgetMs: 60_000 });
    rig.cutOnWrite = { at: 'after-host', cut: () => rig.unplug() };
    const r = await rig.run(engine.sale(4_200));
    expect(r).toMatchObject({ kind: 'reversed', reversal: 'pending' });
    expect(engine.health().stuckReversals).toEqual([]);
    // Back, but the host answers every send without acting: the round before the sale spends its sends.
    rig.reachable = true;
    rig.host.rules = { ...rig.host.rules, rules: [...HOST_IGNORES_REVERSALS] };
    const reads = rig.reader.reads;
    const sales = rig.ledger('authorization').length;
    const words = `reversal stuck: STAN ${String(stanOf(r)).padStart(6, '0')} (sale 42.00, 3 sends unanswered) — the cardholder may be debited until the acquirer answers it; new debits wait until it is answered or a supervisor closes it`;
    expect(await rig.run(engine.sale(100))).toEqual(refusal('sale', 'reversal-stuck', words));
    expect(engine.health().stuckReversals).toEqual([stanOf(r)]);
    expect(rig.reader.reads).toBe(reads);
    expect(rig.ledger('authorization')).toHaveLength(sales);
  });

  it('two stuck: the refusal names each, oldest first', async () => {
    const { rig, engine, stan } = await stuckRig();
    // A refund still goes while a debit's reversal is stuck; its own reply lost, its reversal is stuck too.
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { amount: 4_300, mti: '0220' }, then: { action: 'drop-reply' } }, ...HOST_IGNORES_REVERSALS] };
    const refund = await rig.run(engine.refund({ rrn: '000000009999', date: '0315', amount: 4_300, password: PASSWORD }));
    expect(refund).toMatchObject({ kind: 'reversed', txn: 'refund', reversal: 'stuck' });
    const sends = Object.fromEntries(engine.reversals().map((x) => [x.stan, x.attempts]));
    const s6 = (n: number) => String(n).padStart(6, '0');
    const words = `reversal stuck: STAN ${s6(stan)} (sale 42.00, ${sends[stan]} sends unanswered), STAN ${s6(stanOf(refund))} (refund 43.00, ${sends[stanOf(refund)]} sends unanswered) — the cardholder may be debited until the acquirer answers it; new debits wait until it is answered or a supervisor closes it`;
    expect(await rig.run(engine.sale(100))).toEqual(refusal('sale', 'reversal-stuck', words));
  });

  it('a reversal owed but not stuck is sent first and does not refuse the sale', async () => {
    const { rig, engine } = await booted();
    rig.cutOnWrite = { at: 'after-host', cut: () => rig.unplug() };
    const r = await rig.run(engine.sale(4_200));
    expect(r).toMatchObject({ kind: 'reversed', reversal: 'pending' });
    rig.reachable = true;
    expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved' });
    expect(engine.status({ stan: stanOf(r) })).toMatchObject({ state: 'reversed' });
    // Cleared within the sale's budget: no wait-over event.
    expect(rig.events.filter((e) => e.type === 'reversal-wait-over')).toEqual([]);
  });
});

describe('sign-on and the batch limit', () => {
  it('no session: refused before the card is read, and the next sale signs on again', async () => {
    const rig = new EngineRig();
    const engine = await rig.start();
    rig.unplug();
    expect(await rig.run(engine.boot())).toMatchObject({ signedOn: false });
    const before = untouched(rig);
    expect(await rig.run(engine.sale(100))).toEqual(refusal('sale', 'not-signed-on', 'sign-on to the acquirer failed: nothing was sent'));
    expect({ ...untouched(rig), records: before.records }).toEqual(before);
    rig.reachable = true;
    expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved' });
  });

  it('a full batch that cannot settle automatically is refused with why the settlement stopped', async () => {
    const { rig, engine } = await booted({ batch: { limit: 1, autoSettle: true } });
    expect(await rig.run(engine.sale(100))).toMatchObject({ kind: 'approved', batch: 1 });
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { mti: '0500' }, then: { action: 'decline', code: '96' } }] };
    const r = await rig.run(engine.sale(200));
    expect(r).toMatchObject({ kind: 'refused', txn: 'sale', reason: 'batch-full' });
    const detail = r.kind === 'refused' ? r.detail : '';
    expect(detail.startsWith('交易笔数已满，请先结算 (batch 1 holds 1 transactions, the limit is 1: settle first); automatic settlement stopped: ')).toBe(true);
    expect(detail.length).toBeGreaterThan('交易笔数已满，请先结算 (batch 1 holds 1 transactions, the limit is 1: settle first); automatic settlement stopped: '.length);
    expect(rig.ledger('authorization')).toHaveLength(1);
  });

  it('without automatic settlement a full batch is refused at once; a void still goes', async () => {
    const { rig, engine } = await booted({ batch: { limit: 1 } });
    const sale = await rig.run(engine.sale(100));
    const before = untouched(rig);
    expect(await rig.run(engine.preauth(200))).toMatchObject({ kind: 'approved' });
    expect(await rig.run(engine.sale(200))).toEqual(refusal('sale', 'batch-full', '交易笔数已满，请先结算 (batch 1 holds 1 transactions, the limit is 1: settle first)'));
    expect(rig.ledger('settlement')).toEqual([]);
    expect(rig.host.state.entries.length).toBeGreaterThan(before.host);
    expect(await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'void' });
  });
});
