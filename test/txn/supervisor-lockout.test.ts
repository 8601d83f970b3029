// The supervisor password on its own (issue 14, mutation run): each rule of the strength policy with the
// reason it names, the lockout's steps and cap, and the Supervisor against an in-memory journal slice and
// manual time — what it journals (durable, the hash alone, scrypt as configured), what a locked-out attempt
// leaves out, the words and wait a cashier is told, and that racing guesses are checked one at a time.
import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RecordInput } from '../../firmware-ts/journal/journal.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { DEFAULT_SCRYPT, FIRST_LOCKOUT_MS, lockoutMs, MAX_LOCKOUT_MS, Supervisor, SupervisorError, type SupervisorJournal } from '../../firmware-ts/txn/supervisor.js';
import { checkPasswordStrength, WeakPasswordError, type WeakReason } from '../../firmware-ts/txn/supervisor-policy.js';
import { applyAttempt, applyPasswordSet, emptySupervisorState, type SupervisorAttempt, type SupervisorPasswordSet } from '../../firmware-ts/txn/supervisor-records.js';
import { ManualClock } from '../helpers/manual-clock.js';

const FAST = { N: 1024, r: 8, p: 1, keyLength: 32 };
const GOOD = '739164';

function reasonOf(pw: string): WeakReason | 'accepted' {
  try {
    checkPasswordStrength(pw);
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(WeakPasswordError);
    return (e as WeakPasswordError).reason;
  }
}

describe('supervisor password strength', () => {
  it.each<[string, WeakReason | 'accepted']>([
    ['73916', 'length'],
    [GOOD, 'accepted'],
    ['Tr4in-Yard-9x2Kq7Lm3Zp8Wv5Rb1Nc6', 'accepted'],
    ['Tr4in-Yard-9x2Kq7Lm3Zp8Wv5Rb1Nc6d', 'length'],
    ['7391 64', 'characters'],
    [' 739164', 'characters'],
    ['739164 ', 'characters'],
    ['7391é64', 'characters'],
    ['aAaAaA', 'repeated'],
    ['123456', 'sequence'],
    ['654321', 'sequence'],
    ['ABCDEF', 'sequence'],
    ['124567', 'accepted'],
    ['123123', 'repeated'],
    ['121212', 'repeated'],
    ['xyzxyzxyz', 'repeated'],
    ['112233', 'pattern'],
    ['332211', 'pattern'],
    ['112211', 'pattern'],
    ['112244', 'accepted'],
    ['123321', 'pattern'],
    ['1234321', 'accepted'],
    ['abccba', 'accepted'],
    ['111222', 'repeated'],
    ['a1a1a1a', 'repeated'],
    ['a1a1b2', 'accepted'],
    // A sequence is a step of one: steps of two, alone or in pairs, are not.
    ['acegik', 'accepted'],
    ['113355', 'accepted'],
    // Only a palindrome of digits alone is a pattern.
    ['1a22a1', 'accepted'],
  ])('%s: %s', (pw, reason) => {
    expect(reasonOf(pw)).toBe(reason);
  });

  it.each(['147258', '258369', '159357', '147369', '131415', '5201314', '1314520', 'password', 'Admin123', 'supervisor', 'QWERTY', 'abc123'])('%s is one of the first guesses', (pw) => {
    expect(reasonOf(pw)).toBe('common');
  });

  it.each<[string, WeakReason, string]>([
    ['7391 64', 'characters', 'only printable ASCII without spaces (a keypad must be able to enter it)'],
    ['aAaAaA', 'repeated', 'one character repeated'],
    ['123456', 'sequence', 'a run of consecutive characters (like 123456)'],
    ['123123', 'repeated', 'a short block repeated (like 123123)'],
    ['112233', 'pattern', 'a simple pattern (like 112233 or 123321)'],
    ['111222', 'repeated', 'fewer than three different characters'],
    ['147258', 'common', 'one of the passwords guessed first'],
  ])('%s: the supervisor is told why (%s)', (pw, reason, detail) => {
    expect(() => checkPasswordStrength(pw)).toThrow(expect.objectContaining({ reason, message: `supervisor password refused: ${detail}` }));
  });

  it('the error names the rule and carries the code the control protocol reports', () => {
    const e = (() => {
      try {
        checkPasswordStrength('12');
      } catch (x) {
        return x as WeakPasswordError;
      }
      throw new Error('accepted');
    })();
    expect(e).toMatchObject({ code: 'SUPERVISOR_WEAK_PASSWORD', name: 'WeakPasswordError', reason: 'length', message: 'supervisor password refused: must be 6 to 32 characters' });
  });
});

describe('lockout after wrong attempts', () => {
  it('none for the first three, then 30 s doubling, capped at 30 min', () => {
    expect([0, 1, 2].map(lockoutMs)).toEqual([0, 0, 0]);
    expect(lockoutMs(3)).toBe(FIRST_LOCKOUT_MS);
    expect(FIRST_LOCKOUT_MS).toBe(30_000);
    expect(lockoutMs(4)).toBe(60_000);
    expect(lockoutMs(8)).toBe(960_000);
    expect(MAX_LOCKOUT_MS).toBe(1_800_000);
    expect(lockoutMs(9)).toBe(MAX_LOCKOUT_MS);
    expect(lockoutMs(40)).toBe(MAX_LOCKOUT_MS);
  });
});

/** The journal slice the supervisor uses, folded with the supervisor's own record functions. */
class MemJournal implements SupervisorJournal {
  readonly state = { supervisor: emptySupervisorState() };
  readonly appended: { records: RecordInput[]; durable: boolean }[] = [];
  failNext = false;

  async append(records: RecordInput[], options: { durable: boolean }): Promise<unknown> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('EIO');
    }
    this.appended.push({ records, durable: options.durable });
    for (const r of records) {
      if (r.type === TerminalRecord.supervisorPasswordSet.name) applyPasswordSet(this.state.supervisor, r.payload as SupervisorPasswordSet);
      if (r.type === TerminalRecord.supervisorAttempt.name) applyAttempt(this.state.supervisor, r.payload as SupervisorAttempt);
    }
    return undefined;
  }

  attempts(): SupervisorAttempt[] {
    return this.appended.flatMap((a) => a.records.filter((r) => r.type === TerminalRecord.supervisorAttempt.name).map((r) => r.payload as SupervisorAttempt));
  }
}

function rig(scrypt: typeof FAST | null = FAST) {
  const journal = new MemJournal();
  const clock = new ManualClock();
  const sup = new Supervisor({ journal, clock, ...(scrypt ? { scrypt } : {}) });
  return { journal, clock, sup };
}

describe('Supervisor', () => {
  it('a fresh terminal: not set, nothing locked, verify says so without journaling', async () => {
    const { journal, sup } = rig();
    expect(sup.status()).toEqual({ set: false, failures: 0, lockedForMs: 0 });
    expect(await sup.verify(GOOD, 'void')).toEqual({ ok: false, reason: 'not-set', detail: 'no supervisor password is set yet: set one first (posj supervisor set)' });
    expect(journal.appended).toEqual([]);
  });

  it('set writes one durable record: a 16-byte salt and the scrypt hash of the password under the configured cost, at the Clock time', async () => {
    const { journal, clock, sup } = rig();
    await sup.setPassword(GOOD);
    expect(journal.appended).toHaveLength(1);
    const [{ records, durable }] = journal.appended as [{ records: RecordInput[]; durable: boolean }];
    expect(durable).toBe(true);
    expect(records.map((r) => r.type)).toEqual([TerminalRecord.supervisorPasswordSet.name]);
    const p = records[0]!.payload as SupervisorPasswordSet;
    const salt = Buffer.from(p.salt, 'base64url');
    expect(salt).toHaveLength(16);
    expect(p.params).toEqual(FAST);
    expect(p.at).toBe(new Date(clock.now()).toISOString());
    expect(Buffer.from(p.hash, 'base64url').equals(scryptSync(GOOD, salt, 32, { N: 1024, r: 8, p: 1 }))).toBe(true);
    expect(sup.status()).toEqual({ set: true, failures: 0, lockedForMs: 0 });
  });

  it('without a cost given, scrypt runs at the terminal default (N 2^14, r 8, p 1, 32 bytes)', async () => {
    expect(DEFAULT_SCRYPT).toEqual({ N: 16_384, r: 8, p: 1, keyLength: 32 });
    const { journal, sup } = rig(null);
    await sup.setPassword(GOOD);
    const p = journal.appended[0]!.records[0]!.payload as SupervisorPasswordSet;
    expect(p.params).toEqual(DEFAULT_SCRYPT);
    expect(Buffer.from(p.hash, 'base64url').equals(scryptSync(GOOD, Buffer.from(p.salt, 'base64url'), 32, { N: 16_384, r: 8, p: 1 }))).toBe(true);
    expect(await sup.verify(GOOD, 'refund')).toEqual({ ok: true });
  });

  it('a cost with parallelism above 1 (the journaled params decide) sets and checks out', async () => {
    const { sup } = rig({ N: 1024, r: 8, p: 2, keyLength: 32 });
    await sup.setPassword(GOOD);
    expect(await sup.verify(GOOD, 'void')).toEqual({ ok: true });
  });

  it('every check is journaled durably with its purpose; the right one clears the count', async () => {
    const { journal, clock, sup } = rig();
    await sup.setPassword(GOOD);
    expect(await sup.verify('000001', 'void')).toEqual({ ok: false, reason: 'wrong-password', detail: 'wrong supervisor password (1 in a row)' });
    clock.advance(1_000);
    expect(await sup.verify('000002', 'close-reversal')).toEqual({ ok: false, reason: 'wrong-password', detail: 'wrong supervisor password (2 in a row)' });
    expect(journal.state.supervisor).toMatchObject({ failures: 2, lastFailureAt: new Date(clock.now()).toISOString() });
    expect(sup.lockedForMs()).toBe(0);
    expect(await sup.verify(GOOD, 'acknowledge-rollback')).toEqual({ ok: true });
    expect(journal.state.supervisor).toMatchObject({ failures: 0, lastFailureAt: null });
    expect(journal.attempts()).toEqual([
      { ok: false, purpose: 'void', at: new Date(clock.now() - 1_000).toISOString() },
      { ok: false, purpose: 'close-reversal', at: new Date(clock.now()).toISOString() },
      { ok: true, purpose: 'acknowledge-rollback', at: new Date(clock.now()).toISOString() },
    ]);
    expect(journal.appended.every((a) => a.durable)).toBe(true);
  });

  it('the third wrong one locks for 30 s; a locked attempt is refused unchecked and unjournaled, with the wait rounded up', async () => {
    const { journal, clock, sup } = rig();
    await sup.setPassword(GOOD);
    await sup.verify('000001', 'void');
    await sup.verify('000002', 'void');
    expect(await sup.verify('000003', 'void')).toEqual({ ok: false, reason: 'wrong-password', detail: 'wrong supervisor password (3 in a row; locked for 30 s)' });
    expect(sup.status()).toEqual({ set: true, failures: 3, lockedForMs: 30_000 });
    clock.advance(10_500);
    expect(sup.lockedForMs()).toBe(19_500);
    const before = journal.appended.length;
    expect(await sup.verify(GOOD, 'void')).toEqual({ ok: false, reason: 'locked-out', detail: 'too many wrong supervisor passwords: try again in 20 s' });
    expect(journal.appended).toHaveLength(before);
    clock.advance(19_500);
    expect(sup.lockedForMs()).toBe(0);
    clock.advance(60_000);
    expect(sup.lockedForMs()).toBe(0);
    expect(await sup.verify('000004', 'void')).toMatchObject({ detail: 'wrong supervisor password (4 in a row; locked for 60 s)' });
    expect(sup.lockedForMs()).toBe(60_000);
  });

  it('changing the password: refused without the current one, wrong (with the wait once locked), locked; a change clears the count', async () => {
    const { journal, clock, sup } = rig();
    await sup.setPassword(GOOD);
    await expect(sup.setPassword('20481937')).rejects.toMatchObject({ code: 'SUPERVISOR_ALREADY_SET', message: 'a supervisor password is set: give the current one to change it' });
    const wrong = await sup.setPassword('20481937', '000001').catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(SupervisorError);
    expect(wrong).toMatchObject({ code: 'SUPERVISOR_WRONG_PASSWORD', name: 'SupervisorError', message: 'wrong supervisor password (1 in a row)', retryAfterMs: undefined });
    expect(journal.attempts().at(-1)).toMatchObject({ ok: false, purpose: 'change-password' });
    await sup.verify('000002', 'void');
    await expect(sup.setPassword('20481937', '000003')).rejects.toMatchObject({ code: 'SUPERVISOR_WRONG_PASSWORD', retryAfterMs: 30_000 });
    clock.advance(5_000);
    await expect(sup.setPassword('20481937', GOOD)).rejects.toMatchObject({ code: 'SUPERVISOR_LOCKED', retryAfterMs: 25_000 });
    clock.advance(25_000);
    // A weak new value is refused after the current one checked out; nothing else changes.
    await expect(sup.setPassword('123456', GOOD)).rejects.toBeInstanceOf(WeakPasswordError);
    const sets = () => journal.appended.filter((a) => a.records[0]!.type === TerminalRecord.supervisorPasswordSet.name).length;
    expect(sets()).toBe(1);
    await sup.setPassword('20481937', GOOD);
    expect(sets()).toBe(2);
    expect(sup.status()).toEqual({ set: true, failures: 0, lockedForMs: 0 });
    expect(await sup.verify(GOOD, 'void')).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(await sup.verify('20481937', 'void')).toEqual({ ok: true });
  });

  it('racing guesses are checked one at a time: the fourth, right or not, finds the lockout the third started', async () => {
    const { journal, sup } = rig();
    await sup.setPassword(GOOD);
    const results = await Promise.all([sup.verify('000001', 'void'), sup.verify('000002', 'void'), sup.verify('000003', 'void'), sup.verify(GOOD, 'void')]);
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['wrong-password', 'wrong-password', 'wrong-password', 'locked-out']);
    expect(journal.attempts()).toHaveLength(3);
  });

  it('a check whose journal append fails rejects, and the next check still runs', async () => {
    const { journal, sup } = rig();
    await sup.setPassword(GOOD);
    journal.failNext = true;
    const failed = sup.verify(GOOD, 'void');
    const next = sup.verify(GOOD, 'refund');
    await expect(failed).rejects.toThrow('EIO');
    expect(await next).toEqual({ ok: true });
  });

  it('a stored hash of another length than the check computes is a wrong password, not a crash', async () => {
    const { journal, sup } = rig();
    await sup.setPassword(GOOD);
    const pw = journal.state.supervisor.password!;
    journal.state.supervisor.password = { ...pw, hash: Buffer.from(pw.hash, 'base64url').subarray(0, 16).toString('base64url') };
    expect(await sup.verify(GOOD, 'void')).toMatchObject({ ok: false, reason: 'wrong-password' });
  });
});
