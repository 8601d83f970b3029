// What a supervisor password may be. The supervisor password guards void, refund and closing a stuck
// reversal — the three ways to move money back without the card — so the values a cashier guesses first
// (123456, 000000, 888888, 123123, the keypad rows) are refused.

export const MIN_PASSWORD_LENGTH = 6;
export const MAX_PASSWORD_LENGTH = 32;

/** Common choices that pass the pattern checks but are still guessed first (keypad shapes, dates, words). */
const COMMON = new Set(['147258', '258369', '159357', '147369', '131415', '520520', '521521', '5201314', '1314520', 'password', 'admin123', 'supervisor', 'qwerty', 'abc123']);

export type WeakReason = 'length' | 'characters' | 'repeated' | 'sequence' | 'pattern' | 'common';

export class WeakPasswordError extends Error {
  readonly code = 'SUPERVISOR_WEAK_PASSWORD';
  constructor(readonly reason: WeakReason, detail: string) {
    super(`supervisor password refused: ${detail}`);
    this.name = 'WeakPasswordError';
  }
}

/** Each character one more (or one less) than the one before, in character codes: 123456, 654321, abcdef. */
function isSequence(pw: string): boolean {
  const step = pw.charCodeAt(1) - pw.charCodeAt(0);
  if (step !== 1 && step !== -1) return false;
  for (let i = 2; i < pw.length; i++) if (pw.charCodeAt(i) - pw.charCodeAt(i - 1) !== step) return false;
  return true;
}

/** The whole password is a shorter block repeated: 121212, 123123, 112112. */
function isRepeatedBlock(pw: string): boolean {
  for (let len = 1; len <= pw.length / 2; len++) {
    if (pw.length % len !== 0) continue;
    if (pw.slice(0, len).repeat(pw.length / len) === pw) return true;
  }
  return false;
}

/** Pairs of equal characters walking a sequence (112233), or a palindrome of digits (123321). */
function isSimplePattern(pw: string): boolean {
  if (pw.length % 2 === 0) {
    let pairs = '';
    let ok = true;
    for (let i = 0; i < pw.length; i += 2) {
      if (pw[i] !== pw[i + 1]) ok = false;
      pairs += pw[i];
    }
    if (ok && (pairs.length < 3 || isSequence(pairs) || isRepeatedBlock(pairs))) return true;
  }
  return /^\d+$/.test(pw) && pw === [...pw].reverse().join('') && new Set(pw).size <= pw.length / 2;
}

/** Throws WeakPasswordError naming why; returns normally for an acceptable password. */
export function checkPasswordStrength(pw: string): void {
  if (pw.length < MIN_PASSWORD_LENGTH || pw.length > MAX_PASSWORD_LENGTH) {
    throw new WeakPasswordError('length', `must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (!/^[\x21-\x7e]+$/.test(pw)) throw new WeakPasswordError('characters', 'only printable ASCII without spaces (a keypad must be able to enter it)');
  const lower = pw.toLowerCase();
  if (new Set(lower).size === 1) throw new WeakPasswordError('repeated', 'one character repeated');
  if (isSequence(lower)) throw new WeakPasswordError('sequence', 'a run of consecutive characters (like 123456)');
  if (isRepeatedBlock(lower)) throw new WeakPasswordError('repeated', 'a short block repeated (like 123123)');
  if (isSimplePattern(lower)) throw new WeakPasswordError('pattern', 'a simple pattern (like 112233 or 123321)');
  if (new Set(lower).size < 3) throw new WeakPasswordError('repeated', 'fewer than three different characters');
  if (COMMON.has(lower)) throw new WeakPasswordError('common', 'one of the passwords guessed first');
}
