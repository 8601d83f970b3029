// Power cut at every step of a sale (and of its reversal), with the journal on a fault-injecting disk that
// keeps, drops or garbles unsynced sectors. After each cut: reopen the journal on the crashed disk, start a
// new engine, let it boot and send its reversals, and check the money invariants against the acquirer's
// ledger — then make sure the terminal sells again with a STAN it never used.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import type { CrashMode, SyncEvent } from '../../host-bridge/terminal-sim/sim-disk.js';
import type { TxnResult } from '../../firmware-ts/txn/engine-api.js';
import type { AuthIntent, AuthOutcome, ReceiptPrinted, ReversalCleared } from '../../firmware-ts/txn/records.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { EngineRig } from './engine-rig.js';

type CutPoint =
  | 'before the intent is durable'
  | 'after the intent is durable, before sending'
  | 'after sending, before the host sees it'
  | 'after the host debits, before the reply'
  | 'after the reply, before the outcome is durable'
  | 'after the outcome, before printing'
  | 'after the host applies the reversal, before it is cleared';

/** What the acquirer must hold for the cut sale once everything has settled. */
const EXPECT: Record<CutPoint, 'nothing' | 'reversed' | 'sale' | 'as-the-outcome-landed'> = {
  'before the intent is durable': 'nothing',
  'after the intent is durable, before sending': 'nothing',
  'after sending, before the host sees it': 'nothing',
  'after the host debits, before the reply': 'reversed',
  // The unsynced outcome may still reach the platter (keep, tear): then it is a sale, else it is reversed.
  'after the reply, before the outcome is durable': 'as-the-outcome-landed',
  'after the outcome, before printing': 'sale',
  'after the host applies the reversal, before it is cleared': 'reversed',
};

/** Cuts power during the n-th journal fdatasync from now, before or after it reaches the platter. */
function cutAtDatasync(rig: EngineRig, n: number, phase: SyncEvent['phase'], crash: () => void): void {
  let seen = 0;
  rig.disk.onSync((e) => {
    if (e.kind !== 'datasync' || e.phase !== 'before' || e.path.endsWith('spare.tmp')) return;
    if (++seen !== n) return;
    if (phase === 'before') {
      rig.disk.onSync(null);
      crash();
      return;
    }
    rig.disk.onSync((after) => {
      if (after.kind === 'datasync' && after.phase === 'after') {
        rig.disk.onSync(null);
        crash();
      }
    });
  });
}

async function cutAndReboot(point: CutPoint, mode: CrashMode, seed: number) {
  const rig = new EngineRig(point === 'after the host applies the reversal, before it is cleared' ? { rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }] } : {});
  const rng = createRng(seed);
  const first = await rig.start();
  await rig.run(first.boot());
  expect(await rig.run(first.sale(1_000))).toMatchObject({ kind: 'approved' });
  const stansBefore = rig.journal.state.stan;

  const ledgerCount = (kind: 'authorization' | 'reversal') => rig.host.state.entries.filter((e) => (kind === 'reversal' ? e.kind === 'reversal' : e.kind === 'authorization' && e.amount === '000000004200')).length;
  let atCut: { written: number; debited: number; reversed: number } | undefined;
  const writtenBefore = rig.financialWrites;
  const crash = () => {
    atCut = { written: rig.financialWrites - writtenBefore, debited: ledgerCount('authorization'), reversed: ledgerCount('reversal') };
    rig.disk.crash(rng, mode);
    // The dead process's socket goes with it.
    rig.link.close();
  };
  switch (point) {
    case 'before the intent is durable':
      cutAtDatasync(rig, 1, 'before', crash);
      break;
    case 'after the intent is durable, before sending':
      cutAtDatasync(rig, 1, 'after', crash);
      break;
    case 'after sending, before the host sees it':
      rig.cutOnWrite = { at: 'before-host', cut: crash };
      break;
    case 'after the host debits, before the reply':
      rig.cutOnWrite = { at: 'after-host', cut: crash };
      break;
    case 'after the reply, before the outcome is durable':
      cutAtDatasync(rig, 2, 'before', crash);
      break;
    case 'after the outcome, before printing':
      cutAtDatasync(rig, 2, 'after', crash);
      break;
    case 'after the host applies the reversal, before it is cleared':
      rig.cutOnWrite = { at: 'after-host', cut: crash, reversal: true };
      break;
  }
  // The engine never throws out of an authorization; what it would have said is checked below.
  const told: TxnResult = await rig.run(first.sale(4_200));
  first.stop();
  rig.disk.onSync(null);

  // Reboot on the crashed disk: a new process, the same acquirer.
  const engine = await rig.start();
  confirmCut(point, mode, atCut, rig.records(), stansBefore + 1);
  const boot = await rig.run(engine.boot());
  expect(boot.reversalsStuck).toEqual([]);
  expect(engine.reversals()).toEqual([]);
  expect(rig.violations([told])).toEqual([]);

  const cutSale = rig.ledger('authorization').filter((e) => e.kind === 'authorization' && e.amount === '000000004200');
  const reversed = new Set(rig.ledger('reversal').map((e) => (e.kind === 'reversal' ? e.target : null)));
  const landed = rig.records(TerminalRecord.authOutcome.name).some((r) => (r.payload as AuthOutcome).stan === stansBefore + 1);
  const expected = EXPECT[point] === 'as-the-outcome-landed' ? (landed ? 'sale' : 'reversed') : EXPECT[point];
  if (expected === 'nothing') expect(cutSale).toEqual([]);
  else {
    expect(cutSale).toHaveLength(1);
    expect(reversed.has(cutSale[0]!.seq)).toBe(expected === 'reversed');
  }
  if (expected === 'sale') {
    // Approved and durable before the cut: the receipt prints at boot, marked duplicate (the job may have
    // started before the power went; nothing on disk says it had not).
    expect(boot.receiptsPrinted).toHaveLength(1);
    expect(rig.printer.jobs.at(-1)).toBe(`slip-1-${stansBefore + 1}-dup`);
    expect(engine.health().pendingReceipts).toEqual([]);
  }

  // The terminal sells again, with a STAN never used before (not even by an intent that reached the host).
  const next = await rig.run(engine.sale(300));
  expect(next).toMatchObject({ kind: 'approved' });
  const usedByHost = rig.host.state.entries.flatMap((e) => ('stan' in e && e.kind !== 'authorization' ? [] : 'stan' in e ? [Number(e.stan)] : []));
  expect(new Set(usedByHost).size).toBe(usedByHost.length);
  expect(next.kind === 'approved' && next.stan).toBeGreaterThan(stansBefore);
  const intents = rig.records(TerminalRecord.authIntent.name).map((r) => (r.payload as AuthIntent).stan);
  expect(new Set(intents).size).toBe(intents.length);
  expect(rig.violations()).toEqual([]);
}

/** Where the power really went, from the evidence: the wire, the acquirer's ledger at the cut, the platter after. */
function confirmCut(point: CutPoint, mode: CrashMode, at: { written: number; debited: number; reversed: number } | undefined, records: ReturnType<EngineRig['records']>, stan: number): void {
  expect(at, 'the power cut never happened').toBeDefined();
  const onDisk = (type: string) => records.some((r) => r.type === type && (r.payload as { stan: number }).stan === stan);
  const intent = onDisk('auth.intent');
  const outcome = records.some((r) => r.type === 'auth.outcome' && (r.payload as AuthOutcome).stan === stan);
  const printed = records.some((r) => r.type === 'receipt.printed' && (r.payload as ReceiptPrinted).stan === stan);
  const cleared = records.some((r) => r.type === 'reversal.cleared' && (r.payload as ReversalCleared).stan === stan);
  switch (point) {
    case 'before the intent is durable':
      expect(at!.written).toBe(0);
      // Unsynced when the power went: only a crash that keeps (or tears into) the page cache leaves it.
      if (mode === 'drop') expect(intent).toBe(false);
      break;
    case 'after the intent is durable, before sending':
      expect([at!.written, intent]).toEqual([0, true]);
      break;
    case 'after sending, before the host sees it':
      expect([at!.written, at!.debited, intent]).toEqual([1, 0, true]);
      break;
    case 'after the host debits, before the reply':
      expect([at!.written, at!.debited, intent, outcome]).toEqual([1, 1, true, false]);
      break;
    case 'after the reply, before the outcome is durable':
      expect([at!.debited, intent]).toEqual([1, true]);
      if (mode === 'drop') expect(outcome).toBe(false);
      break;
    case 'after the outcome, before printing':
      expect([at!.debited, intent, outcome, printed]).toEqual([1, true, true, false]);
      break;
    case 'after the host applies the reversal, before it is cleared':
      expect([at!.debited, at!.reversed, intent, cleared]).toEqual([1, 1, true, false]);
      break;
  }
}

describe('power cut at every step of a sale, then reboot', () => {
  const points = Object.keys(EXPECT) as CutPoint[];
  for (const point of points) {
    for (const [mode, seed] of [['keep', 1], ['drop', 2], ['random', 3], ['random', 4], ['tear', 5]] as const) {
      it(`${point} (${mode}, seed ${seed})`, async () => {
        await cutAndReboot(point, mode, seed);
      });
    }
  }
});
