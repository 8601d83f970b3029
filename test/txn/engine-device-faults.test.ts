// Every dependency failing at every step of a sale — the reader before the card and during the read, the
// link after the 0200 is sent, the card's second GENERATE AC after the host approved, the printer, the
// journal — each by throwing and by never answering. Whatever fails, the authorization ends in the engine:
// the right outcome, the right words for the cashier, and the money invariants (invariant 8 included,
// against what the cashier was told) hold once the reversals owed are answered.
import { describe, expect, it, vi } from 'vitest';
import { describeTxn, txnExitCode } from '../../firmware-ts/cli/terminal-commands.js';
import type { TxnResult } from '../../firmware-ts/txn/engine-api.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { DEVICE_TIMEOUTS } from '../../firmware-ts/txn/engine-devices.js';
import { TerminalRecord, type AuthOutcome, type ReversalRequired } from '../../firmware-ts/txn/records.js';
import { EngineRig, PASSWORD, type CallFault } from './engine-rig.js';

async function booted() {
  const rig = new EngineRig();
  const engine = await rig.start();
  await rig.run(engine.boot());
  return { rig, engine };
}

const live = (rig: EngineRig) => {
  const reversed = new Set(rig.ledger('reversal').map((e) => (e.kind === 'reversal' ? e.target : null)));
  return rig.ledger('authorization').filter((e) => !reversed.has(e.seq));
};

const FAULTS: CallFault[] = ['throw', 'silent'];
const fails = (f: CallFault) => (f === 'throw' ? 'throws' : 'stays silent');

describe('a device fails at each step of a sale', () => {
  for (const fault of FAULTS) {
    it(`the reader ${fails(fault)} while reading the card: refused, nothing journaled, nothing sent`, async () => {
      const { rig, engine } = await booted();
      rig.reader.fail.readCard = fault;
      const r = await rig.run(engine.sale(1_500, { cardTimeoutMs: 10_000 }));
      expect(r).toMatchObject({ kind: 'refused', reason: 'card-read-failed' });
      expect(rig.records(TerminalRecord.authIntent.name)).toEqual([]);
      expect(rig.financialWrites).toBe(0);
      expect(describeTxn(r as never)).toMatch(/^REFUSED sale: card-read-failed .* nothing was sent$/);
      expect(rig.violations([r])).toEqual([]);
    });

    it(`the card's second GENERATE AC ${fails(fault)} after the host approved: reversed (06), told FAILED, no sales slip`, async () => {
      const { rig, engine } = await booted();
      rig.reader.entryMode = 'chip';
      rig.reader.fail.completeChip = fault;
      const started = rig.clock.now();
      const r = await rig.run(engine.sale(3_000));
      expect(r).toMatchObject({ kind: 'reversed', reason: '06', reversal: 'cleared', reversalResponseCode: '00' });
      if (fault === 'silent') expect(rig.clock.now() - started).toBeGreaterThanOrEqual(DEVICE_TIMEOUTS.chipCompletionMs);
      // The approval was durable first (write-ahead), then the 06 reversal; nothing printed for the sale.
      const stan = r.kind === 'reversed' ? r.stan : 0;
      expect(rig.records(TerminalRecord.authOutcome.name).map((x) => x.payload as AuthOutcome).filter((o) => o.stan === stan)).toEqual([expect.objectContaining({ result: 'approved' })]);
      expect(rig.records(TerminalRecord.reversalRequired.name).map((x) => (x.payload as ReversalRequired).reason)).toEqual(['06']);
      expect(rig.printer.jobs.filter((j) => j.startsWith('slip'))).toEqual([]);
      expect(engine.health().pendingReceipts).toEqual([]);
      expect(live(rig)).toEqual([]);
      expect(rig.events).toContainEqual(expect.objectContaining({ type: 'device-failed', device: 'reader', call: 'second GENERATE AC' }));
      expect(describeTxn(r as never)).toMatch(/^FAILED sale stan=\d{6}: the card did not complete .*reversed at the acquirer \(0410 answered 00; reason 06/);
      expect(txnExitCode(r as never)).toBe(1);
      // The card's masked PAN is kept with the 06 reversal (it used to be lost in the fold).
      expect(engine.status({ stan })).toMatchObject({ state: 'reversed', maskedPan: '621214*********0006' });
      expect(rig.violations([r])).toEqual([]);
      // A receipt must never print later by itself for it.
      rig.printer.recover();
      await rig.idle(5_000);
      expect(rig.printer.jobs.filter((j) => j.startsWith('slip'))).toEqual([]);
    });

    it(`the printer ${fails(fault)} after approval: approved, the slip stays pending and prints when the printer is back`, async () => {
      const { rig, engine } = await booted();
      rig.printer.fail = fault;
      const r = await rig.run(engine.sale(2_200));
      expect(r).toMatchObject({ kind: 'approved', receipt: 'pending' });
      const stan = r.kind === 'approved' ? r.stan : 0;
      expect(rig.ledger('reversal')).toEqual([]);
      expect(describeTxn(r as never)).toContain('receipt=pending (prints when the printer is back; the sale stands)');
      rig.printer.recover();
      await rig.idle(2_000);
      expect(engine.health().pendingReceipts).toEqual([]);
      // A driver that threw or never answered may have sent part of the job: the slip is marked duplicate.
      expect(rig.printer.jobs).toContain(`slip-1-${stan}-dup`);
      expect(rig.violations([r])).toEqual([]);
    });
  }

  it('planted bug (d), test-only, reaches the authorization: a failed second GENERATE AC is told as reversed but nothing is reversed', async () => {
    const rig = new EngineRig();
    const engine = await rig.start({ plantedBugs: { swallowFailureAfterApproval: true } });
    await rig.run(engine.boot());
    rig.reader.entryMode = 'chip';
    rig.reader.fail.completeChip = 'throw';
    expect(await rig.run(engine.sale(1_500))).toMatchObject({ kind: 'reversed', reason: '06', reversal: 'pending' });
    expect(rig.records(TerminalRecord.reversalRequired.name)).toEqual([]);
    expect(engine.reversals()).toEqual([]);
  });

  it('the chip card refuses the approval (06) while the printer is silent: reversed, no slip', async () => {
    const { rig, engine } = await booted();
    rig.reader.entryMode = 'chip';
    rig.reader.chipReversal = '06';
    rig.printer.fail = 'silent';
    const r = await rig.run(engine.sale(3_100));
    expect(r).toMatchObject({ kind: 'reversed', reason: '06', reversal: 'cleared' });
    expect(rig.violations([r])).toEqual([]);
  });

  it('a 06 reversal left owed keeps its card: the reversal list and the stuck slip name the masked PAN', async () => {
    const rig = new EngineRig({ rules: [{ when: { mti: '0400' }, then: { action: 'decline', code: '96' } }, { when: { mti: '0401' }, then: { action: 'decline', code: '96' } }] });
    const engine = await rig.start();
    await rig.run(engine.boot());
    rig.reader.entryMode = 'chip';
    rig.reader.fail.completeChip = 'throw';
    const r = await rig.run(engine.sale(3_300));
    expect(r).toMatchObject({ kind: 'reversed', reason: '06', reversal: 'stuck' });
    expect(engine.reversals()).toEqual([expect.objectContaining({ reason: '06', maskedPan: '621214*********0006', stuck: true })]);
    expect(describeTxn(r as never)).toMatch(/reversal STUCK after 3 sends .* the cardholder may be debited until the acquirer answers STAN \d{6}/);
    expect(txnExitCode(r as never)).toBe(5);
  });

  it('the link throws something unforeseen after the 0200 is sent: reversed (98) by the engine, never escapes', async () => {
    const { rig, engine } = await booted();
    const exchange = rig.link.exchange.bind(rig.link);
    let calls = 0;
    rig.link.exchange = async (req, opts) => {
      if (req.mti === '0200' && calls++ === 0) {
        await exchange(req, opts);
        throw new TypeError('decoder blew up on the reply');
      }
      return exchange(req, opts);
    };
    const r = await rig.run(engine.sale(4_400));
    expect(r).toMatchObject({ kind: 'reversed', reason: '98', reversal: 'cleared' });
    expect(r.kind === 'reversed' && r.detail).toContain('decoder blew up');
    expect(live(rig)).toEqual([]);
    expect(rig.violations([r])).toEqual([]);
  });

  it('the journal fails (fsync EIO) writing the approval: told the outcome is unknown, never failed; the reboot decides it', async () => {
    const { rig, engine } = await booted();
    // Sync 1 is the intent; sync 2, the approved outcome, fails.
    let syncs = 0;
    rig.disk.onSync((e) => {
      if (e.kind === 'datasync' && e.phase === 'after' && !e.path.endsWith('spare.tmp') && ++syncs === 1) rig.disk.failNextSync();
    });
    const r: TxnResult = await rig.run(engine.sale(5_100));
    rig.disk.onSync(null);
    expect(r).toMatchObject({ kind: 'unknown' });
    expect(describeTxn(r as never)).toMatch(/^OUTCOME UNKNOWN sale .* do not charge the card again; ask with posj status --stan/);
    expect(txnExitCode(r as never)).toBe(5);
    // Whatever the reboot finds, the cashier was not told "failed" for a debit that stands.
    engine.stop();
    rig.disk.clearFaults();
    // Rule 8: after a failed fsync the process stops; the reboot recovers from what is on the platter.
    rig.disk.crash(createRng(3), 'drop');
    const again = await rig.start();
    await rig.run(again.boot());
    expect(rig.violations([r])).toEqual([]);
  });
});

describe('the card reader, word for word', () => {
  it('is asked for the amount in fen, CNY and the card timeout (60 s unless given), and waited on 5 s longer', async () => {
    const { rig, engine } = await booted();
    const asked = vi.spyOn(rig.reader, 'readCard');
    await rig.run(engine.sale(1_500));
    await rig.run(engine.sale(1_600, { cardTimeoutMs: 10_000 }));
    expect(asked.mock.calls).toEqual([[{ amount: 1_500, currency: '156', timeoutMs: 60_000 }], [{ amount: 1_600, currency: '156', timeoutMs: 10_000 }]]);
    asked.mockRestore();
    expect(rig.records(TerminalRecord.authIntent.name).map((r) => (r.payload as { currency: string }).currency)).toEqual(['156', '156']);

    rig.reader.fail.readCard = 'silent';
    const started = rig.clock.now();
    expect(await rig.run(engine.sale(1_700))).toEqual({ kind: 'refused', txn: 'sale', reason: 'card-read-failed', detail: `the card reader failed: no answer within ${60_000 + DEVICE_TIMEOUTS.cardReadGraceMs} ms` });
    expect(rig.clock.now() - started).toBe(60_000 + DEVICE_TIMEOUTS.cardReadGraceMs);
  });

  it('no card presented: refused with the reader\'s words', async () => {
    const { rig, engine } = await booted();
    rig.reader.readCard = async () => ({ kind: 'no-card', detail: 'the cashier cancelled the card prompt' });
    expect(await rig.run(engine.sale(1_500))).toEqual({ kind: 'refused', txn: 'sale', reason: 'card-read-failed', detail: 'the cashier cancelled the card prompt' });
    expect(rig.records(TerminalRecord.authIntent.name)).toEqual([]);
  });

  it('only a chip card gets the second GENERATE AC: not a magstripe sale, not a void of a chip sale', async () => {
    const { rig, engine } = await booted();
    expect(await rig.run(engine.sale(1_500))).toMatchObject({ kind: 'approved' });
    expect(rig.reader.chipCompletions).toBe(0);
    rig.reader.entryMode = 'chip';
    const chip = await rig.run(engine.sale(1_600));
    expect(chip).toMatchObject({ kind: 'approved' });
    expect(rig.reader.chipCompletions).toBe(1);
    expect(await rig.run(engine.void({ stan: chip.kind === 'approved' ? chip.stan : -1, password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'void' });
    expect(rig.reader.chipCompletions).toBe(1);
  });
});

describe('the cashier who heard nothing asks again with the same request id', () => {
  it('the same request id returns the first outcome and never authorizes twice; another operation under it is refused', async () => {
    const { rig, engine } = await booted();
    const first = await rig.run(engine.sale(6_600, { requestId: 'till-1:0042' }));
    expect(first).toMatchObject({ kind: 'approved', requestId: 'till-1:0042' });
    const again = await rig.run(engine.sale(6_600, { requestId: 'till-1:0042' }));
    expect(again).toMatchObject({ kind: 'approved', replayed: true, stan: first.kind === 'approved' ? first.stan : -1, rrn: first.kind === 'approved' ? first.rrn : '' });
    expect(rig.ledger('authorization')).toHaveLength(1);
    expect(await rig.run(engine.sale(7_000, { requestId: 'till-1:0042' }))).toMatchObject({ kind: 'refused', reason: 'request-id-reused' });
    expect(engine.status({ requestId: 'till-1:0042' })).toMatchObject({ found: true, state: 'approved', requestId: 'till-1:0042' });
    expect(engine.status({ requestId: 'never-sent' })).toEqual({ found: false });
    expect(engine.status({ last: true })).toMatchObject({ found: true, stan: first.kind === 'approved' ? first.stan : -1 });
    expect(rig.violations([first, again])).toEqual([]);
  });

  it('a request id that looks like card data is refused before the card is read', async () => {
    const { rig, engine } = await booted();
    expect(await rig.run(engine.sale(100, { requestId: '6212140000000000006' }))).toMatchObject({ kind: 'refused', reason: 'invalid-request-id' });
    expect(rig.reader.reads).toBe(0);
  });

  it('after a power cut between the host approval and the answer: the reboot keeps the sale and the same id returns it', async () => {
    const { rig, engine } = await booted();
    // The power goes right after the approval is durable (the slip never printed, the cashier heard nothing).
    let syncs = 0;
    rig.disk.onSync((e) => {
      if (e.kind === 'datasync' && e.phase === 'after' && !e.path.endsWith('spare.tmp') && ++syncs === 2) {
        rig.disk.onSync(null);
        rig.disk.crash(createRng(7), 'drop');
        rig.link.close();
      }
    });
    await rig.run(engine.sale(8_800, { requestId: 'pos-7' }));
    engine.stop();
    const next = await rig.start();
    await rig.run(next.boot());
    const asked = await rig.run(next.sale(8_800, { requestId: 'pos-7' }));
    expect(asked).toMatchObject({ kind: 'approved', replayed: true, requestId: 'pos-7' });
    expect(rig.ledger('authorization')).toHaveLength(1);
    expect(rig.violations([asked])).toEqual([]);
  });
});
