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
  type IsoMessage,
  type TerminalIdentity,
  type WorkingKeys,
} from '../../protocol/iso8583/index.js';
import type { ExchangeResult } from './exchange-result.js';
import type { AcquirerLink } from './link.js';

/** What the 0810 says the host has seen from this terminal (ISO8583.md, Sign-on); empty from a host that does not say. */
export interface HostCounters {
  /** 60.2: the batch the host has this terminal in. */
  batch?: number;
  /** 61: batch and STAN of the last message the host recorded from this terminal. */
  last?: { batch: number; stan: number };
}

export type SignOnResult =
  /** `pinKeyUnderTmk`: field 62's PIN key part (key under the TMK + check value), for the PIN pad, which unwraps it itself. */
  | { kind: 'signed-on'; keys: WorkingKeys; pinKeyUnderTmk: Buffer; hostCounters: HostCounters }
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
    return { kind: 'signed-on', keys, pinKeyUnderTmk: Buffer.from(f62.subarray(0, PIN_KEY_PART_LENGTH)), hostCounters: hostCounters(result.message) };
  } catch (e) {
    if (e instanceof KeyExchangeError) return { kind: 'key-check-failed', reason: e.reason };
    throw e;
  }
}

/** 60.2 and 61 of the 0810 when they are well formed; anything else is no evidence (never an error). */
function hostCounters(m: IsoMessage): HostCounters {
  const f60 = textField(m, 60);
  const f61 = textField(m, 61);
  const batch = f60 !== undefined && /^\d{11}$/.test(f60) ? Number(f60.slice(2, 8)) : undefined;
  const last = f61 !== undefined && /^\d{12}$/.test(f61) ? { batch: Number(f61.slice(0, 6)), stan: Number(f61.slice(6, 12)) } : undefined;
  return { ...(batch !== undefined && batch > 0 ? { batch } : {}), ...(last && last.stan > 0 ? { last } : {}) };
}
