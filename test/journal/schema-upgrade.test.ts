// Versioned record schemas: a newer build reads every older record format through its upgraders and never
// drops an open record doing it; a record it cannot understand stops the open with a typed error instead
// of being skipped.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { RecordTypes, type RecordSchema } from '../../firmware-ts/journal/record-types.js';
import type { StateMachine } from '../../firmware-ts/journal/state-machine.js';
import { JournalSchemaError } from '../../firmware-ts/journal/errors.js';
import { verifyJournal } from '../../firmware-ts/journal/verify.js';

const DIR = '/j';
const key = randomBytes(32);

// Three builds of one record type. v2 added the currency, v3 the channel.
const DONE: RecordSchema = { name: 'test.done', code: 201, version: 1 };
const intentV1: RecordSchema = { name: 'test.intent', code: 200, version: 1 };
const intentV2: RecordSchema = { name: 'test.intent', code: 200, version: 2, upgrade: { 1: (p) => ({ ...p, currency: '156' }) } };
const intentV3: RecordSchema = { ...intentV2, version: 3, upgrade: { ...intentV2.upgrade, 2: (p) => ({ ...p, channel: 'pos' }) } };
const build = (...schemas: RecordSchema[]) => new RecordTypes(schemas);

/** A small fold: intents stay open until a done record names them. */
interface Open {
  open: Record<string, { seq: number; payload: Record<string, unknown> }>;
}
const fold: StateMachine<Open> = {
  initial: () => ({ open: {} }),
  apply(s, r) {
    const p = r.payload as { id: string };
    if (r.type === 'test.intent') s.open[p.id] = { seq: r.seq, payload: r.payload as Record<string, unknown> };
    if (r.type === 'test.done') delete s.open[p.id];
  },
  toCheckpoint: (s) => s,
  fromCheckpoint: (snap) => structuredClone(snap as Open),
  oldestOpenSeq: (s) => {
    const seqs = Object.values(s.open).map((o) => o.seq);
    return seqs.length ? Math.min(...seqs) : null;
  },
};

const open = (disk: SimDisk, types: RecordTypes) => Journal.open({ dir: DIR, deviceKey: key, storage: disk, segmentBytes: 64 * 1024, fold, types });
const files = (disk: SimDisk) => disk.list(DIR).filter((n) => n.endsWith('.wal')).sort().map((n) => disk.readFile(`${DIR}/${n}`).toString('hex'));

describe('schema upgrade', () => {
  it('a newer build upgrades old records on read and keeps every open one, before and after rotation', async () => {
    const disk = new SimDisk();
    const old = await open(disk, build(intentV1, DONE));
    // Open in an older segment (it will live on in checkpoints), closed, and open in the newest segment's tail.
    await old.append([{ type: 'test.intent', payload: { id: 'early', amount: 100 } }], { durable: true });
    await old.append([{ type: 'test.intent', payload: { id: 'closed', amount: 200 } }, { type: 'test.done', payload: { id: 'closed' } }], { durable: true });
    for (let i = 0; i < 300; i++) await old.append([{ type: 'test.done', payload: { id: `noise-${i}`, pad: 'x'.repeat(200) } }], { durable: false });
    await old.append([{ type: 'test.intent', payload: { id: 'late', amount: 300 } }], { durable: true });
    expect(old.segmentNames().length).toBeGreaterThan(1);
    const oldState = structuredClone(old.state);
    await old.close();

    const next = await open(disk, build(intentV2, DONE));
    expect(Object.keys(next.state.open).sort()).toEqual(['early', 'late']);
    // The tail is replayed through the upgrader: the fold sees v2.
    expect(next.state.open.late!.payload).toEqual({ id: 'late', amount: 300, currency: '156' });
    // The early one comes from the old build's checkpoint snapshot (fold state, which record upgraders do
    // not touch): it must still be there with everything it owed.
    expect(next.state.open.early).toMatchObject({ seq: oldState.open.early!.seq, payload: { id: 'early', amount: 100 } });

    // The new build writes v2 next to the old v1 records; nothing on disk is rewritten.
    await next.append([{ type: 'test.intent', payload: { id: 'v2', amount: 400, currency: '978' } }], { durable: true });
    await next.close();
    const versions = new Map<number, number>();
    verifyJournal(DIR, { storage: disk, deviceKey: key, types: build(intentV2, DONE), onRecord: (r) => r.type === 'test.intent' && versions.set(r.seq, r.version) });
    expect([...versions.values()]).toEqual([1, 1, 1, 2]);

    const again = await open(disk, build(intentV2, DONE));
    expect(Object.keys(again.state.open).sort()).toEqual(['early', 'late', 'v2']);
    expect(again.state.open.v2!.payload.currency).toBe('978');
    await again.close();
  });

  it('a record from a newer build than the reader stops the open with a typed error naming type and version', async () => {
    const disk = new SimDisk();
    const newer = await open(disk, build(intentV3, DONE));
    await newer.append([{ type: 'test.intent', payload: { id: 'a', amount: 1, currency: '156', channel: 'pos' } }], { durable: true });
    await newer.close();
    const before = files(disk);

    const err = await open(disk, build(intentV2, DONE)).catch((e) => e);
    expect(err).toBeInstanceOf(JournalSchemaError);
    expect(err).toMatchObject({ type: 'test.intent', version: 3 });
    expect(err.message).toMatch(/test\.intent v3: written by a newer build \(this build knows up to v2\)/);
    // Refused, not half-read: the disk is unchanged and the lock is free for the right build.
    expect(files(disk)).toEqual(before);
    const right = await open(disk, build(intentV3, DONE));
    expect(right.state.open.a!.payload.channel).toBe('pos');
    await right.close();
  });

  it('an unknown type code, or a missing upgrade step, is a typed error too', async () => {
    const disk = new SimDisk();
    const EXTRA: RecordSchema = { name: 'test.extra', code: 202, version: 1 };
    const writer = await open(disk, build(intentV1, DONE, EXTRA));
    await writer.append([{ type: 'test.intent', payload: { id: 'a', amount: 1 } }], { durable: true });
    await writer.append([{ type: 'test.extra', payload: { note: 'from a build with more types' } }], { durable: true });
    await writer.close();

    const unknown = await open(disk, build(intentV2, DONE)).catch((e) => e);
    expect(unknown).toBeInstanceOf(JournalSchemaError);
    expect(unknown).toMatchObject({ type: 'unknown#202', version: 1 });
    expect(unknown.message).toMatch(/unknown record type code/);

    const noStep: RecordSchema = { name: 'test.intent', code: 200, version: 2 };
    const gap = await open(disk, build(noStep, DONE, EXTRA)).catch((e) => e);
    expect(gap).toBeInstanceOf(JournalSchemaError);
    expect(gap).toMatchObject({ type: 'test.intent', version: 1 });
    expect(gap.message).toMatch(/no upgrade from v1 to v2/);
  });
});
