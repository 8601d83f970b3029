// Online PIN at the simulated issuer: field 52 decrypted under the terminal's session PIN key and the
// format 0 block read back with the PAN, then compared with the test card's PIN. Wrong PIN → 55; the
// third wrong PIN in a row, and every PIN after it, → 75 (the card's PIN is blocked); a PIN block that
// does not decode → 99. None of them debits. The tries are ledger entries, so a restart keeps them.
import { createHash } from 'node:crypto';
import { maskPan } from '../../firmware-ts/pci/card-data.js';
import { bytesField, decryptPinBlock, PIN_SECURITY_CONTROL, PinBlockError, ResponseCode, textField, type IsoMessage } from '../../protocol/iso8583/index.js';
import type { Answer, HostContext } from './host-context.js';

/** Wrong PINs in a row after which the card's PIN is blocked. */
export const PIN_TRIES_LIMIT = 3;

/**
 * The card the tries count against: its masked PAN is shared by many cards of one BIN, so a hash of the
 * full PAN, 12 base64url characters (never a digit run long enough to look like a card number in the
 * ledger file).
 */
export function pinTriesRef(pan: string): string {
  return createHash('sha256').update(`pin-tries:${pan}`).digest().subarray(0, 9).toString('base64url');
}

/** The answer when the PIN (or its absence) stops the authorization; undefined to go on. */
export function checkPin(ctx: HostContext, req: IsoMessage, terminalId: string, pan: string): Answer | undefined {
  const block = bytesField(req, 52);
  const known = ctx.cardPin(pan);
  if (!block) return known?.required ? { code: ResponseCode.wrongPin } : undefined;
  if (textField(req, 53) !== PIN_SECURITY_CONTROL || textField(req, 22)?.[2] !== '1') return { code: ResponseCode.formatError };
  const card = maskPan(pan);
  const cardRef = pinTriesRef(pan);
  const tries = ctx.state.pinTries.get(cardRef) ?? 0;
  if (tries >= PIN_TRIES_LIMIT) return { code: ResponseCode.pinTriesExceeded };
  const pik = ctx.pinKey(terminalId);
  if (!pik) return { code: ResponseCode.pinBlockError };
  let entered: string;
  try {
    entered = decryptPinBlock(pik, block, pan);
  } catch (e) {
    if (e instanceof PinBlockError) return { code: ResponseCode.pinBlockError };
    throw e;
  }
  if (!known) return { code: ResponseCode.wrongPin };
  if (entered !== known.pin) {
    ctx.record({ kind: 'pin-tries', card, cardRef, tries: tries + 1 });
    return { code: tries + 1 >= PIN_TRIES_LIMIT ? ResponseCode.pinTriesExceeded : ResponseCode.wrongPin };
  }
  if (tries > 0) ctx.record({ kind: 'pin-tries', card, cardRef, tries: 0 });
  return undefined;
}
