// Sign-on (0800/0810): fresh PIN and MAC working keys per terminal, sent in field 62 under the terminal
// master key and recorded in the ledger only in that wrapped form, so a restarted host keeps its sessions.
import {
  SecretKey,
  textField,
  unwrapWorkingKeys,
  wrapWorkingKeys,
  type IsoMessage,
  type WorkingKeys,
} from '../../protocol/iso8583/index.js';
import type { Answer, HostContext } from './host-context.js';
import type { LedgerEntry } from './ledger.js';

export function signOn(ctx: HostContext, req: IsoMessage, tmk: SecretKey, random: (n: number) => Buffer): { answer: Answer; keys: WorkingKeys } {
  const keys = { pin: new SecretKey(random(16)), mac: new SecretKey(random(16)) };
  const wrapped = wrapWorkingKeys(tmk, keys);
  ctx.record({ kind: 'sign-on', terminalId: textField(req, 41) ?? '', wrappedKeys: wrapped.toString('base64') });
  return { answer: { code: '00', fields: { 62: wrapped } }, keys };
}

/** The latest session keys per terminal, recovered from the ledger. */
export function sessionsFromLedger(entries: readonly LedgerEntry[], tmk: SecretKey): Map<string, WorkingKeys> {
  const sessions = new Map<string, WorkingKeys>();
  for (const e of entries) {
    if (e.kind === 'sign-on') sessions.set(e.terminalId, unwrapWorkingKeys(tmk, Buffer.from(e.wrappedKeys, 'base64')));
  }
  return sessions;
}
