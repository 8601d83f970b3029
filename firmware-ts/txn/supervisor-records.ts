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
  /**
   * ISO time on the terminal's Clock; the lockout is measured from it. Never epoch milliseconds: a
   * 13-digit number is Luhn-valid one time in ten and the journal rightly refuses it as a possible PAN.
   */
  at: string;
}

export interface SupervisorState {
  password: { salt: string; hash: string; params: ScryptParams; setAt: string } | null;
  /** Wrong attempts since the last right one (or the last password change). */
  failures: number;
  /** ISO time of the last wrong attempt (an ISO string for the same reason as SupervisorAttempt.at). */
  lastFailureAt: string | null;
}

export const emptySupervisorState = (): SupervisorState => ({ password: null, failures: 0, lastFailureAt: null });

export function applyPasswordSet(s: SupervisorState, p: SupervisorPasswordSet): void {
  s.password = { salt: p.salt, hash: p.hash, params: p.params, setAt: p.at };
  s.failures = 0;
  s.lastFailureAt = null;
}

export function applyAttempt(s: SupervisorState, p: SupervisorAttempt): void {
  if (p.ok) {
    s.failures = 0;
    s.lastFailureAt = null;
    return;
  }
  s.failures++;
  s.lastFailureAt = p.at;
}
