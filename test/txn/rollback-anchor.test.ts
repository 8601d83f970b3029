// The sign-on rollback anchor (issue 9, JOURNAL_FORMAT §10.2): a journal restored from an older copy
// verifies clean, so only someone outside it can tell. The acquirer simulator's 0810 says which batch the
// terminal is in (60.2) and the last STAN it used (61); a 94 answer says a STAN was used before. Found
// behind: the counters move past the host's evidence in a journaled record, money operations are refused
// with a typed reason and an alarm shows in health, until a supervisor acknowledges. Never on a normal
// reboot or after a settlement (after a repair: test/journal/repair-salvage.test.ts boots every repaired
// journal against the acquirer and sells).
import { describe, expect, it } from 'vitest';
import { AcquirerHost } from '../../host-bridge/acquirer/index.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import type { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import type { RollbackAnchor } from '../../firmware-ts/txn/rollback-anchor.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { REPAIR_STAN_MARGIN } from '../../firmware-ts/txn/terminal-salvage.js';
import { EngineRig, JOURNAL_DIR, PASSWORD } from './engine-rig.js';
import { TMK } from '../acquirer/harness.js';

type Files = Map<string, Buffer>;

/** Every file of the journal directory, as an operator's backup copy would hold it. */
function copyJournal(disk: SimDisk): Files {
  const files: Files = new Map();
  for (const name of disk.list(JOURNAL_DIR)) {
    const p = `${JOURNAL_DIR}/${name}`;
    const f = disk.open(p, 'r');
    const b = Buffer.alloc(f.size());
    f.read(b, 0, b.length, 0);
    f.close();
    files.set(p, b);
  }
  return files;
}

/** The journal directory replaced by the old copy (the device key is unchanged: it lives outside). */
function restoreJournal(disk: SimDisk, files: Files): void {
  for (const name of disk.list(JOURNAL_DIR)) disk.remove(`${JOURNAL_DIR}/${name}`);
  for (const [p, b] of files) {
    const f = disk.open(p, 'create');
    f.write(b, 0);
    f.sync();
    f.close();
  }
  disk.syncDir(JOURNAL_DIR);
}

async function stopTerminal(rig: EngineRig): Promise<void> {
  rig.engine.stop();
  rig.link.close();
  await rig.journal.close();
}

const hostStans = (rig: EngineRig) => rig.host.state.entries.filter((e) => e.kind === 'authorization').map((e) => `${(e as { batch: string }).batch}/${(e as { stan: string }).stan}`);
const rollbacks = (rig: EngineRig) => rig.records(TerminalRecord.anchorRollback.name);

describe('the acquirer as rollback anchor', () => {
  it('an old copy in the same batch: the 0810 shows the later STAN, money refused, counters past it, sales again after a supervisor acknowledges', async () => {
    const rig = new EngineRig();
    let engine = await rig.start();
    await rig.run(engine.boot());
    expect(await rig.run(engine.sale(1_000))).toMatchObject({ kind: 'approved' });
    const backup = copyJournal(rig.disk);
    const later = [await rig.run(engine.sale(2_000)), await rig.run(engine.sale(3_000))];
    const lastStan = later[1]!.kind === 'approved' ? later[1]!.stan : 0;
    await stopTerminal(rig);

    restoreJournal(rig.disk, backup);
    engine = await rig.start();
    expect(rig.journal.state.stan).toBeLessThan(lastStan);
    expect(rig.journal.state.rollbackAlarm).toBeNull();
    await rig.run(engine.boot());

    const alarm = engine.health().rollback;
    expect(alarm).toMatchObject({ anchor: 'acquirer 0810', after: { batch: 1 } });
    expect(alarm!.detail).toContain(`STAN ${lastStan}`);
    expect(engine.health().stan).toBe(lastStan + REPAIR_STAN_MARGIN);
    expect(rollbacks(rig)).toHaveLength(1);
    expect(rig.events.some((e) => e.type === 'rollback-detected')).toBe(true);

    const refused = await rig.run(engine.sale(4_000));
    expect(refused).toMatchObject({ kind: 'refused', reason: 'journal-rolled-back' });
    expect(rig.reader.reads).toBe(3);
    expect(await rig.run(engine.acknowledgeRollback({ password: 'wrong', reason: 'checked the ledger' }))).toMatchObject({ acknowledged: false });
    expect(await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: '   ' }))).toMatchObject({ acknowledged: false });
    expect(await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: 'restored from the 09:00 copy; ledger checked' }))).toMatchObject({ acknowledged: true });
    expect(engine.health().rollback).toBeNull();

    const sale = await rig.run(engine.sale(4_000));
    expect(sale).toMatchObject({ kind: 'approved' });
    expect(sale.kind === 'approved' && sale.stan).toBeGreaterThan(lastStan + REPAIR_STAN_MARGIN);
    const stans = hostStans(rig);
    expect(new Set(stans).size).toBe(stans.length);

    // The next boot sees the host's last STAN below its own: no alarm again.
    await stopTerminal(rig);
    engine = await rig.start();
    await rig.run(engine.boot());
    expect(engine.health().rollback).toBeNull();
    expect(rollbacks(rig)).toHaveLength(1);
  });

  it('an old copy from before a settlement: the 0810 batch is ahead, the terminal moves into it (not the settled one, which the host answers 77)', async () => {
    const rig = new EngineRig();
    let engine = await rig.start();
    await rig.run(engine.boot());
    expect(await rig.run(engine.sale(1_000))).toMatchObject({ kind: 'approved', batch: 1 });
    const backup = copyJournal(rig.disk);
    expect(await rig.run(rig.settlement.settle())).toMatchObject({ batch: 1, nextBatch: 2 });
    expect(await rig.run(engine.sale(2_000))).toMatchObject({ kind: 'approved', batch: 2 });
    await stopTerminal(rig);

    restoreJournal(rig.disk, backup);
    engine = await rig.start();
    expect(rig.journal.state.batch).toBe(1);
    await rig.run(engine.boot());
    expect(engine.health().rollback).toMatchObject({ before: { batch: 1 }, after: { batch: 2 } });
    expect(engine.health()).toMatchObject({ batch: 2, totals: { saleCount: 0 } });
    expect(await rig.run(engine.sale(3_000))).toMatchObject({ kind: 'refused', reason: 'journal-rolled-back' });
    await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: 'old copy restored' }));
    expect(await rig.run(engine.sale(3_000))).toMatchObject({ kind: 'approved', batch: 2 });
    const stans = hostStans(rig);
    expect(new Set(stans).size).toBe(stans.length);
  });

  it('a host that sends no counters: the 94 to a reused STAN is the evidence; declined, then refused until acknowledged', async () => {
    const rig = new EngineRig();
    (rig as { host: AcquirerHost }).host = AcquirerHost.open({ storage: rig.hostDisk, ledgerPath: '/acquirer/ledger.jsonl', tmk: TMK, clock: rig.clock, rules: rig.host.rules, random: (n) => Buffer.alloc(n, 0x5a), signOnCounters: false });
    let engine = await rig.start();
    await rig.run(engine.boot());
    await rig.run(engine.sale(1_000));
    const backup = copyJournal(rig.disk);
    for (let i = 0; i < 4; i++) await rig.run(engine.sale(2_000 + i));
    await stopTerminal(rig);

    restoreJournal(rig.disk, backup);
    engine = await rig.start();
    await rig.run(engine.boot());
    expect(engine.health().rollback).toBeNull();
    const reused = await rig.run(engine.sale(5_000));
    expect(reused).toMatchObject({ kind: 'declined', responseCode: '94' });
    expect(engine.health().rollback).toMatchObject({ anchor: 'acquirer 94' });
    expect(await rig.run(engine.sale(5_000))).toMatchObject({ kind: 'refused', reason: 'journal-rolled-back' });
    await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: 'old copy restored' }));
    expect(await rig.run(engine.sale(5_000))).toMatchObject({ kind: 'approved' });
    // Nothing was debited twice: the 94 moved no money.
    expect(rig.host.state.entries.filter((e) => e.kind === 'authorization' && (e as { amount: string }).amount === '000000005000')).toHaveLength(1);
  });

  it('no alarm on a normal reboot, after a settlement, or after a reboot with the batch end written but not confirmed', async () => {
    const rig = new EngineRig();
    let engine = await rig.start();
    await rig.run(engine.boot());
    await rig.run(engine.sale(1_000));
    for (const step of ['reboot', 'settle', 'reboot'] as const) {
      if (step === 'settle') await rig.run(rig.settlement.settle());
      await stopTerminal(rig);
      engine = await rig.start();
      await rig.run(engine.boot());
      expect(engine.health().rollback, step).toBeNull();
      expect(await rig.run(engine.sale(1_500)), step).toMatchObject({ kind: 'approved' });
    }
    // The host took the batch end, its 0330 was lost: the terminal resumes in the old batch, the host is in the next.
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { mti: '0320' }, then: { action: 'drop-reply' } }] };
    await rig.run(rig.settlement.settle()).catch(() => undefined);
    expect(rig.journal.state.settlementRun?.step).toBe('batch-end');
    rig.host.rules = { ...rig.host.rules, rules: [] };
    await stopTerminal(rig);
    engine = await rig.start();
    await rig.run(engine.boot());
    expect(engine.health().rollback).toBeNull();
    expect(rollbacks(rig)).toHaveLength(0);
  });

  it('a pluggable anchor (a monotonic counter standing in for RPMB) is asked at boot and detects the same way', async () => {
    const rig = new EngineRig();
    const rpmb: RollbackAnchor = { name: 'rpmb', evidence: async () => ({ anchor: 'rpmb counter', last: { batch: 1, stan: 500 }, detail: 'the monotonic counter is at STAN 500' }) };
    const engine = await rig.start({ anchors: [rpmb] });
    await rig.run(engine.boot());
    expect(engine.health().rollback).toMatchObject({ anchor: 'rpmb counter' });
    expect(engine.health().stan).toBe(500 + REPAIR_STAN_MARGIN);
  });

  it('the alarm record names the evidence and what moved, and it and its acknowledgement survive a power cut', async () => {
    const rig = new EngineRig();
    const rpmb: RollbackAnchor = { name: 'rpmb', evidence: async () => ({ anchor: 'rpmb counter', batch: 1, last: { batch: 1, stan: 500 }, detail: 'the monotonic counter is at STAN 500' }) };
    let engine = await rig.start({ anchors: [rpmb] });
    await rig.run(engine.boot());
    const at = new Date(rig.clock.now()).toISOString();
    // The sign-on took STAN 1 before the anchors were asked.
    expect(rollbacks(rig).map((r) => r.payload)).toEqual([
      { anchor: 'rpmb counter', evidence: { batch: 1, last: { batch: 1, stan: 500 } }, detail: "rpmb counter saw STAN 500 used in batch 1; the journal's STAN is 1", before: { stan: 1, batch: 1 }, after: { stan: 500 + REPAIR_STAN_MARGIN, batch: 1 }, at },
    ]);
    // Power cut (what was not synced is lost), back without the anchor: the alarm is still raised.
    const cut = async (opts: Parameters<EngineRig['start']>[0] = {}) => {
      rig.disk.crash(createRng(3), 'drop');
      rig.link.close();
      rig.engine.stop();
      return rig.start(opts);
    };
    engine = await cut();
    expect(engine.health().rollback).toMatchObject({ anchor: 'rpmb counter' });
    expect(engine.health().stan).toBe(500 + REPAIR_STAN_MARGIN);
    expect(await rig.run(engine.acknowledgeRollback({ password: PASSWORD, reason: 'counter checked with the acquirer' }))).toEqual({ acknowledged: true, detail: 'rollback alarm acknowledged by supervisor' });
    engine = await cut();
    expect(engine.health().rollback).toBeNull();
  });
});
