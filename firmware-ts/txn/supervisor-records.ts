// The supervisor password as journal records (DESIGN rule 1: no side file): the salted scrypt hash, and every
// verification attempt, so consecutive failures and the lockout survive a reboot. The password itself is
// never written anywhere.

export interface ScryptParams {
  /** CPU/memory cost (a power of two). */
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** A new password. `salt` and `hash` are base64url, which cannot form a PAN-like digit run of any length worth scanning. */
export interface SupervisorPasswordSet {
  salt: string;
  hash: string;
  params: ScryptParams;
  at: string;
}

/** One check of the password, right or wrong, with what it was for (void, refund, close-reversal, set). */
export interface SupervisorAttempt {
  ok: boolean;
  purpose: string;
  /** Clock milliseconds: the lockout is measured on the terminal's Clock. */
  atMs: number;
  at: string;
}

export interface SupervisorState {
  password: { salt: string; hash: string; params: ScryptParams; setAt: string } | null;
  /** Wrong attempts since the last right one (or the last password change). */
  failures: number;
  lastFailureMs: number | null;
}

export const emptySupervisorState = (): SupervisorState => ({ password: null, failures: 0, lastFailureMs: null });

export function applyPasswordSet(s: SupervisorState, p: SupervisorPasswordSet): void {
  s.password = { salt: p.salt, hash: p.hash, params: p.params, setAt: p.at };
  s.failures = 0;
  s.lastFailureMs = null;
}

export function applyAttempt(s: SupervisorState, p: SupervisorAttempt): void {
  if (p.ok) {
    s.failures = 0;
    s.lastFailureMs = null;
    return;
  }
  s.failures++;
  s.lastFailureMs = p.atMs;
}
