// Sign-on: 0800 out, 0810 back with the working keys in field 62 under the terminal master key. On
// success the link holds the new MAC key; the keys themselves never leave memory.
import {
  bytesField,
  KeyExchangeError,
  PIN_KEY_PART_LENGTH,
  signOnRequest,
  textField,
  unwrapWorkingKeys,
  type SecretKey,
  type TerminalIdentity,
  type WorkingKeys,
} from '../../protocol/iso8583/index.js';
import type { ExchangeResult } from './exchange-result.js';
import type { AcquirerLink } from './link.js';

export type SignOnResult =
  /** `pinKeyUnderTmk`: field 62's PIN key part (key under the TMK + check value), for the PIN pad, which unwraps it itself. */
  | { kind: 'signed-on'; keys: WorkingKeys; pinKeyUnderTmk: Buffer }
  | { kind: 'declined'; responseCode: string }
  | { kind: 'key-check-failed'; reason: KeyExchangeError['reason'] }
  | Exclude<ExchangeResult, { kind: 'response' }>;

export async function signOn(
  link: AcquirerLink,
  tmk: SecretKey,
  id: TerminalIdentity,
  stan: string,
  batch: string,
): Promise<SignOnResult> {
  const result = await link.exchange(signOnRequest(id, stan, batch));
  if (result.kind !== 'response') return result;
  const code = textField(result.message, 39) ?? '';
  const f62 = bytesField(result.message, 62);
  if (code !== '00' || !f62) return { kind: 'declined', responseCode: code };
  try {
    const keys = unwrapWorkingKeys(tmk, f62);
    link.setMacKey(keys.mac);
    return { kind: 'signed-on', keys, pinKeyUnderTmk: Buffer.from(f62.subarray(0, PIN_KEY_PART_LENGTH)) };
  } catch (e) {
    if (e instanceof KeyExchangeError) return { kind: 'key-check-failed', reason: e.reason };
    throw e;
  }
}
