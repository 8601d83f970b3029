// The supervisor password: a salted scrypt hash kept as a journal record, checked before a void, a refund or
// closing a stuck reversal. Wrong attempts are journaled; after a few, the terminal locks further attempts
// out for a while that doubles with every further failure, measured on the Clock (DESIGN rule 5).
import { randomBytes, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import type { Clock } from '../../protocol/io/clock.js';
import type { RecordInput } from '../journal/journal.js';
import type { SupervisorCheck, SupervisorVerifier } from './engine-api.js';
import { TerminalRecord } from './records.js';
import { checkPasswordStrength } from './supervisor-policy.js';
import type { ScryptParams, SupervisorAttempt, SupervisorPasswordSet, SupervisorState } from './supervisor-records.js';

/** scrypt cost: about 50 ms and 16 MiB on a terminal-class CPU; slow for guessing, quick for a cashier. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 14, r: 8, p: 1, keyLength: 32 };
/** Wrong attempts allowed before the lockout starts. */
export const FREE_FAILURES = 3;
export const FIRST_LOCKOUT_MS = 30_000;
export const MAX_LOCKOUT_MS = 30 * 60_000;
const SALT_BYTES = 16;

export type SupervisorErrorCode = 'SUPERVISOR_NOT_SET' | 'SUPERVISOR_ALREADY_SET' | 'SUPERVISOR_WRONG_PASSWORD' | 'SUPERVISOR_LOCKED';

export class SupervisorError extends Error {
  constructor(
    readonly code: SupervisorErrorCode,
    message: string,
    /** For SUPERVISOR_LOCKED: how long until the next attempt is taken. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SupervisorError';
  }
}

/** The slice of the terminal journal the supervisor needs: its folded state and a durable append. */
export interface SupervisorJournal {
  readonly state: { supervisor: SupervisorState };
  append(records: RecordInput[], options: { durable: boolean }): Promise<unknown>;
}

export interface SupervisorOptions {
  journal: SupervisorJournal;
  clock: Clock;
  /** Lower only in tests. */
  scrypt?: ScryptParams;
}

function scryptAsync(password: BinaryLike, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r * params.p };
  return new Promise((resolve, reject) => scrypt(password, salt, params.keyLength, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Lockout after `failures` consecutive wrong attempts: none for the first few, then doubling up to the cap. */
export function lockoutMs(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_LOCKOUT_MS, FIRST_LOCKOUT_MS * 2 ** (failures - FREE_FAILURES));
}

export class Supervisor implements SupervisorVerifier {
  /** Checks run one at a time, so two racing wrong guesses both count. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SupervisorOptions) {}

  private get state(): SupervisorState {
    return this.opts.journal.state.supervisor;
  }

  /** False on a fresh terminal: the daemon then refuses void, refund and close-reversal until one is set. */
  get isSet(): boolean {
    return this.state.password !== null;
  }

  /** Milliseconds until another attempt is taken (0 when not locked). */
  lockedForMs(): number {
    const s = this.state;
    if (s.lastFailureAt === null) return 0;
    return Math.max(0, Date.parse(s.lastFailureAt) + lockoutMs(s.failures) - this.opts.clock.now());
  }

  status(): { set: boolean; failures: number; lockedForMs: number } {
    return { set: this.isSet, failures: this.state.failures, lockedForMs: this.lockedForMs() };
  }

  /** What the engine's void, refund and close-stuck-reversal call before acting. Every check is journaled. */
  verify(password: string, purpose: 'void' | 'refund' | 'close-reversal' | 'acknowledge-rollback'): Promise<SupervisorCheck> {
    return this.exclusive(() => this.check(password, purpose));
  }

  /** Sets the first password, or changes it when `current` is the right one. Weak values are refused. */
  setPassword(password: string, current?: string): Promise<void> {
    return this.exclusive(async () => {
      if (this.isSet) {
        if (current === undefined) throw new SupervisorError('SUPERVISOR_ALREADY_SET', 'a supervisor password is set: give the current one to change it');
        const c = await this.check(current, 'change-password');
        if (!c.ok) throw new SupervisorError(c.reason === 'locked-out' ? 'SUPERVISOR_LOCKED' : 'SUPERVISOR_WRONG_PASSWORD', c.detail, this.lockedForMs() || undefined);
      }
      checkPasswordStrength(password);
      const params = this.opts.scrypt ?? DEFAULT_SCRYPT;
      const salt = randomBytes(SALT_BYTES);
      const hash = await scryptAsync(password, salt, params);
      const payload: SupervisorPasswordSet = { salt: salt.toString('base64url'), hash: hash.toString('base64url'), params, at: this.iso() };
      await this.opts.journal.append([{ type: TerminalRecord.supervisorPasswordSet.name, payload }], { durable: true });
    });
  }

  private async check(password: string, purpose: string): Promise<SupervisorCheck> {
    const pw = this.state.password;
    if (!pw) return { ok: false, reason: 'not-set', detail: 'no supervisor password is set yet: set one first (posj supervisor set)' };
    const wait = this.lockedForMs();
    // A locked-out attempt is refused unchecked and not journaled: it cannot flood the journal.
    if (wait > 0) return { ok: false, reason: 'locked-out', detail: `too many wrong supervisor passwords: try again in ${Math.ceil(wait / 1000)} s` };
    const expected = Buffer.from(pw.hash, 'base64url');
    const got = await scryptAsync(password, Buffer.from(pw.salt, 'base64url'), pw.params);
    const ok = got.length === expected.length && timingSafeEqual(got, expected);
    const attempt: SupervisorAttempt = { ok, purpose, at: this.iso() };
    await this.opts.journal.append([{ type: TerminalRecord.supervisorAttempt.name, payload: attempt }], { durable: true });
    if (ok) return { ok: true };
    const next = lockoutMs(this.state.failures);
    return { ok: false, reason: 'wrong-password', detail: `wrong supervisor password (${this.state.failures} in a row${next > 0 ? `; locked for ${Math.ceil(next / 1000)} s` : ''})` };
  }

  private iso(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }
}
