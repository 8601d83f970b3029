// What the mutation run of reversal-sender.ts and the fold (terminal-state.ts) found untested: each
// reversal record is durable when written (a power cut right after it loses nothing), a 0410 answered 25
// clears the reversal, and the fold keeps a reversal's attempts and stuck mark, undoes an approval's totals
// once, and ignores records for a STAN it does not owe.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { terminalState } from '../../firmware-ts/txn/terminal-state.js';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { EngineRig } from './engine-rig.js';

const dropSaleReply = { rules: [{ when: { mti: '0200' }, then: { action: 'drop-reply' as const } }] };

const cutPower = (rig: EngineRig) => {
  rig.disk.crash(createRng(7), 'drop');
  rig.link.close();
};

/** Cuts the power (unsynced writes dropped) unless already cut, and starts again on the crashed disk, without booting. */
async function reboot(rig: EngineRig, alreadyCut = false) {
  if (!alreadyCut) cutPower(rig);
  rig.engine.stop();
  await rig.start();
  return rig.journal.state.reversals;
}

describe('reversal records are durable when written', () => {
  it('the attempt: cut while the 0400 is at the host, the reboot repeats it as 0401', async () => {
    const rig = new EngineRig({ ...dropSaleReply, rules: [...dropSaleReply.rules, { when: { mti: '0400' }, then: { action: 'drop-reply' } }] });
    const engine = await rig.start({ attemptsPerRound: 1 });
    await rig.run(engine.boot());
    let cut = false;
    rig.cutOnWrite = {
      at: 'after-host',
      reversal: true,
      cut: () => {
        cut = true;
        cutPower(rig);
      },
    };
    await rig.run(engine.sale(1_000)).catch(() => undefined);
    expect(cut).toBe(true);
    const owed = Object.values(await reboot(rig, true));
    expect(owed.map((r) => r.attempts)).toEqual([1]);
  });

  it('the clearing: cut right after a 0410 00, the reversal is not owed again', async () => {
    const rig = new EngineRig(dropSaleReply);
    const engine = await rig.start();
    await rig.run(engine.boot());
    expect(await rig.run(engine.sale(1_000))).toMatchObject({ kind: 'reversed' });
    expect(engine.reversals()).toEqual([]);
    expect(await reboot(rig)).toEqual({});
  });

  it('the stuck mark: cut right after it, the reversal is still stuck', async () => {
    const rig = new EngineRig({ rules: [...dropSaleReply.rules, { when: { mti: '0400' }, then: { action: 'drop-reply' } }, { when: { mti: '0401' }, then: { action: 'drop-reply' } }] });
    const engine = await rig.start({ attemptsPerRound: 2 });
    await rig.run(engine.boot());
    await rig.run(engine.sale(1_000));
    expect(engine.reversals()).toMatchObject([{ stuck: true, attempts: 2 }]);
    expect(Object.values(await reboot(rig))).toMatchObject([{ stuck: true, attempts: 2 }]);
  });
});

describe('what clears a reversal', () => {
  it('a 0410 answered 25 (no such original at the acquirer) clears it', async () => {
    const rig = new EngineRig({ rules: [...dropSaleReply.rules, { when: { mti: '0400' }, then: { action: 'decline', code: '25' } }] });
    const engine = await rig.start();
    await rig.run(engine.boot());
    expect(await rig.run(engine.sale(1_000))).toMatchObject({ kind: 'reversed' });
    expect(engine.reversals()).toEqual([]);
    expect(rig.records(TerminalRecord.reversalCleared.name).map((r) => (r.payload as { responseCode: string }).responseCode)).toEqual(['25']);
  });

  it('a 0410 answered 96 does not, unless planted bug (clearOnAnyReversalAnswer, test-only) reaches the sender', async () => {
    for (const planted of [false, true]) {
      const rig = new EngineRig({ rules: [...dropSaleReply.rules, { when: { mti: '0400' }, then: { action: 'decline', code: '96' } }, { when: { mti: '0401' }, then: { action: 'decline', code: '96' } }] });
      const engine = await rig.start(planted ? { plantedBugs: { clearOnAnyReversalAnswer: true } } : {});
      await rig.run(engine.boot());
      expect(await rig.run(engine.sale(1_000)), String(planted)).toMatchObject({ kind: 'reversed', reversal: planted ? 'cleared' : 'stuck' });
      engine.stop();
    }
  });
});

describe('the fold of reversal records', () => {
  let seq = 0;
  const rec = (type: string, payload: object): JournalRecord => ({ seq: ++seq, type, version: 1, payload }) as unknown as JournalRecord;
  const fold = (records: JournalRecord[]) => {
    const s = terminalState.initial();
    for (const r of records) terminalState.apply(s, r);
    return s;
  };
  const intent = (stan: number) => rec(TerminalRecord.authIntent.name, { stan, batch: 1, kind: 'sale', amount: 500, currency: '156', maskedPan: '621214*********0006', entryMode: '902', at: '', reversalImage: {} });

  it('a second reversal-required for a STAN already owed keeps its attempts and stuck mark', () => {
    const s = fold([
      intent(5),
      rec(TerminalRecord.reversalRequired.name, { stan: 5, reason: '98', at: '' }),
      rec(TerminalRecord.reversalAttempt.name, { stan: 5, attempt: 1, mti: '0400', at: '' }),
      rec(TerminalRecord.reversalStuck.name, { stan: 5, attempts: 1, at: '' }),
      rec(TerminalRecord.reversalRequired.name, { stan: 5, reason: '06', at: '' }),
    ]);
    expect(s.reversals['5']).toMatchObject({ attempts: 1, stuck: true, reason: '98' });
  });

  it('an approval reversed afterwards (the chip declined: 06) leaves the batch totals as before it', () => {
    const s = fold([
      intent(6),
      rec(TerminalRecord.authOutcome.name, { stan: 6, result: 'approved', responseCode: '00', rrn: '000000000006', authCode: '000006', at: '' }),
      rec(TerminalRecord.reversalRequired.name, { stan: 6, reason: '06', at: '' }),
    ]);
    expect(s.totals).toMatchObject({ saleCount: 0, saleAmount: 0 });
    expect(s.batchEntries).toEqual({});
  });

  it('attempts, stuck marks and reversal-required for a STAN nobody owes change nothing and do not throw', () => {
    const s = fold([
      rec(TerminalRecord.reversalAttempt.name, { stan: 9, attempt: 1, mti: '0400', at: '' }),
      rec(TerminalRecord.reversalStuck.name, { stan: 9, attempts: 1, at: '' }),
      rec(TerminalRecord.reversalRequired.name, { stan: 9, reason: '98', at: '' }),
    ]);
    expect(s.reversals).toEqual({});
  });
});
