// Sign-on (0800/0810): fresh PIN and MAC working keys per terminal, sent in field 62 under the terminal
// master key and recorded in the ledger only in that wrapped form, so a restarted host keeps its sessions.
import {
  field60,
  field61,
  parseField60,
  SecretKey,
  textField,
  unwrapWorkingKeys,
  wrapWorkingKeys,
  type FieldValue,
  type IsoMessage,
  type WorkingKeys,
} from '../../protocol/iso8583/index.js';
import type { Answer, HostContext } from './host-context.js';
import type { LedgerEntry } from './ledger.js';

/**
 * `counters`: the 0810 tells the terminal what this host has seen from it — field 60.2 the batch it is in,
 * field 61 the batch and STAN of the last message recorded (ISO8583.md, Sign-on) — so a terminal whose
 * journal was rolled back finds out before it reuses them. Off: 60 is echoed and 61 left out, as an
 * acquirer that does not offer them would.
 */
export function signOn(ctx: HostContext, req: IsoMessage, tmk: SecretKey, random: (n: number) => Buffer, counters = true): { answer: Answer; keys: WorkingKeys } {
  const terminalId = textField(req, 41) ?? '';
  const keys = { pin: new SecretKey(random(16)), mac: new SecretKey(random(16)) };
  const wrapped = wrapWorkingKeys(tmk, keys);
  const seen = counters ? ctx.state.counters.get(terminalId) : undefined;
  ctx.record({ kind: 'sign-on', terminalId, wrappedKeys: wrapped.toString('base64') });
  if (!seen) return { answer: { code: '00', fields: { 62: wrapped } }, keys };
  const fields: Record<number, FieldValue> = { 60: field60({ ...parseField60(req), batch: seen.batch }), 62: wrapped };
  if (seen.last) fields[61] = field61(seen.last);
  return { answer: { code: '00', fields }, keys };
}

/** The latest session keys per terminal, recovered from the ledger. */
export function sessionsFromLedger(entries: readonly LedgerEntry[], tmk: SecretKey): Map<string, WorkingKeys> {
  const sessions = new Map<string, WorkingKeys>();
  for (const e of entries) {
    if (e.kind === 'sign-on') sessions.set(e.terminalId, unwrapWorkingKeys(tmk, Buffer.from(e.wrappedKeys, 'base64')));
  }
  return sessions;
}
