// `posj journal repair` on every kind of damage the suite can make, on a journal the real engine wrote
// against the acquirer simulator (approved sales, a settlement, a cleared reversal, a reversal still owed):
// STAN and batch never go backwards, a cleared reversal never re-opens, the owed one survives, and the
// next sale gets a STAN the acquirer accepts (no 94 duplicate) — checked against the acquirer's ledger.
import { beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { AcquirerHost } from '../../host-bridge/acquirer/index.js';
import { repairJournal, type RepairPlan } from '../../firmware-ts/journal/repair.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, crc32, decodeSegmentHeader, recordSpan } from '../../protocol/journal/format.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { verifyJournal, type VerifiedRecord } from '../../firmware-ts/journal/verify.js';
import { JournalError } from '../../firmware-ts/journal/errors.js';
import { PowerCutError, SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { hasRepairIntent } from '../../firmware-ts/journal/repair-intent.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { Settlement } from '../../firmware-ts/txn/settlement.js';
import { isAhead, terminalSalvage, REPAIR_STAN_MARGIN } from '../../firmware-ts/txn/terminal-salvage.js';
import { MAX_STAN } from '../../firmware-ts/txn/settlement.js';
import { ID, TMK } from '../acquirer/harness.js';
import { EngineRig, JOURNAL_DIR } from '../txn/engine-rig.js';

const LEDGER = '/acquirer/ledger.jsonl';
type Files = Map<string, Buffer>;

function readAll(disk: SimDisk, dir: string, only?: string): Files {
  const out: Files = new Map();
  for (const name of disk.list(dir)) {
    if (only !== undefined && name !== only) continue;
    const p = path.join(dir, name);
    const f = disk.open(p, 'r');
    try {
      const b = Buffer.alloc(f.size());
      f.read(b, 0, b.length, 0);
      out.set(p, b);
    } finally {
      f.close();
    }
  }
  return out;
}

function writeAll(disk: SimDisk, files: Files): void {
  for (const [p, b] of files) {
    disk.mkdirp(path.dirname(p));
    if (disk.exists(p)) disk.remove(p);
    const f = disk.open(p, 'create');
    f.write(b, 0);
    f.sync();
    f.close();
    disk.syncDir(path.dirname(p));
  }
}

interface Fixture {
  journal: Files;
  ledger: Files;
  stan: number;
  batch: number;
  owed: number;
  cleared: number;
  records: VerifiedRecord[];
}

let fx: Fixture;

/** A rig whose terminal disk and acquirer ledger are copies of the fixture's. */
function rigFromFixture(): EngineRig {
  const rig = new EngineRig();
  writeAll(rig.disk, fx.journal);
  writeAll(rig.hostDisk, fx.ledger);
  (rig as { host: AcquirerHost }).host = AcquirerHost.open({ storage: rig.hostDisk, ledgerPath: LEDGER, tmk: TMK, clock: rig.clock, rules: rig.host.rules, random: (n) => Buffer.alloc(n, 0x5a) });
  (rig as { deviceKey: Buffer }).deviceKey = fxKey;
  return rig;
}
let fxKey: Buffer;

beforeAll(async () => {
  const rig = new EngineRig();
  fxKey = rig.deviceKey;
  const engine = await rig.start();
  expect((await rig.run(engine.boot())).signedOn).toBe(true);
  for (let i = 0; i < 60; i++) expect(await rig.run(engine.sale(1_000 + i))).toMatchObject({ kind: 'approved' });
  const settlement = new Settlement({ journal: rig.journal, link: rig.link, clock: rig.clock, identity: ID, storage: rig.disk });
  expect(await rig.run(settlement.settle())).toMatchObject({ balanced: true });
  // A sale whose reply is lost: reversed, and the reversal cleared by the acquirer.
  rig.host.rules = { ...rig.host.rules, rules: [{ when: { amount: 4_444, mti: '0200' }, then: { action: 'drop-reply' } }] };
  const cleared = await rig.run(engine.sale(4_444));
  expect(cleared).toMatchObject({ kind: 'reversed', reversal: 'cleared' });
  rig.host.rules = { ...rig.host.rules, rules: [] };
  for (let i = 0; i < 130; i++) expect(await rig.run(engine.sale(2_000 + i))).toMatchObject({ kind: 'approved' });
  // The last sale: the host debits, the reply is lost and every reversal is answered 96 (did not act): the
  // reversal stays owed (stuck).
  rig.loseReplyAndIgnoreReversals(7_777);
  const owed = await rig.run(engine.sale(7_777));
  expect(owed).toMatchObject({ kind: 'reversed', reversal: 'stuck' });
  // Balance inquiries move no money, so they go on while the reversal is stuck: whatever the checkpoints'
  // size, the newest segment then holds records that are not the owed reversal's, for the damage to hit.
  for (let i = 0; i < 6; i++) expect(await rig.run(engine.balance())).toMatchObject({ kind: 'approved' });
  // One more round for the stuck reversal: its records vouch that the inquiries before them were durable,
  // so damage to those is corruption, not a torn tail.
  const attemptsBefore = rig.records('reversal.attempt').length;
  await rig.run(engine.sendReversals());
  expect(rig.records('reversal.attempt').length).toBeGreaterThan(attemptsBefore);
  await rig.engine.stop();
  const state = rig.journal.state;
  await rig.journal.close();
  const records: VerifiedRecord[] = [];
  expect(verifyJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, types: terminalSalvage.types, onRecord: (r) => records.push(r) })).toMatchObject({ corrupt: null, tampered: null });
  fx = {
    journal: readAll(rig.disk, JOURNAL_DIR),
    ledger: readAll(rig.hostDisk, path.dirname(LEDGER)),
    stan: state.stan,
    batch: state.batch,
    owed: owed.kind === 'reversed' ? owed.stan : 0,
    cleared: cleared.kind === 'reversed' ? cleared.stan : 0,
    records,
  };
  expect(fx.batch).toBe(2);
  expect([...fx.journal.keys()].filter((p) => p.endsWith('.wal')).length).toBeGreaterThanOrEqual(5);
}, 120_000);

const segments = () => [...fx.journal.keys()].filter((p) => p.endsWith('.wal')).sort();
const recordsIn = (seg: string) => fx.records.filter((r) => r.segment === path.basename(seg) && r.type !== 'journal.checkpoint' && r.type !== 'journal.sealed');
const mentionsOwed = (r: VerifiedRecord) => JSON.parse(r.payload.toString('utf8'))?.stan === fx.owed;

function flip(disk: SimDisk, file: string, at: number): void {
  const f = disk.open(file, 'rw');
  const b = Buffer.alloc(1);
  f.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0x40;
  f.write(b, at);
  f.sync();
  f.close();
}

/** A record of the segment, at a position, never one of the owed reversal's (that one must survive). */
function victim(seg: string, where: 'first' | 'middle' | 'last'): VerifiedRecord {
  const rs = recordsIn(seg).filter((r) => !mentionsOwed(r));
  return where === 'first' ? rs[0]! : where === 'last' ? rs[rs.length - 1]! : rs[Math.floor(rs.length / 2)]!;
}

/** Each damage; `destroysOwed` when the owed reversal's own records are in what it destroys. */
const damages: Record<string, (disk: SimDisk) => void> = {};
const destroysOwed = new Set(['deleted newest segment', 'truncated newest segment']);
for (const [i, label] of [
  [0, 'first'],
  [1, 'second'],
  [2, 'middle'],
] as const) {
  damages[`flipped byte in the ${label} segment`] = (disk) => {
    const seg = segments()[i]!;
    flip(disk, seg, victim(seg, 'middle').offset + 52);
  };
}
for (const where of ['first', 'middle', 'last'] as const) {
  damages[`flipped byte in the newest segment's ${where} record`] = (disk) => {
    const seg = segments().at(-1)!;
    flip(disk, seg, victim(seg, where).offset + 50);
  };
}
damages["flipped byte in the newest segment's checkpoint"] = (disk) => {
  const seg = segments().at(-1)!;
  flip(disk, seg, 512 + 60);
};
damages["flipped byte in the middle segment's header"] = (disk) => {
  flip(disk, segments()[2]!, 20);
};
// One stray byte in the zeroed room after an older segment's seal: the seal names the next segment, so the
// cut must not leave it standing while that segment goes aside (it did: the repair moved the segments and
// then could not open what was left).
damages["garbage after the second segment's seal"] = (disk) => {
  const seg = segments()[1]!;
  const seal = fx.records.find((r) => r.segment === path.basename(seg) && r.type === 'journal.sealed')!;
  flip(disk, seg, seal.offset + recordSpan(seal.payload.length) + 100);
};
damages['deleted middle segment'] = (disk) => {
  disk.remove(segments()[2]!);
  disk.syncDir(JOURNAL_DIR);
};
damages['deleted newest segment'] = (disk) => {
  disk.remove(segments().at(-1)!);
  disk.syncDir(JOURNAL_DIR);
};
damages['truncated newest segment'] = (disk) => {
  const seg = segments().at(-1)!;
  const f = disk.open(seg, 'rw');
  f.truncate(victim(seg, 'last').offset + 20);
  f.sync();
  f.close();
};

/**
 * Nothing is deleted: every segment the plan moves is in movedTo byte for byte, and so is the damaged tail of
 * the segment it cuts; what stays is the intact prefix, each live segment its header's full size again.
 */
function keptAside(disk: SimDisk, plan: RepairPlan<unknown>, damaged: Files): void {
  const moved = readAll(disk, plan.movedTo);
  const expected = new Map<string, Buffer>();
  for (const name of plan.segmentsMoved) expected.set(path.join(plan.movedTo, name), damaged.get(path.join(JOURNAL_DIR, name))!);
  if (plan.bytesMoved > 0) {
    const cut = damaged.get(path.join(JOURNAL_DIR, plan.cut.segment!))!;
    expect(plan.bytesMoved).toBe(cut.length - plan.cut.offset);
    expected.set(path.join(plan.movedTo, `${plan.cut.segment}.from-${plan.cut.offset}.bin`), cut.subarray(plan.cut.offset));
  }
  expect([...moved.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [p, b] of expected) expect(moved.get(p)!.equals(b), p).toBe(true);
  for (const name of disk.list(JOURNAL_DIR).filter((n) => n.endsWith('.wal'))) {
    const p = path.join(JOURNAL_DIR, name);
    const b = readAll(disk, JOURNAL_DIR, name).get(p)!;
    const header = decodeSegmentHeader(b);
    if (typeof header === 'string') throw new Error(`${p}: ${header}`);
    expect(b.length, p).toBe(header.segmentBytes);
    if (plan.cut.segment !== null && p === path.join(JOURNAL_DIR, plan.cut.segment) && plan.cut.offset >= SEGMENT_HEADER_BYTES) {
      // Up to the end of the last whole record before the cut: a torn record's first bytes are the next open's to clear.
      const whole = Math.max(SEGMENT_HEADER_BYTES, ...fx.records.filter((r) => r.segment === name && r.seq < plan.cut.seq).map((r) => r.offset + recordSpan(r.payload.length)));
      expect(whole).toBeLessThanOrEqual(plan.cut.offset);
      expect(b.subarray(0, whole).equals(damaged.get(p)!.subarray(0, whole)), 'the prefix before the cut is kept').toBe(true);
    }
  }
}

describe('journal repair never rolls the terminal back', () => {
  for (const [name, damage] of Object.entries(damages)) {
    it(name, async () => {
      const rig = rigFromFixture();
      damage(rig.disk);
      const before = verifyJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, types: terminalSalvage.types });
      expect(before.corrupt ?? before.tampered, 'verify must not call the damage ok').not.toBeNull();

      const dry = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm: false, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
      const plan = dry.plan!;
      expect(plan).not.toBeNull();
      expect(dry.applied).toBe(false);
      // The dry run says what will change, and it never moves a counter back.
      expect(isAhead(plan.stan.after, fx.stan, MAX_STAN)).toBe(true);
      expect(isAhead(plan.stan.after, plan.stan.evidenced, MAX_STAN)).toBe(true);
      expect(plan.stan.after - plan.stan.evidenced).toBeGreaterThanOrEqual(REPAIR_STAN_MARGIN);
      expect(plan.batch.after).toBeGreaterThanOrEqual(fx.batch);
      if (!destroysOwed.has(name)) expect(plan.obligations.reversalsOwed.map((r) => r.stan)).toContain(fx.owed);
      else expect(plan.recordsLostAtMost).toBeGreaterThan(0);
      expect(plan.obligations.reversalsOwed.map((r) => r.stan)).not.toContain(fx.cleared);

      // A record's MAC chains from the one before it: only the record right after a destroyed one cannot be
      // checked (a later segment's first record chains from its header, which a deletion leaves intact).
      expect(plan.recordsUnverified).toBe(name.startsWith('flipped byte') && !name.endsWith('header') ? 1 : 0);
      const damaged = new Map([...readAll(rig.disk, JOURNAL_DIR)].filter(([p]) => p.endsWith('.wal')));
      const done = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm: true, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
      expect(done.applied).toBe(true);
      expect(done.plan).toEqual(plan);
      keptAside(rig.disk, plan, damaged);
      const repaired: VerifiedRecord[] = [];
      const after = verifyJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, types: terminalSalvage.types, onRecord: (r) => repaired.push({ ...r, payload: Buffer.from(r.payload) }) });
      expect(after).toMatchObject({ corrupt: null, tampered: null });
      expect(after.recordTypes['journal.repair']).toBe(1);

      const engine = await rig.start();
      const s = rig.journal.state;
      // Every owed reversal points at its own intent in the repaired journal (re-appended copies remapped).
      for (const [stan, owed] of Object.entries(s.reversals)) {
        const intent = repaired.find((r) => r.seq === owed.seq);
        expect(intent?.type, `reversal ${stan}`).toBe('auth.intent');
        expect(JSON.parse(intent!.payload.toString('utf8')).stan).toBe(Number(stan));
      }
      expect(s.stan).toBe(plan.stan.after);
      expect(s.batch).toBe(plan.batch.after);
      if (!destroysOwed.has(name)) expect(Object.keys(s.reversals).map(Number)).toContain(fx.owed);
      expect(Object.keys(s.reversals).map(Number)).not.toContain(fx.cleared);
      // Boot sends the owed reversal (the acquirer answers it) and the next sale takes a fresh STAN.
      await rig.run(engine.boot());
      // The acquirer's 0810 (the rollback anchor) finds a repaired journal not behind: no alarm.
      expect(rig.journal.state.rollbackAlarm).toBeNull();
      expect(Object.keys(rig.journal.state.reversals)).toEqual([]);
      const sale = await rig.run(engine.sale(3_333));
      expect(sale).toMatchObject({ kind: 'approved' });
      const last = rig.host.state.entries.at(-1)!;
      expect(last).toMatchObject({ kind: 'authorization', amount: '000000003333' });
      const seen = rig.host.state.entries.filter((e) => e.kind === 'authorization' && e.stan === (last as { stan: string }).stan && e.batch === (last as { batch: string }).batch);
      expect(seen).toHaveLength(1);
      await engine.stop();
      await rig.journal.close();
    }, 60_000);
  }
});

/**
 * Rewrites a record as "reversal cleared" for the owed STAN, padded to its length, CRC fixed and MAC left as
 * it was: what someone with the files but not the device key could write.
 */
function forgeClearing(disk: SimDisk, seg: string, target: VerifiedRecord): void {
  forgeRecord(disk, seg, target, TerminalRecord.reversalCleared, JSON.stringify({ stan: fx.owed, responseCode: '00', at: '2026-12-01T09:00:00.000Z' }));
}

/** The record at `target` rewritten in place as `type` with this payload text (padded with spaces), CRC recomputed, MAC left. */
function forgeRecord(disk: SimDisk, seg: string, target: VerifiedRecord, type: { code: number; version: number }, forged: string): void {
  const f = disk.open(seg, 'rw');
  const head = Buffer.alloc(RECORD_HEADER_BYTES);
  f.read(head, 0, head.length, target.offset);
  const length = head.readUInt32LE(4);
  expect(forged.length).toBeLessThanOrEqual(length);
  const rec = Buffer.alloc(RECORD_HEADER_BYTES + length);
  f.read(rec, 0, rec.length, target.offset);
  rec.writeUInt16LE(type.code, 8);
  rec.writeUInt8(type.version, 10);
  rec.write(forged.padEnd(length, ' '), RECORD_HEADER_BYTES, 'utf8');
  rec.writeUInt32LE(crc32(rec.subarray(4)), 0);
  f.write(rec, target.offset);
  f.sync();
  f.close();
}

describe('journal repair and records it cannot authenticate', () => {
  it('a forged reversal.cleared past the damage (CRC good, MAC not) never clears the owed reversal, in the plan or after the repair', async () => {
    const rig = rigFromFixture();
    const seg = segments().at(-1)!;
    // The damage: a flipped byte in the newest segment's first record (not one of the owed reversal's).
    flip(rig.disk, seg, victim(seg, 'first').offset + 50);
    // The forgery: the newest segment's last record after that which is not the owed reversal's, rewritten.
    forgeClearing(rig.disk, seg, recordsIn(seg).filter((r) => !mentionsOwed(r) && r.seq > victim(seg, 'first').seq).at(-1)!);
    const dry = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm: false, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
    expect(dry.plan!.recordsUnverified).toBeGreaterThanOrEqual(1);
    expect(dry.plan!.obligations.reversalsOwed.map((r) => r.stan)).toContain(fx.owed);
    // Without the key nothing can be authenticated: the dry run folds as if each record were good (and says so
    // by counting none unverified); a repair itself needs the key.
    const keyless = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: null, confirm: false, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
    expect(keyless.plan!.recordsUnverified).toBe(0);
    const done = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm: true, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
    expect(done.applied).toBe(true);
    const engine = await rig.start();
    expect(Object.keys(rig.journal.state.reversals).map(Number)).toContain(fx.owed);
    await engine.stop();
    await rig.journal.close();
  }, 60_000);

  it('a forged reversal.cleared before a corrupt record: the cut is at the forgery, so it is never folded as prefix', async () => {
    const rig = rigFromFixture();
    const seg = segments().at(-1)!;
    const others = recordsIn(seg).filter((r) => !mentionsOwed(r));
    forgeClearing(rig.disk, seg, others[0]!);
    flip(rig.disk, seg, others.at(-1)!.offset + 50);
    const v = verifyJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, types: terminalSalvage.types });
    expect(v.tampered?.seq).toBe(others[0]!.seq);
    expect(v.corrupt?.offset).toBe(others.at(-1)!.offset);
    const dry = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm: false, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
    expect(dry.plan!.cut.seq).toBe(others[0]!.seq);
    expect(dry.plan!.obligations.reversalsOwed.map((r) => r.stan)).toContain(fx.owed);
  }, 60_000);
});

describe('journal repair and forged records of any shape', () => {
  // Past the damage nothing is authenticated: a record there may hold any JSON its CRC covers. The repair must
  // still plan (a typed answer, not a TypeError), keep the owed reversal, and never let STAN or batch move back.
  const shapes = ['null', '[]', '"x"', '7', '{}', '{"stan":"9","batch":"2"}', '{"stan":-3,"batch":0}', '{"stan":1.5,"batch":1e12}', '{"stan":null,"nextBatch":"x"}'];
  const types = Object.values(TerminalRecord);

  it.each(shapes)('payload %s under every terminal record type', async (payload) => {
    for (const type of types) {
      const rig = rigFromFixture();
      const seg = segments().at(-1)!;
      flip(rig.disk, seg, victim(seg, 'first').offset + 50);
      forgeRecord(rig.disk, seg, recordsIn(seg).filter((r) => !mentionsOwed(r) && r.seq > victim(seg, 'first').seq).at(-1)!, type, payload);
      const dry = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm: false, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
      const plan = dry.plan!;
      expect(plan.obligations.reversalsOwed.map((r) => r.stan), type.name).toContain(fx.owed);
      expect(Number.isInteger(plan.stan.after) && plan.stan.after >= 1 && plan.stan.after <= 999_999, `${type.name}: STAN ${plan.stan.after}`).toBe(true);
      expect(plan.batch.after, type.name).toBe(plan.batch.before);
      expect(plan.stan.after, type.name).toBeGreaterThan(plan.stan.before);
      // Without the key every record folds as if good: the forged one must still not break the plan.
      const keyless = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: null, confirm: false, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' }).catch((e: unknown) => e);
      if (keyless instanceof JournalError) {
        expect(keyless.code, type.name).toBe('REPAIR_UNFOLDABLE');
        expect(keyless.message, type.name).toMatch(new RegExp(`^record seq \\d+ \\(${type.name.replace('.', '\\.')}\\) cannot be folded: `));
      } else {
        expect((keyless as Awaited<ReturnType<typeof repairJournal>>).plan!.batch.after, type.name).toBe(plan.batch.before);
      }
    }
  }, 120_000);
});

describe('journal repair and an owed reversal whose intent is destroyed', () => {
  it('refuses, dry run and all, naming the STAN, and changes nothing (it dropped the reversal while the debit stood)', async () => {
    // Everything in the first segment, after its opening checkpoint: no later checkpoint holds the reversal.
    const rig = new EngineRig();
    const engine = await rig.start();
    expect((await rig.run(engine.boot())).signedOn).toBe(true);
    for (let i = 0; i < 3; i++) expect(await rig.run(engine.sale(1_000 + i))).toMatchObject({ kind: 'approved' });
    rig.loseReplyAndIgnoreReversals(4_444);
    const owed = await rig.run(engine.sale(4_444));
    expect(owed).toMatchObject({ kind: 'reversed', reversal: 'stuck' });
    const stan = (owed as { stan: number }).stan;
    await engine.stop();
    await rig.journal.close();
    const records: VerifiedRecord[] = [];
    verifyJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, types: terminalSalvage.types, onRecord: (r) => records.push(r) });
    const named = (r: VerifiedRecord) => JSON.parse(r.payload.toString('utf8'))?.stan === stan;
    const intent = records.find((r) => r.type === 'auth.intent' && named(r))!;
    expect(records.filter((r) => r.type === 'journal.checkpoint' && r.seq > intent.seq)).toEqual([]);
    flip(rig.disk, path.join(JOURNAL_DIR, intent.segment), intent.offset + 60);
    const before = readAll(rig.disk, JOURNAL_DIR);
    for (const confirm of [false, true]) {
      const err = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JournalError);
      expect((err as JournalError).code).toBe('REPAIR_REFUSED');
      expect((err as JournalError).message).toContain(`the damage destroyed the intent of STAN ${String(stan).padStart(6, '0')}, whose reversal is owed`);
    }
    const after = readAll(rig.disk, JOURNAL_DIR);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [p, b] of before) expect(after.get(p)!.equals(b), p).toBe(true);
  }, 60_000);
});

describe('journal repair without the device key', () => {
  it('refuses before moving anything: the owed reversal stays where the next open finds it', async () => {
    const rig = rigFromFixture();
    damages["flipped byte in the newest segment's middle record"]!(rig.disk);
    const before = readAll(rig.disk, JOURNAL_DIR);
    const dry = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: null, confirm: false, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
    expect(dry.plan!.bytesMoved + dry.plan!.segmentsMoved.length, "the dry run plans to move something").toBeGreaterThan(0);
    await expect(repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: null, confirm: true, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' })).rejects.toMatchObject({ code: 'NO_KEY' });
    const after = readAll(rig.disk, JOURNAL_DIR);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [p, b] of before) expect(after.get(p)!.equals(b), p).toBe(true);
    expect(rig.disk.exists(dry.plan!.movedTo)).toBe(false);
    // With the key, the same journal repairs and still owes the reversal.
    const done = await repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm: true, policy: terminalSalvage, now: () => '2026-12-01T10:00:00.000Z' });
    expect(done.plan!.obligations.reversalsOwed.map((r) => r.stan)).toContain(fx.owed);
  }, 60_000);
});

describe('posj journal stat tells what the daemon boots', () => {
  it('the same STAN as the open journal, settlement STANs counted', async () => {
    const { spawnSync } = await import('node:child_process');
    const fs = await import('node:fs');
    const { tmpDir } = await import('../helpers/tmp.js');
    const dir = path.join(tmpDir('jstat'), 'journal');
    fs.mkdirSync(dir, { recursive: true });
    for (const [p, b] of fx.journal) fs.writeFileSync(path.join(dir, path.basename(p)), b);
    fs.writeFileSync(`${dir}.key`, fxKey.toString('hex') + '\n', { mode: 0o600 });
    // The fixture settled batch 1: its 0500 and batch-end STANs come after the last sale's intent of batch 1.
    const settlementStans = fx.records.filter((r) => r.type === 'settlement.step').map((r) => JSON.parse(r.payload.toString('utf8')).stan).filter((x) => typeof x === 'number');
    expect(settlementStans.length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [path.resolve('dist/firmware-ts/cli/posj.js'), 'journal', 'stat', dir, '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const stat = JSON.parse(r.stdout);
    expect(stat.state).toMatchObject({ stan: fx.stan, batch: fx.batch, stuckReversals: 1 });
  });
});

describe('a repair cut off by a power cut is finished by the next repair, and the journal waits for it', () => {
  const NOW = () => '2026-12-01T10:00:00.000Z';
  const damage = damages['flipped byte in the second segment']!;
  const repair = (rig: EngineRig, confirm: boolean) => repairJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, confirm, policy: terminalSalvage, now: NOW });

  it('at every sync of the repair, under every crash mode', async () => {
    const whole = rigFromFixture();
    damage(whole.disk);
    const plan = (await repair(whole, false)).plan!;
    const start = whole.disk.stats.syncs;
    await repair(whole, true);
    const syncs = whole.disk.stats.syncs - start;
    expect(syncs).toBeGreaterThan(8);
    let unfinished = 0;
    for (let k = 1; k <= syncs; k++) {
      for (const mode of ['random', 'drop', 'keep'] as const) {
        const rig = rigFromFixture();
        damage(rig.disk);
        const damaged = new Map([...readAll(rig.disk, JOURNAL_DIR)].filter(([p]) => p.endsWith('.wal')));
        rig.disk.crashAtSync(rig.disk.stats.syncs + k, createRng(k * 7 + mode.length), mode);
        await expect(repair(rig, true), `sync ${k} ${mode}`).rejects.toBeInstanceOf(PowerCutError);
        rig.disk.onSync(null);
        // What the cut left never opens as a journal that forgot what it owes: refused until repaired.
        const opened = await openTerminalJournal({ dir: JOURNAL_DIR, deviceKey: rig.deviceKey, storage: rig.disk, segmentBytes: 64 * 1024 }).then(
          async (j) => {
            await j.close();
            return 'opened';
          },
          (e: { code?: string }) => e.code,
        );
        if (hasRepairIntent(rig.disk, JOURNAL_DIR)) {
          expect(opened, `sync ${k} ${mode}`).toBe('REPAIR_UNFINISHED');
          unfinished++;
        } else expect(opened, `sync ${k} ${mode}: no intent, so the damage untouched or the repair done`).toMatch(/^(JOURNAL_CORRUPT|opened)$/);
        const again = await repair(rig, true);
        if (again.plan) expect(again.plan, `sync ${k} ${mode}`).toEqual(plan);
        expect(hasRepairIntent(rig.disk, JOURNAL_DIR)).toBe(false);
        // The same repaired journal as an uncut repair: one repair record, the owed reversal kept, counters forward.
        const after = verifyJournal(JOURNAL_DIR, { storage: rig.disk, deviceKey: rig.deviceKey, types: terminalSalvage.types });
        expect(after, `sync ${k} ${mode}`).toMatchObject({ corrupt: null, tampered: null });
        expect(after.recordTypes['journal.repair'], `sync ${k} ${mode}`).toBe(1);
        for (const name of plan.segmentsMoved) expect(readAll(rig.disk, plan.movedTo, name).get(path.join(plan.movedTo, name))!.equals(damaged.get(path.join(JOURNAL_DIR, name))!), name).toBe(true);
        const j = await openTerminalJournal({ dir: JOURNAL_DIR, deviceKey: rig.deviceKey, storage: rig.disk, segmentBytes: 64 * 1024 });
        expect([j.state.stan, j.state.batch], `sync ${k} ${mode}`).toEqual([plan.stan.after, plan.batch.after]);
        expect(Object.keys(j.state.reversals).map(Number), `sync ${k} ${mode}`).toContain(fx.owed);
        expect(Object.keys(j.state.reversals).map(Number)).not.toContain(fx.cleared);
        await j.close();
      }
    }
    // The cuts landed on both sides of the commit, or the test did not test the resume.
    expect(unfinished).toBeGreaterThan(syncs);
  }, 240_000);
});
