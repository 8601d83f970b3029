// The PIN step of a sale: after the card is read and before anything is journaled or sent. The card's
// CVM (or the acquirer profile) decides whether the PIN pad is asked; the pad answers with the PIN block
// encrypted under the PIN key (PIK) of this session, a bypass, or nothing (cancelled, timed out). The block
// lives only in a Secret for the one request, and while it lives the journal's PCI guard refuses any record
// holding its bytes (pci/pin-blocks-in-flight.ts). A PIN entry that ends without a block ends the sale
// before a STAN is allocated, as a failed card read does: nothing journaled, nothing sent.
import type { Clock } from '../../protocol/io/clock.js';
import type { OnlinePinResult } from '../devices/card-reader/card-reader.js';
import type { Secret } from '../devices/card-reader/secret.js';
import { bounded, boundedFailure } from './bounded-call.js';
import type { RefusalReason } from './engine-api.js';
import { DEVICE_TIMEOUTS, type CardForTxn, type CardSource } from './engine-devices.js';
import type { AuthKind } from './records.js';

/** When to ask for online PIN beyond the card's CVM, and how long the cardholder has. */
export interface OnlinePinProfile {
  /** The acquirer's profile: online PIN for every card from this amount (fen), whatever its CVM says. */
  fromAmount?: number;
  /** The PIN pad's entry time (default DEVICE_TIMEOUTS.pinEntryMs). */
  entryMs?: number;
}

/** Transactions that carry a PIN when there is one: the debits and the balance inquiry read with the card. */
const PIN_KINDS: ReadonlySet<AuthKind> = new Set(['sale', 'preauth', 'balance']);

export type PinStep =
  | { kind: 'pin'; block: Secret<Buffer> }
  /** The pad was asked and the card allows no PIN (or has none): sent without 52, entry mode xx2. */
  | { kind: 'bypassed' }
  /** No PIN wanted, or no PIN pad on this terminal. */
  | { kind: 'not-asked' }
  | { kind: 'refused'; reason: Extract<RefusalReason, 'pin-entry-cancelled' | 'pin-entry-timeout' | 'pin-entry-failed'>; detail: string };

export function pinWanted(kind: AuthKind, amount: number, card: CardForTxn, profile: OnlinePinProfile | undefined): boolean {
  if (!PIN_KINDS.has(kind)) return false;
  if (card.cvm === 'online-pin') return true;
  return profile?.fromAmount !== undefined && kind !== 'balance' && amount >= profile.fromAmount;
}

export interface PinStepDeps {
  reader: CardSource;
  clock: Clock;
  /** The PIK under the TMK with its check value, from this session's sign-on; undefined before one. */
  pinKey: Buffer | undefined;
  profile: OnlinePinProfile | undefined;
}

export async function pinStep(d: PinStepDeps, kind: AuthKind, amount: number, card: CardForTxn): Promise<PinStep> {
  const enterPin = d.reader.enterPin?.bind(d.reader);
  if (!enterPin || !pinWanted(kind, amount, card, d.profile)) return { kind: 'not-asked' };
  if (!d.pinKey) return { kind: 'refused', reason: 'pin-entry-failed', detail: 'no PIN key from sign-on: nothing was sent' };
  const pinKey = d.pinKey;
  const entryMs = d.profile?.entryMs ?? DEVICE_TIMEOUTS.pinEntryMs;
  const ms = entryMs + DEVICE_TIMEOUTS.pinEntryGraceMs;
  // A block the pad sends after the deadline reaches no request: wiped on arrival.
  const wipeLate = (late: OnlinePinResult) => (late.kind === 'pin' ? late.pinBlock.wipe() : undefined);
  const r = await bounded(d.clock, ms, () => enterPin({ amount, currency: '156', pinKey, timeoutMs: entryMs }), wipeLate);
  if (r.kind !== 'ok') return { kind: 'refused', reason: 'pin-entry-failed', detail: `the PIN pad failed: ${boundedFailure(r, ms)}` };
  switch (r.value.kind) {
    case 'pin':
      return { kind: 'pin', block: r.value.pinBlock };
    case 'bypassed':
      return { kind: 'bypassed' };
    case 'cancelled':
      return { kind: 'refused', reason: 'pin-entry-cancelled', detail: 'the cardholder cancelled PIN entry (取消输入密码)' };
    case 'timeout':
      return { kind: 'refused', reason: 'pin-entry-timeout', detail: `no PIN entered within ${entryMs / 1000} s (输入密码超时)` };
  }
}
