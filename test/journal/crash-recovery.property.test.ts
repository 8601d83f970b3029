// Power loss at any sync, in the style of SQLite's crash tests: every unsynced 512-byte sector is kept,
// dropped, torn or garbled, directory operations may be lost; then the journal must reopen by itself with
// every acknowledged durable batch intact and no batch partly visible.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { SimDisk, type CrashMode } from '../../host-bridge/terminal-sim/sim-disk.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { noState } from '../../firmware-ts/journal/state-machine.js';
import { verifyJournal } from '../../firmware-ts/journal/verify.js';
import { JournalClosedError } from '../../firmware-ts/journal/errors.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { terminalFold } from '../../firmware-ts/txn/terminal-fold.js';
import { CHECKPOINT, INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { propertyRuns } from '../property-runs.js';

const DIR = '/j';
const key = randomBytes(32);
const blobTypes = () => new RecordTypes([{ name: 'test.blob', code: 100, version: 1 }]);
const openBlob = (disk: SimDisk) => Journal.open({ dir: DIR, deviceKey: key, storage: disk, segmentBytes: 64 * 1024, fold: noState, types: blobTypes() });

interface Batch {
  payloads: string[];
  acked: boolean;
}

const opArb = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('append' as const), sizes: fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 4 }), durable: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const) }) },
);
const roundArb = fc.record({
  ops: fc.array(opArb, { minLength: 1, maxLength: 60 }),
  crashAtSync: fc.integer({ min: 1, max: 80 }),
  mode: fc.constantFrom<CrashMode>('keep', 'drop', 'tear', 'garbage', 'random'),
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
});

/** Reads what is on disk now: seq → payload JSON, failing on anything but a clean journal. */
function diskRecords(disk: SimDisk): Map<number, string> {
  const out = new Map<number, string>();
  const r = verifyJournal(DIR, { storage: disk, deviceKey: key, types: blobTypes(), onRecord: (rec) => out.set(rec.seq, rec.payload.toString('utf8')) });
  expect(r.corrupt).toBeNull();
  expect(r.tampered).toBeNull();
  expect(r.tornTailBytes).toBe(0);
  return out;
}

describe('journal under power loss (fault-injecting storage)', () => {
  it('keeps every acknowledged batch, never shows part of a batch, and reopens without help', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(roundArb, { minLength: 1, maxLength: 4 }), async (rounds) => {
        let batchId = 0;
        const disk = new SimDisk();
        let survivors = new Map<number, string>();
        for (const round of rounds) {
          const rng = createRng(round.seed);
          const j = await openBlob(disk);
          const startSyncs = disk.stats.syncs;
          disk.crashAtSync(startSyncs + round.crashAtSync, rng, round.mode);
          const batches: Batch[] = [];
          let crashed = false;
          try {
            for (const op of round.ops) {
              if (op.kind === 'sync') {
                await j.sync();
                for (const b of batches) b.acked = true;
                continue;
              }
              const payloads = op.sizes.map((n, i) => JSON.stringify({ b: ++batchId, i, pad: 'x'.repeat(n) }));
              const batch: Batch = { payloads, acked: false };
              batches.push(batch);
              await j.append(payloads.map((p) => ({ type: 'test.blob', payload: JSON.parse(p) })), { durable: op.durable });
              if (op.durable) for (const b of batches) b.acked = true;
            }
          } catch (e) {
            expect(e).toBeInstanceOf(JournalClosedError);
            crashed = true;
          }
          disk.onSync(null);
          if (!crashed) disk.crash(rng, round.mode);

          const reopened = await openBlob(disk);
          await reopened.close();
          const now = diskRecords(disk);
          for (const [seq, p] of survivors) expect(now.get(seq)).toBe(p);
          // Batches are found by content: a rotation may put a checkpoint record before a batch.
          const seqOf = new Map([...now].map(([seq, p]) => [p, seq]));
          for (const b of batches) {
            const seqs = b.payloads.map((p) => seqOf.get(p));
            const present = seqs.filter((x) => x !== undefined).length;
            if (b.acked) expect(present).toBe(b.payloads.length);
            // All or nothing, and in order with nothing between.
            expect(present === 0 || present === b.payloads.length).toBe(true);
            if (present) seqs.forEach((seq, i) => expect(seq).toBe(seqs[0]! + i));
          }
          survivors = now;
        }
      }),
      { numRuns: propertyRuns(600) },
    );
  });

  it('rebuilds the same terminal state from checkpoint + tail as from a full fold, after crashes', async () => {
    // What the runs exercised: the comparison means little unless checkpoints were written and sales survived.
    let runsWithCheckpoint = 0;
    let runsWithSales = 0;
    const rounds = propertyRuns(60);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 50, max: 900 }), async (seed, sales) => {
        const disk = new SimDisk();
        const rng = createRng(seed);
        for (let round = 0; round < 3; round++) {
          const j = await openTerminalJournal({ dir: DIR, deviceKey: key, storage: disk, segmentBytes: 64 * 1024 });
          disk.crashAtSync(disk.stats.syncs + 1 + rng.int(sales), rng, 'random');
          try {
            for (const step of syntheticSteps(j.state.stan + 1, sales, 40)) await j.append(step.records, { durable: step.durable });
          } catch (e) {
            expect(e).toBeInstanceOf(JournalClosedError);
          }
          disk.onSync(null);
        }
        const j = await openTerminalJournal({ dir: DIR, deviceKey: key, storage: disk, segmentBytes: 64 * 1024 });
        const booted = structuredClone(j.state);
        await j.close();
        const full = terminalFold.initial();
        let checkpoints = 0;
        verifyJournal(DIR, {
          storage: disk,
          // The fold ignores the journal's own checkpoint and retention records.
          onRecord: (rec) => {
            if (rec.type === CHECKPOINT.name) checkpoints++;
            terminalFold.apply(full, { seq: rec.seq, type: rec.type, payload: JSON.parse(rec.payload.toString('utf8')) });
          },
          types: new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]),
        });
        expect(booted).toEqual(full);
        if (checkpoints > 0) runsWithCheckpoint++;
        if (full.stan > 0) runsWithSales++;
      }),
      { numRuns: rounds },
    );
    expect(runsWithCheckpoint, 'runs whose journal held a checkpoint').toBeGreaterThan(rounds / 6);
    expect(runsWithSales, 'runs where sales survived the crashes').toBeGreaterThan(rounds / 2);
  });

  it('closes for writing after an fsync failure and never retries it; reopening reads the disk', async () => {
    const disk = new SimDisk();
    const j = await openBlob(disk);
    await j.append([{ type: 'test.blob', payload: { n: 1 } }], { durable: true });
    disk.failNextSync();
    await expect(j.append([{ type: 'test.blob', payload: { n: 2 } }], { durable: true })).rejects.toBeInstanceOf(JournalClosedError);
    const syncsAfterFailure = disk.stats.syncs;
    await expect(j.append([{ type: 'test.blob', payload: { n: 3 } }], { durable: true })).rejects.toBeInstanceOf(JournalClosedError);
    await expect(j.sync()).rejects.toBeInstanceOf(JournalClosedError);
    expect(disk.stats.syncs).toBe(syncsAfterFailure);
    expect(j.failed).toBeTruthy();
    await j.close();
    disk.crash(createRng(7), 'drop');
    const again = await openBlob(disk);
    const seqs = [...diskRecords(disk).values()].map((p) => JSON.parse(p).n).filter((n) => n !== undefined);
    expect(seqs[0]).toBe(1);
    expect(seqs).not.toContain(3);
    await again.close();
  });
});

