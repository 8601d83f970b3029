// The sales slip, record by record: what each way the printer fails leaves in the journal (its words, and
// whether part of the job may be on paper), the write-ahead record before an owed slip that nothing of is
// on paper yet, and the printed record and event of an original and of a duplicate; a slip of a voided
// sale marked as voided.
import { describe, expect, it } from 'vitest';
import { RECEIPT_JOB_STARTED, TerminalRecord } from '../../firmware-ts/txn/records.js';
import { DEVICE_TIMEOUTS } from '../../firmware-ts/txn/engine-devices.js';
import type { TxnResult } from '../../firmware-ts/txn/engine-api.js';
import { buildEvidence, renderPrintedCopies } from '../../firmware-ts/evidence/evidence.js';
import { toHtml } from '../../firmware-ts/evidence/evidence-format.js';
import { jobPaperText } from '../../protocol/escpos/page-text.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { ID } from '../acquirer/harness.js';
import { EngineRig, PASSWORD, type CallFault } from './engine-rig.js';

const stanOf = (r: TxnResult) => (r.kind === 'refused' ? -1 : r.stan);
const iso = (rig: EngineRig) => new Date(rig.clock.now()).toISOString();

async function booted() {
  const rig = new EngineRig();
  const engine = await rig.start();
  await rig.run(engine.boot());
  return { rig, engine };
}

/** The receipt records of one STAN, in order, as [type, payload without its time]. */
function receiptRecords(rig: EngineRig, stan: number) {
  return rig
    .records()
    .filter((r) => (r.type === TerminalRecord.receiptNotPrinted.name || r.type === TerminalRecord.receiptPrinted.name) && (r.payload as { stan: number }).stan === stan)
    .map((r) => {
      const { at: _at, ...rest } = r.payload as { at?: string };
      return [r.type === TerminalRecord.receiptPrinted.name ? 'printed' : 'not-printed', rest];
    });
}

describe('a slip the printer does not print right after the approval', () => {
  const cases: [string, (rig: EngineRig) => void, string, boolean][] = [
    ['out of paper (refused before paper moved)', (rig) => void (rig.printer.working = false), 'paper-end', false],
    ['the line dropped mid-job', (rig) => void (rig.printer.torn = true), 'write-failed', true],
    ['the driver threw', (rig) => void (rig.printer.fail = 'throw' satisfies CallFault), 'print: device error (test)', true],
    ['the driver never answered', (rig) => void (rig.printer.fail = 'silent' satisfies CallFault), `no answer within ${DEVICE_TIMEOUTS.printMs} ms`, true],
  ];
  for (const [name, fail, reason, mayBeOnPaper] of cases) {
    it(`${name}: pending, its words journaled, on paper ${mayBeOnPaper ? 'maybe' : 'not'}`, async () => {
      const { rig, engine } = await booted();
      fail(rig);
      const sale = await rig.run(engine.sale(2_500));
      const stan = stanOf(sale);
      expect(sale).toMatchObject({ kind: 'approved', receipt: 'pending' });
      expect(receiptRecords(rig, stan)).toEqual([['not-printed', { stan, reason, mayBeOnPaper }]]);
      expect(rig.events.filter((e) => e.type === 'receipt-pending')).toEqual([{ type: 'receipt-pending', stan, reason }]);
      rig.printer.recover();
      await rig.idle(1_000);
      // Back: an owed slip of which nothing is on paper writes ahead and prints as the original; otherwise a duplicate.
      expect(receiptRecords(rig, stan).slice(1)).toEqual(
        mayBeOnPaper
          ? [['printed', { stan, copies: 'both', duplicate: true }]]
          : [
              ['not-printed', { stan, reason: RECEIPT_JOB_STARTED, mayBeOnPaper: true }],
              ['printed', { stan, copies: 'both' }],
            ],
      );
      expect(rig.printer.jobs.at(-1)).toBe(`slip-1-${stan}${mayBeOnPaper ? '-dup' : ''}`);
      expect(rig.events.filter((e) => e.type === 'receipt-printed')).toEqual([{ type: 'receipt-printed', stan, duplicate: mayBeOnPaper }]);
      expect(engine.status({ stan })).toMatchObject({ receipt: 'printed' });
    });
  }

  it('printed at once: one record, no write-ahead, the original', async () => {
    const { rig, engine } = await booted();
    const stan = stanOf(await rig.run(engine.sale(2_600)));
    expect(receiptRecords(rig, stan)).toEqual([['printed', { stan, copies: 'both' }]]);
    expect(rig.events.filter((e) => e.type === 'receipt-printed')).toEqual([{ type: 'receipt-printed', stan, duplicate: false }]);
    expect(rig.printer.jobs).toEqual([`slip-1-${stan}`]);
  });

  it('the printed record is durable: a power cut right after the sale prints nothing again at boot', async () => {
    const { rig, engine } = await booted();
    const stan = stanOf(await rig.run(engine.sale(2_650)));
    rig.disk.crash(createRng(7), 'drop');
    rig.link.close();
    engine.stop();
    const again = await rig.start();
    expect(await rig.run(again.boot())).toMatchObject({ receiptsPrinted: [] });
    expect(again.status({ stan })).toMatchObject({ state: 'approved', receipt: 'printed' });
    expect(rig.printer.jobs).toEqual([`slip-1-${stan}`]);
  });

  it('refused again after the write-ahead: still nothing on paper, and the next try writes ahead again', async () => {
    const { rig, engine } = await booted();
    rig.printer.working = false;
    const stan = stanOf(await rig.run(engine.sale(2_700)));
    const at = iso(rig);
    expect(rig.records(TerminalRecord.receiptNotPrinted.name).at(-1)!.payload).toEqual({ stan, reason: 'paper-end', mayBeOnPaper: false, at });
    // A reprint asked for now is marked and leaves the owed slip as it was.
    expect(await rig.run(engine.reprint({ stan }))).toEqual({ kind: 'not-printed', stan, reason: 'paper-end' });
    expect(receiptRecords(rig, stan)).toHaveLength(2);
    expect(receiptRecords(rig, stan)[1]).toEqual(['not-printed', { stan, reason: 'paper-end', mayBeOnPaper: false }]);
    rig.printer.recover();
    rig.printer.working = false;
    await rig.idle(1_000);
    expect(receiptRecords(rig, stan).slice(2)).toEqual([
      ['not-printed', { stan, reason: RECEIPT_JOB_STARTED, mayBeOnPaper: true }],
      ['not-printed', { stan, reason: 'paper-end', mayBeOnPaper: false }],
    ]);
    rig.printer.recover();
    await rig.idle(1_000);
    expect(receiptRecords(rig, stan).slice(4)).toEqual([
      ['not-printed', { stan, reason: RECEIPT_JOB_STARTED, mayBeOnPaper: true }],
      ['printed', { stan, copies: 'both' }],
    ]);
    expect(rig.printer.jobs).toEqual([`slip-1-${stan}`]);
  });

  it('a stopped engine prints nothing when the printer comes back', async () => {
    const { rig, engine } = await booted();
    rig.printer.working = false;
    const stan = stanOf(await rig.run(engine.sale(2_800)));
    engine.stop();
    rig.printer.recover();
    await rig.idle(1_000);
    expect(rig.printer.jobs).toEqual([]);
    expect(engine.health().pendingReceipts).toEqual([stan]);
  });
});

// A reprint (or an owed slip) of a transaction a void undid: the slip says 已撤销(VOIDED) at both ends and
// names the void's STAN, so nobody reads it as money taken; the cashier hears it, the journal keeps it, and
// the evidence re-renders the same paper.
describe('a slip of a voided sale', () => {
  const rrnOf = (r: TxnResult) => (r.kind === 'approved' ? r.rrn : '');
  const hostDate = (rig: EngineRig) => (rig.ledger('authorization').at(-1) as { date: string }).date;
  /** Each printed job's paper (both copies joined), by job id. */
  const paperOf = (rig: EngineRig, jobId: string) => {
    const i = rig.printer.jobs.lastIndexOf(jobId);
    expect(i, `job ${jobId} among ${rig.printer.jobs.join(', ')}`).toBeGreaterThanOrEqual(0);
    return jobPaperText(rig.printer.printedBytes[i]!);
  };
  const marks = (page: string) => page.split('\n').filter((l) => /已撤销|撤销流水号|重打印/.test(l)).map((l) => l.trim());

  it('reprinted by STAN: marked 已撤销(VOIDED) at both ends with the void\'s STAN, told to the cashier, journaled, and the evidence shows the same paper', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(8_000));
    const voided = await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }));
    expect(voided).toMatchObject({ kind: 'approved', txn: 'void' });
    const [stan, voidStan] = [stanOf(sale), stanOf(voided)];
    expect(await rig.run(engine.reprint({ stan }))).toEqual({ kind: 'printed', stan, voidedBy: voidStan });
    const pages = paperOf(rig, `slip-1-${stan}-dup`);
    expect(pages).toHaveLength(2);
    for (const page of pages) {
      expect(marks(page)).toEqual(['重打印', '已撤销(VOIDED)', `撤销流水号:               ${String(voidStan).padStart(6, '0')}`, '已撤销(VOIDED)', '重打印']);
      // Still the sale's own slip: its type and amount as the sale was.
      expect(page).toContain('消费(SALE)');
      expect(page).toContain('80.00元');
    }
    expect(receiptRecords(rig, stan).at(-1)).toEqual(['printed', { stan, copies: 'both', duplicate: true, voidedBy: voidStan }]);
    const evidence = buildEvidence(rig.records());
    renderPrintedCopies(evidence, { name: 'Test Shop', ...ID });
    const e = evidence.find((x) => x.stan === stan)!;
    expect(e.receipts.map((c) => c.voidedBy)).toEqual([undefined, voidStan]);
    expect(e.receipts.at(-1)!.paper).toEqual(pages);
    expect(toHtml([e], { exportedAt: '2026-12-02T10:00:00Z', journalCheck: 'ok' })).toContain(`both, both (重打印 duplicate) (已撤销 voided by STAN ${voidStan})`);
    // The first print, before the void, is unmarked; so is the void's own slip when reprinted.
    expect(marks(paperOf(rig, `slip-1-${stan}`)[0]!)).toEqual([]);
    expect(await rig.run(engine.reprint({ stan: voidStan }))).toEqual({ kind: 'printed', stan: voidStan });
    expect(marks(paperOf(rig, `slip-1-${voidStan}-dup`)[0]!)).toEqual(['重打印', '重打印']);
  });

  it('a slip owed on the printer when the sale was voided prints marked, as the original (not a duplicate)', async () => {
    const { rig, engine } = await booted();
    rig.printer.working = false;
    const sale = await rig.run(engine.sale(4_500));
    expect(sale).toMatchObject({ kind: 'approved', receipt: 'pending' });
    const voided = await rig.run(engine.void({ stan: stanOf(sale), password: PASSWORD }));
    expect(voided).toMatchObject({ kind: 'approved', receipt: 'pending' });
    rig.printer.recover();
    await rig.idle(1_000);
    const stan = stanOf(sale);
    expect(marks(paperOf(rig, `slip-1-${stan}`)[0]!)).toEqual(['已撤销(VOIDED)', `撤销流水号:               ${String(stanOf(voided)).padStart(6, '0')}`, '已撤销(VOIDED)']);
    expect(receiptRecords(rig, stan).at(-1)).toEqual(['printed', { stan, copies: 'both', voidedBy: stanOf(voided) }]);
  });

  it('not marked: a sale whose void the acquirer never confirmed and that was reversed, a sale refunded in full (its refund is its own slip)', async () => {
    const { rig, engine } = await booted();
    const sale = await rig.run(engine.sale(3_000));
    const stan = stanOf(sale);
    // The void's reply is lost: the void is reversed and the sale stands.
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { stan: String(stan + 1).padStart(6, '0'), mti: '0200' }, then: { action: 'drop-reply' } }] };
    expect(await rig.run(engine.void({ stan, password: PASSWORD }))).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    rig.host.rules = { ...rig.host.rules, rules: [] };
    expect(await rig.run(engine.reprint({ stan }))).toEqual({ kind: 'printed', stan });
    expect(marks(paperOf(rig, `slip-1-${stan}-dup`)[0]!)).toEqual(['重打印', '重打印']);

    const refunded = await rig.run(engine.sale(2_000));
    expect(await rig.run(engine.refund({ rrn: rrnOf(refunded), date: hostDate(rig), amount: 2_000, password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'refund' });
    expect(await rig.run(engine.reprint({ stan: stanOf(refunded) }))).toEqual({ kind: 'printed', stan: stanOf(refunded) });
    expect(marks(paperOf(rig, `slip-1-${stanOf(refunded)}-dup`)[0]!)).toEqual(['重打印', '重打印']);
    expect(rig.violations()).toEqual([]);
  });

  it('a pre-authorization: marked once its pre-authorization void stands; not when a completion used it', async () => {
    const { rig, engine } = await booted();
    const held = await rig.run(engine.preauth(5_000));
    const released = await rig.run(engine.preauthVoid({ stan: stanOf(held), password: PASSWORD }));
    expect(released).toMatchObject({ kind: 'approved', txn: 'preauth-void' });
    expect(await rig.run(engine.reprint({ stan: stanOf(held) }))).toEqual({ kind: 'printed', stan: stanOf(held), voidedBy: stanOf(released) });
    expect(marks(paperOf(rig, `slip-1-${stanOf(held)}-dup`)[0]!)).toContain('已撤销(VOIDED)');

    const completed = await rig.run(engine.preauth(6_000));
    expect(await rig.run(engine.completion({ stan: stanOf(completed), amount: 6_000 }))).toMatchObject({ kind: 'approved', txn: 'preauth-completion' });
    expect(await rig.run(engine.reprint({ stan: stanOf(completed) }))).toEqual({ kind: 'printed', stan: stanOf(completed) });
    expect(marks(paperOf(rig, `slip-1-${stanOf(completed)}-dup`)[0]!)).toEqual(['重打印', '重打印']);
  });
});
