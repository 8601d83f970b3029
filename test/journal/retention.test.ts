// Retention retires old segments only when nothing in them is still owed (DESIGN rule 3): an unanswered
// reversal or an unprinted receipt pins its segment and everything after it, through restarts and crashes.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SimDisk, type CrashMode } from '../../host-bridge/terminal-sim/sim-disk.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { openTerminalJournal, type TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { saleIntent, saleOutcome } from '../../firmware-ts/journal/synthetic-sales.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { verifyJournal } from '../../firmware-ts/journal/verify.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { JournalClosedError } from '../../firmware-ts/journal/errors.js';
import { parseSegmentFileName } from '../../protocol/journal/format.js';
import { propertyRuns } from '../property-runs.js';

const DIR = '/j';
const ARCHIVE = '/j/archive';
const key = randomBytes(32);
const STAN = 900_001; // the obligation's STAN, far from the synthetic sales' STANs
const types = new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);
type Obligation = 'reversal' | 'receipt';

const open = (disk: SimDisk) => openTerminalJournal({ dir: DIR, deviceKey: key, storage: disk, segmentBytes: 64 * 1024 });
const segments = (disk: SimDisk, dir = DIR) => (disk.exists(dir) ? disk.list(dir).filter((n) => n.endsWith('.wal')).sort() : []);

async function sales(j: TerminalJournal, from: number, count: number): Promise<void> {
  // Settling every 40 sales, as a busy terminal does, so the batch itself does not pin old segments.
  for (const step of syntheticSteps(from, count, 40)) await j.append(step.records, { durable: step.durable });
}

/** Leaves an obligation open for STAN: an unanswered reversal, or an approved sale whose receipt never printed. */
async function openObligation(j: TerminalJournal, kind: Obligation): Promise<number> {
  const { firstSeq } = await j.append([{ type: TerminalRecord.authIntent.name, payload: { ...saleIntent(1, 1), stan: STAN } }], { durable: true });
  const next =
    kind === 'reversal'
      ? { type: TerminalRecord.reversalRequired.name, payload: { stan: STAN, reason: '98', at: '2026-11-21T01:00:00.000Z' } }
      : { type: TerminalRecord.authOutcome.name, payload: { ...saleOutcome(1, true), stan: STAN } };
  await j.append([next], { durable: true });
  return firstSeq;
}

async function closeObligation(j: TerminalJournal, kind: Obligation): Promise<void> {
  const at = '2026-11-21T02:00:00.000Z';
  const record =
    kind === 'reversal'
      ? { type: TerminalRecord.reversalCleared.name, payload: { stan: STAN, responseCode: '00', at } }
      : { type: TerminalRecord.receiptPrinted.name, payload: { stan: STAN, copies: 'both' } };
  await j.append([record], { durable: true });
}

const isOpen = (j: TerminalJournal, kind: Obligation) => (kind === 'reversal' ? j.state.reversals[STAN] : j.state.pendingReceipts[STAN]) !== undefined;

/** Name of the segment holding `seq`. */
function segmentOf(names: string[], seq: number): string {
  return names.filter((n) => parseSegmentFileName(n)! <= seq).at(-1)!;
}

function expectClean(disk: SimDisk): void {
  const v = verifyJournal(DIR, { storage: disk, deviceKey: key, types });
  expect(v.corrupt).toBeNull();
  expect(v.tampered).toBeNull();
}

/** Closed history, then an obligation, then more closed history: several segments on each side. */
async function build(kind: Obligation): Promise<{ disk: SimDisk; seq: number }> {
  const disk = new SimDisk();
  const j = await open(disk);
  await sales(j, 1, 200);
  const seq = await openObligation(j, kind);
  await sales(j, 201, 400);
  await j.close();
  return { disk, seq };
}

describe('retention', () => {
  for (const kind of ['reversal', 'receipt'] as const) {
    it(`keeps the segment of an open ${kind} and everything after; retires it once closed`, async () => {
      const { disk, seq } = await build(kind);
      const all = segments(disk);
      const pinned = segmentOf(all, seq);
      const pinnedAt = all.indexOf(pinned);
      expect(pinnedAt).toBeGreaterThanOrEqual(2);
      expect(all.length - pinnedAt).toBeGreaterThanOrEqual(3);

      let j = await open(disk);
      const archived = await j.retain({ mode: 'archive' });
      expect(archived?.segments).toEqual(all.slice(0, pinnedAt));
      expect(archived!.throughSeq).toBe(parseSegmentFileName(pinned)! - 1);
      expect(segments(disk)).toEqual(all.slice(pinnedAt));
      expect(segments(disk, ARCHIVE)).toEqual(all.slice(0, pinnedAt));
      expect(await j.retain({ mode: 'archive' })).toBeNull();
      const state = structuredClone(j.state);
      await j.close();

      // A restart after retention folds the same state, the obligation included.
      j = await open(disk);
      expect(j.state).toEqual(state);
      expect(isOpen(j, kind)).toBe(true);
      expectClean(disk);

      await closeObligation(j, kind);
      expect(isOpen(j, kind)).toBe(false);
      await sales(j, 601, 100);
      const before = segments(disk);
      const deleted = await j.retain({ mode: 'delete' });
      expect(deleted?.segments).toContain(pinned);
      // Delete mode removes: the files are gone from the journal and did not go to the archive.
      for (const name of deleted!.segments) expect(disk.exists(`${DIR}/${name}`) || disk.exists(`${ARCHIVE}/${name}`)).toBe(false);
      expect(segments(disk)).toEqual(before.slice(deleted!.segments.length));
      expect(segments(disk)).toContain(before.at(-1));
      const after = structuredClone(j.state);
      await j.close();
      j = await open(disk);
      expect(j.state).toEqual(after);
      await j.close();
      expectClean(disk);
    });
  }

  it('a failed directory fsync during retention closes the journal for writing (no retry)', async () => {
    const { disk } = await build('reversal');
    const j = await open(disk);
    disk.failNextSync({ kind: 'syncDir' });
    await expect(j.retain({ mode: 'archive' })).rejects.toBeInstanceOf(JournalClosedError);
    const syncs = disk.stats.syncs;
    await expect(j.append([{ type: TerminalRecord.receiptPrinted.name, payload: { stan: 1, copies: 'both' } }], { durable: true })).rejects.toBeInstanceOf(JournalClosedError);
    await expect(j.retain({ mode: 'archive' })).rejects.toBeInstanceOf(JournalClosedError);
    expect(disk.stats.syncs).toBe(syncs);
    await j.close();
    const again = await open(disk);
    expect(isOpen(again, 'reversal')).toBe(true);
    await again.close();
    expectClean(disk);
  });

  it('a power cut at any sync of a retention reopens cleanly with nothing open lost', async () => {
    let cases = 0;
    const crashes: CrashMode[] = ['keep', 'drop', 'tear', 'random'];
    // Every crash mode at every sync point and phase; under `npm run mutate` one mode each (propertyRuns),
    // taken in turn so all four still occur. Sampling the sync points instead would save little: a
    // retention takes only two or three.
    const perPoint = propertyRuns(crashes.length);
    const crashed = new Set<CrashMode>();
    for (const mode of ['archive', 'delete'] as const) {
      // Count the barriers one retention takes, on an identical journal.
      const probe = await build('reversal');
      const pj = await open(probe.disk);
      const s0 = probe.disk.stats.syncs;
      await pj.retain({ mode });
      const syncs = probe.disk.stats.syncs - s0;
      await pj.close();
      expect(syncs).toBeGreaterThanOrEqual(2);

      for (let k = 1; k <= syncs; k++) {
        for (const phase of ['before', 'after'] as const) {
          for (let c = 0; c < perPoint; c++) {
            const crash = crashes[cases % crashes.length]!;
            crashed.add(crash);
            const { disk, seq } = await build('reversal');
            const original = segments(disk);
            let j = await open(disk);
            const state = structuredClone(j.state);
            disk.crashAtSync(disk.stats.syncs + k, createRng(k * 31 + cases), crash, phase);
            await expect(j.retain({ mode }), `${mode} sync ${k} ${phase} ${crash}`).rejects.toBeInstanceOf(JournalClosedError);
            disk.onSync(null);
            cases++;

            j = await open(disk);
            expect(j.state).toEqual(state);
            expect(isOpen(j, 'reversal')).toBe(true);
            const pinned = segmentOf(original, seq);
            expect(segments(disk)).toContain(pinned);
            // Archive mode never loses a segment: each is in the journal or in the archive.
            if (mode === 'archive') for (const n of original) expect(disk.exists(`${DIR}/${n}`) || disk.exists(`${ARCHIVE}/${n}`)).toBe(true);
            expectClean(disk);
            // And retention, run again, finishes the job.
            await j.retain({ mode });
            expect(segments(disk)[0]).toBe(pinned);
            await j.close();
            expectClean(disk);
          }
        }
      }
    }
    expect([...crashed].sort()).toEqual([...crashes].sort());
  });
});
