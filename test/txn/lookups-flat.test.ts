// Lookups flat in history (issue 13, item 0): with thousands of sales of history in many segments, a
// sale, status (by STAN, RRN, request id), reprint, void, a repeated request id and a reversal read no
// segment at all — everything comes from the fold. A checkpoint of an older build (no `txns`) gets them
// rebuilt from the open batch's records at open, and the bounded window of closed transactions is kept.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Storage, StorageFile } from '../../firmware-ts/io/storage.js';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { syntheticSteps } from '../../firmware-ts/journal/synthetic-sales.js';
import { terminalRecordTypes, TerminalRecord } from '../../firmware-ts/txn/records.js';
import { terminalFold, type TerminalJournalState } from '../../firmware-ts/txn/terminal-fold.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { RECENT_CLOSED_TXNS, TERMINAL_STATE_VERSION, terminalStateFold, type TxnView } from '../../firmware-ts/txn/terminal-state.js';
import { readTerminalRecords, reversalIntent, txnViews, viewByRequestId } from '../../firmware-ts/txn/txn-history.js';
import { decodeTxns, encodeTxns } from '../../firmware-ts/txn/txn-snapshot.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { EngineRig, JOURNAL_DIR, PASSWORD } from './engine-rig.js';

/** The rig's SimDisk, counting every read of a journal segment by file name. */
class CountingStorage implements Storage {
  readonly reads = new Map<string, number>();
  constructor(private readonly inner: SimDisk) {}
  open(p: string, mode: 'r' | 'rw' | 'create'): StorageFile {
    const f = this.inner.open(p, mode);
    const name = path.basename(p);
    const count = (n: number) => (name.startsWith('seg-') ? void this.reads.set(name, (this.reads.get(name) ?? 0) + n) : undefined);
    return {
      path: f.path,
      size: () => f.size(),
      read: (buf, offset, length, position) => {
        count(1);
        return f.read(buf, offset, length, position);
      },
      write: (buf, position) => f.write(buf, position),
      datasync: () => f.datasync(),
      sync: () => f.sync(),
      truncate: (n) => f.truncate(n),
      close: () => f.close(),
    };
  }
  exists = (p: string) => this.inner.exists(p);
  list = (d: string) => this.inner.list(d);
  mkdirp = (d: string) => this.inner.mkdirp(d);
  rename = (a: string, b: string) => this.inner.rename(a, b);
  remove = (p: string) => this.inner.remove(p);
  syncDir = (d: string) => this.inner.syncDir(d);
  lock = (d: string) => this.inner.lock(d);
  get segmentReads(): number {
    return [...this.reads.values()].reduce((a, b) => a + b, 0);
  }
}

/** Thousands of sales of history, settled every 100, in many 64 KiB segments. */
async function fillHistory(rig: EngineRig, sales: number): Promise<void> {
  const j = await openTerminalJournal({ dir: JOURNAL_DIR, deviceKey: rig.deviceKey, storage: rig.disk, segmentBytes: 64 * 1024 });
  for (const step of syntheticSteps(1, sales, 100)) await j.append(step.records, { durable: false });
  await j.sync();
  await j.close();
}

describe('lookups come from the fold, never from history', () => {
  it('sale, status, reprint, void, a repeated request id and a reversal read no segment', async () => {
    const rig = new EngineRig();
    await fillHistory(rig, 3_000);
    const storage = new CountingStorage(rig.disk);
    const engine = await rig.start({ journal: { dir: JOURNAL_DIR, storage } });
    expect(rig.journal.segmentNames().length).toBeGreaterThan(20);
    await rig.run(engine.boot());
    storage.reads.clear();

    const sale = await rig.run(engine.sale(1_250, { requestId: 'till-1:0001' }));
    expect(sale).toMatchObject({ kind: 'approved', receipt: 'printed' });
    if (sale.kind !== 'approved') throw new Error('not approved');
    expect(engine.status({ stan: sale.stan })).toMatchObject({ found: true, state: 'approved', receipt: 'printed', requestId: 'till-1:0001' });
    expect(engine.status({ rrn: sale.rrn })).toMatchObject({ found: true, stan: sale.stan });
    expect(engine.status({ requestId: 'till-1:0001' })).toMatchObject({ found: true, stan: sale.stan });
    expect(engine.status({ last: true })).toMatchObject({ found: true, stan: sale.stan });
    expect(await rig.run(engine.reprint({ stan: sale.stan }))).toEqual({ kind: 'printed', stan: sale.stan });
    expect(await rig.run(engine.sale(1_250, { requestId: 'till-1:0001' }))).toMatchObject({ kind: 'approved', stan: sale.stan, replayed: true });
    const voided = await rig.run(engine.void({ stan: sale.stan, password: PASSWORD }));
    expect(voided).toMatchObject({ kind: 'approved', txn: 'void' });
    expect(engine.status({ stan: sale.stan })).toMatchObject({ state: 'voided' });

    // A lost reply: the reversal goes out at once, its image from the fold.
    rig.host.rules = { ...rig.host.rules, rules: [{ when: { amount: 777, mti: '0200' }, then: { action: 'drop-reply' } }] };
    const lost = await rig.run(engine.sale(777));
    expect(lost).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
    expect(rig.ledger('reversal')).toHaveLength(1);

    expect(Object.fromEntries(storage.reads), 'segment reads during the operations').toEqual({});
  });

  it('a reversal whose image the fold already dropped reads the one segment that holds its intent', async () => {
    const disk = new SimDisk();
    const key = Buffer.alloc(32, 7);
    const j = await openTerminalJournal({ dir: '/j', deviceKey: key, storage: disk, segmentBytes: 64 * 1024 });
    for (const step of syntheticSteps(1, 600, 1_000)) await j.append(step.records, { durable: step.durable });
    await j.close();
    const storage = new CountingStorage(disk);
    const reopened = await openTerminalJournal({ dir: '/j', deviceKey: key, storage, segmentBytes: 64 * 1024 });
    storage.reads.clear();
    const printed = Object.values(reopened.state.txns).find((v) => v.printed && v.intent.stan === 300)!;
    expect(printed.intent.reversalImage, 'closed: image dropped').toBeUndefined();
    const intent = reversalIntent(printed, reopened, storage);
    expect(intent?.reversalImage).toEqual({ mti: '0400', processingCode: '000000', posEntry: '051', posCondition: '00', reason: '98' });
    const holder = reopened.segmentNames().filter((n) => Number.parseInt(n.slice(4, 20), 16) <= printed.seq).at(-1)!;
    expect([...storage.reads.keys()]).toEqual([holder]);
    expect(reopened.segmentNames().length).toBeGreaterThan(3);
    await reopened.close();
  });
});

describe('the fold keeps the open batch, every open obligation and a bounded window', () => {
  it(`after a settlement keeps the ${RECENT_CLOSED_TXNS} newest closed transactions and every one still owing`, () => {
    const fold = terminalStateFold('recent');
    const s = fold.initial();
    let seq = 1;
    const at = '2026-12-01T10:00:00.000Z';
    const apply = (type: string, payload: unknown) => fold.apply(s, { seq: seq++, type, payload });
    for (let stan = 1; stan <= 500; stan++) {
      apply(TerminalRecord.authIntent.name, { stan, batch: 1, kind: 'sale', amount: 100, currency: '156', maskedPan: '622202******1234', entryMode: '051', at, reversalImage: { mti: '0200' }, requestId: `r-${stan}` });
      if (stan === 3) apply(TerminalRecord.reversalRequired.name, { stan, reason: '98', at });
      else apply(TerminalRecord.authOutcome.name, { stan, result: 'approved', responseCode: '00', rrn: `RRN${String(stan).padStart(9, '0')}`, at });
      if (stan !== 5) apply(TerminalRecord.receiptPrinted.name, { stan, copies: 'both' });
    }
    apply(TerminalRecord.settlementDone.name, { batch: 1, balanced: true, nextBatch: 2, at });
    const kept = Object.values(s.txns).map((v) => v.intent.stan);
    expect(kept).toHaveLength(RECENT_CLOSED_TXNS + 2);
    expect(kept.slice(0, 2), 'the owed reversal and the unprinted receipt').toEqual([3, 5]);
    expect(kept.slice(2)).toEqual(Array.from({ length: RECENT_CLOSED_TXNS }, (_, i) => 500 - RECENT_CLOSED_TXNS + 1 + i));
    expect(viewByRequestId(s, 'r-500')?.intent.stan).toBe(500);
    expect(viewByRequestId(s, `r-${500 - RECENT_CLOSED_TXNS}`), 'beyond the window').toBeUndefined();
    // Only what can still be reversed keeps its reversal image.
    expect(s.txns[Object.keys(s.txns)[0]!]!.intent.reversalImage).toEqual({ mti: '0200' });
    expect(s.txns[Object.keys(s.txns)[1]!]!.intent.reversalImage).toEqual({ mti: '0200' });
    expect(s.txns[Object.keys(s.txns)[2]!]!.intent.reversalImage).toBeUndefined();
  });

  it('the checkpoint form decodes to exactly the views the fold built', () => {
    const views: TxnView[] = [
      { seq: 10, intent: { stan: 1, batch: 3, kind: 'balance', amount: 0, currency: '156', maskedPan: '622202******1234', entryMode: '051', at: 'x' }, outcome: { result: 'approved', responseCode: '00', rrn: 'RRN000000001' }, printed: false },
      { seq: 11, intent: { stan: 2, batch: 3, kind: 'sale', amount: 5, currency: '156', maskedPan: '622202******1234', entryMode: '051', at: 'x', requestId: 'q', reversalImage: { mti: '0200', '4': '000000000005' } }, outcome: { result: 'declined', responseCode: 'not-sent' }, printed: false },
      { seq: 12, intent: { stan: 3, batch: 3, kind: 'void', amount: 5, currency: '156', maskedPan: '622202******1234', entryMode: '051', at: 'x', original: { stan: 9, rrn: 'RRN000000009' } }, reversal: { reason: '06', state: 'cleared', attempts: 2, responseCode: '25' }, outcome: { result: 'approved', responseCode: '00', rrn: 'R', authCode: 'A1' }, printed: true, consumedBy: 4 },
      { seq: 13, intent: { stan: 4, batch: 3, kind: 'sale', amount: 7, currency: '156', maskedPan: '622202******1234', entryMode: '051', at: 'x', pinEntered: true } as TxnView['intent'], printed: false },
    ];
    const txns = Object.fromEntries(views.map((v) => [v.seq, v]));
    expect(decodeTxns(JSON.parse(JSON.stringify(encodeTxns(txns))))).toStrictEqual(txns);
  });

  it('JOURNAL_FORMAT §6.1: its example entry is what the fold writes for an approved, printed sale', () => {
    const spec = fs.readFileSync(new URL('../../protocol/JOURNAL_FORMAT.md', import.meta.url), 'utf8');
    const example = spec.split('\n').find((l) => l.startsWith('[16,[6,1,"sale"'))!;
    const fold = terminalStateFold('recent');
    const s = fold.initial();
    const intent = { stan: 6, batch: 1, kind: 'sale', amount: 230578, currency: '156', maskedPan: '520000******0008', entryMode: '072', at: '2026-11-21T01:03:42.000Z', reversalImage: { mti: '0200' } };
    fold.apply(s, { seq: 16, type: TerminalRecord.authIntent.name, payload: intent });
    fold.apply(s, { seq: 17, type: TerminalRecord.authOutcome.name, payload: { stan: 6, result: 'approved', responseCode: '00', rrn: 'R59625965XXX', authCode: '00DEZX', at: '2026-11-21T01:03:43.400Z' } });
    fold.apply(s, { seq: 18, type: TerminalRecord.receiptPrinted.name, payload: { stan: 6, copies: 'both' } });
    expect(JSON.stringify(encodeTxns(s.txns))).toBe(`[${example}]`);
  });
});

describe('a checkpoint of an older build (state version 1, no txns)', () => {
  it('gets the open batch and every open obligation rebuilt from their records at open', async () => {
    const disk = new SimDisk();
    const key = Buffer.alloc(32, 9);
    // The older build wrote its checkpoints without `txns` and without a version.
    const olderFold = { ...terminalFold, toCheckpoint: ({ version: _v, txns: _t, ...v1 }: TerminalJournalState) => v1 };
    const old = await Journal.open({ dir: '/j', deviceKey: key, storage: disk, segmentBytes: 64 * 1024, fold: olderFold, types: terminalRecordTypes() });
    for (const step of syntheticSteps(1, 1_450, 200)) await old.append(step.records, { durable: step.durable });
    await old.close();

    const j = await openTerminalJournal({ dir: '/j', deviceKey: key, storage: disk, segmentBytes: 64 * 1024 });
    expect(j.openReport.checkpointSeq).toBeGreaterThan(1);
    expect(j.state.version).toBe(TERMINAL_STATE_VERSION);
    const all = [...txnViews(readTerminalRecords(j, disk)).values()];
    const openBatch = all.filter((v) => v.intent.batch === j.state.batch);
    expect(openBatch.length).toBe(50);
    const rebuilt = Object.values(j.state.txns);
    expect(rebuilt.map((v) => v.seq)).toEqual(openBatch.map((v) => v.seq));
    expect(rebuilt).toEqual(openBatch);
    await j.close();
  });

  it('a rebuild that cannot read the records fails the open and leaves the journal closed for the next one', async () => {
    const disk = new SimDisk();
    const key = Buffer.alloc(32, 9);
    const olderFold = { ...terminalFold, toCheckpoint: ({ version: _v, txns: _t, ...v1 }: TerminalJournalState) => v1 };
    const old = await Journal.open({ dir: '/j', deviceKey: key, storage: disk, segmentBytes: 64 * 1024, fold: olderFold, types: terminalRecordTypes() });
    for (const step of syntheticSteps(1, 700, 1_000)) await old.append(step.records, { durable: step.durable });
    await old.close();
    // The open ends by opening its active segment for writing; every segment read after that is the rebuild's.
    let opened = false;
    const failing: Storage = Object.assign(Object.create(disk) as SimDisk, {
      open: (p: string, mode: 'r' | 'rw' | 'create') => {
        if (opened && mode === 'r') throw new Error(`EIO reading ${p}`);
        if (mode === 'rw') opened = true;
        return disk.open(p, mode);
      },
    });
    await expect(openTerminalJournal({ dir: '/j', deviceKey: key, storage: failing, segmentBytes: 64 * 1024 })).rejects.toThrow(/^EIO reading \/j\/seg-/);
    const j = await openTerminalJournal({ dir: '/j', deviceKey: key, storage: disk, segmentBytes: 64 * 1024 });
    expect(j.state.version).toBe(TERMINAL_STATE_VERSION);
    expect(Object.keys(j.state.txns)).toHaveLength(700);
    await j.close();
  });
});
