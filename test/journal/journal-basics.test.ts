import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { JournalError, JournalLockedError, SensitiveDataError } from '../../firmware-ts/journal/errors.js';
import { verifyJournal } from '../../firmware-ts/journal/verify.js';
import { terminalSalvage } from '../../firmware-ts/txn/terminal-salvage.js';
import { repairJournal } from '../../firmware-ts/journal/repair.js';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import type { StateMachine } from '../../firmware-ts/journal/state-machine.js';
import { tmpDir } from '../helpers/tmp.js';
import { propertyRuns } from '../property-runs.js';

const key = randomBytes(32);

describe('journal basics', () => {
  it('appends, reopens and folds the same state, across segment rotations', async () => {
    const dir = path.join(tmpDir('jbasic'), 'journal');
    const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 });
    for (const step of syntheticSteps(1, 1200, 100)) await j.append(step.records, { durable: step.durable });
    const before = structuredClone(j.state);
    const next = j.nextSeq;
    expect(j.segmentNames().length).toBeGreaterThan(3);
    await j.close();

    const again = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 });
    expect(again.nextSeq).toBe(next);
    expect(again.state).toEqual(before);
    expect(again.openReport.tornTailBytes).toBe(0);
    // Boot replays only the newest segment's tail, not the whole history.
    expect(again.openReport.recordsReplayed).toBeLessThan(next / 3);
    await again.close();
  });

  it('uses the spare segment zero-filled in the background once it is ready', async () => {
    const dir = path.join(tmpDir('jspare'), 'journal');
    const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 });
    expect(await j.whenSpareReady()).toBe(true);
    expect(fs.statSync(path.join(dir, 'spare.tmp')).size).toBe(64 * 1024);
    let rotations = 0;
    for (const step of syntheticSteps(1, 400, 100)) {
      const before = j.segmentNames().length;
      await j.append(step.records, { durable: step.durable });
      if (j.segmentNames().length > before) {
        rotations++;
        await j.whenSpareReady();
      }
    }
    expect(rotations).toBeGreaterThan(1);
    const state = structuredClone(j.state);
    await j.close();
    const again = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 });
    expect(again.state).toEqual(state);
    expect(verifyJournal(dir, { deviceKey: key }).corrupt).toBeNull();
    await again.close();
  });

  it('grows a segment when the open state outgrows it, instead of refusing to write', async () => {
    const dir = path.join(tmpDir('jbig'), 'journal');
    const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 });
    // One batch never settled: thousands of approved sales stay open for settlement upload. Fewer under
    // `npm run mutate`, but never below 300: each open sale is ~360 checkpoint bytes, and a 64 KiB segment
    // (the smallest the journal allows) must grow once its checkpoint passes half of it, at ~100 sales.
    const sales = Math.max(300, propertyRuns(3000));
    for (const step of syntheticSteps(1, sales, 1_000_000)) await j.append(step.records, { durable: step.durable });
    const state = structuredClone(j.state);
    await j.close();
    const sizes = fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).map((n) => fs.statSync(path.join(dir, n)).size);
    expect(Math.max(...sizes)).toBeGreaterThan(64 * 1024);
    const again = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 });
    expect(again.state).toEqual(state);
    expect(Object.keys(again.state.batchEntries).length).toBeGreaterThan((sales * 2) / 3);
    await again.close();
  });

  it('refuses to "repair" a journal opened with the wrong device key', async () => {
    const dir = path.join(tmpDir('jwrongkey'), 'journal');
    const j = await openTerminalJournal({ dir, deviceKey: key });
    for (const step of syntheticSteps(1, 20)) await j.append(step.records, { durable: step.durable });
    await j.close();
    const before = fs.readdirSync(dir).sort();
    await expect(repairJournal(dir, { deviceKey: randomBytes(32), confirm: true, policy: terminalSalvage, now: () => new Date(0).toISOString() })).rejects.toThrow(/wrong device key/);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  it('checkpoints an open state larger than any appended record may be, and reads it back', async () => {
    const dir = path.join(tmpDir('jbigstate'), 'journal');
    // A fold whose state is one big list, standing in for a batch left unsettled for weeks.
    const fold: StateMachine<{ notes: string[] }> = {
      initial: () => ({ notes: [] }),
      apply: (st, r) => void st.notes.push((r.payload as { note: string }).note),
      toCheckpoint: (st) => st,
      fromCheckpoint: (snap) => snap as { notes: string[] },
      oldestOpenSeq: () => 1,
    };
    const types = new RecordTypes([{ name: 'test.note', code: 100, version: 1 }]);
    const open = () => Journal.open({ dir, deviceKey: key, fold, types, segmentBytes: 1 << 20 });
    const j = await open();
    const note = 'n'.repeat(4000);
    for (let i = 0; i < 600; i++) await j.append([{ type: 'test.note', payload: { note } }], { durable: false });
    await j.sync();
    expect(j.segmentNames().length).toBeGreaterThan(1);
    await j.close();
    const again = await open();
    expect(again.state.notes.length).toBe(600);
    expect(again.openReport.checkpointSeq).toBeGreaterThan(1);
    await again.close();
    expect(verifyJournal(dir, { deviceKey: key }).corrupt).toBeNull();
  });

  it('refuses a second writer with the holder pid', async () => {
    const dir = path.join(tmpDir('jlock'), 'journal');
    const j = await openTerminalJournal({ dir, deviceKey: key });
    await expect(openTerminalJournal({ dir, deviceKey: key })).rejects.toBeInstanceOf(JournalLockedError);
    await j.close();
    const k = await openTerminalJournal({ dir, deviceKey: key });
    await k.close();
  });

  it('refuses a full PAN, track data and a PIN block', async () => {
    const dir = path.join(tmpDir('jpci'), 'journal');
    const j = await openTerminalJournal({ dir, deviceKey: key });
    const next = j.nextSeq;
    const bad = [
      { note: 'card 6222021234567894' },
      { t2: '6222021234567894=27122011234' },
      { pinBlock: '0412AC89ABCDEF67' },
      { cvv: '123' },
    ];
    for (const payload of bad) {
      await expect(j.append([{ type: TerminalRecord.receiptPrinted.name, payload }], { durable: true })).rejects.toBeInstanceOf(SensitiveDataError);
    }
    expect(j.nextSeq).toBe(next);
    await j.close();
    expect(fs.readdirSync(dir).some((n) => n.endsWith('.wal'))).toBe(true);
  });

  it('refuses every bad append with a rejected promise, never a throw at the call, and appends nothing', async () => {
    const dir = path.join(tmpDir('jrefuse'), 'journal');
    const j = await openTerminalJournal({ dir, deviceKey: key });
    await j.append([{ type: TerminalRecord.stanAllocated.name, payload: { stan: 1, purpose: 'sign-on', at: '' } }], { durable: true });
    const next = j.nextSeq;
    const throwing = Object.defineProperty({}, 'stan', { enumerable: true, get: () => { throw new Error('getter failed'); } });
    const bad: [string, () => Promise<unknown>, RegExp | (new (...a: never[]) => unknown)][] = [
      ['no records', () => j.append([], { durable: true }), RangeError],
      ['not a list', () => j.append(undefined as never, { durable: true }), TypeError],
      ['an unknown type', () => j.append([{ type: 'no.such-type', payload: {} }], { durable: true }), /unknown record type/],
      ['a throwing getter', () => j.append([{ type: TerminalRecord.receiptPrinted.name, payload: throwing }], { durable: true }), /getter failed/],
      ['card data', () => j.append([{ type: TerminalRecord.receiptPrinted.name, payload: { stan: 2, note: '6222021234567890128' } }], { durable: true }), SensitiveDataError],
      ['no options', () => j.append([{ type: TerminalRecord.receiptPrinted.name, payload: { stan: 2 } }], undefined as never), TypeError],
    ];
    for (const [what, call, expected] of bad) {
      let p: Promise<unknown> | undefined;
      expect(() => (p = call()), what).not.toThrow();
      if (expected instanceof RegExp) await expect(p, what).rejects.toThrow(expected);
      else await expect(p, what).rejects.toBeInstanceOf(expected);
      expect(j.nextSeq, what).toBe(next);
    }
    await j.close();
    let closed: Promise<unknown> | undefined;
    expect(() => (closed = j.append([{ type: TerminalRecord.receiptPrinted.name, payload: { stan: 2 } }], { durable: true }))).not.toThrow();
    await expect(closed).rejects.toThrow();
  });

  it("refuses a caller's record of the journal's own types: a forged retention would hide a removed segment", async () => {
    const dir = path.join(tmpDir('jreserved'), 'journal');
    const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 });
    for (const step of syntheticSteps(1, 300)) await j.append(step.records, { durable: step.durable });
    const next = j.nextSeq;
    const state = structuredClone(j.state);
    const forged = [
      { type: 'journal.retention', payload: { throughSeq: 1e9, mode: 'delete', segments: [] } },
      { type: 'journal.checkpoint', payload: { throughSeq: 1, retainedThroughSeq: 1e9, state: {} } },
      { type: 'journal.sealed', payload: { nextFirstSeq: 1e9 } },
      { type: 'journal.repair', payload: { state: {} } },
    ];
    for (const r of forged) {
      // Alone or behind a good record: the whole batch is refused, nothing of it written.
      for (const batch of [[r], [{ type: TerminalRecord.stanAllocated.name, payload: { stan: 999, purpose: 'sign-on', at: '' } }, r]]) {
        const e = await j.append(batch, { durable: true }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(JournalError);
        expect((e as JournalError).code).toBe('RESERVED_TYPE');
        expect((e as JournalError).message).toBe(`record type ${r.type} is the journal's own: only the journal and its repair write it; nothing was appended`);
      }
    }
    expect(j.nextSeq).toBe(next);
    expect(j.state).toEqual(state);
    const names = fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
    expect(names.length).toBeGreaterThanOrEqual(3);
    await j.close();
    // A removed middle segment is still found at the next open.
    fs.rmSync(path.join(dir, names[1]!));
    await expect(openTerminalJournal({ dir, deviceKey: key, segmentBytes: 64 * 1024 })).rejects.toThrow(/missing/);
  });
});
