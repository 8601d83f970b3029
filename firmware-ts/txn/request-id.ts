// The client's idempotency key (Stripe-style): sent with a money operation, journaled with its intent, so
// the same key again — after a lost reply, a daemon crash, a restart — returns the first outcome and never
// starts a second authorization. The key is journaled, so it must never look like a card number.
import { findSensitive } from '../pci/card-data.js';

export const MAX_REQUEST_ID_LENGTH = 64;
const REQUEST_ID = /^[A-Za-z0-9._:-]+$/;

/** Why `id` cannot be a request id, or null when it can. */
export function requestIdProblem(id: string): string | null {
  if (id.length === 0 || id.length > MAX_REQUEST_ID_LENGTH) return `a request id is 1..${MAX_REQUEST_ID_LENGTH} characters`;
  if (!REQUEST_ID.test(id)) return 'a request id uses only A-Z a-z 0-9 . _ : -';
  // The journal refuses anything shaped like card data; better to say so before the card is read.
  if (findSensitive({ requestId: id })) return 'a request id must not look like card data (a long Luhn-valid digit run, a track): it is journaled';
  return null;
}
