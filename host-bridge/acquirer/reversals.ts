// Reversal (冲正, 0400 and repeats 0401). It takes effect at most once, and only on the authorization
// with the same terminal ID, batch and STAN whose amount and processing code also match. Every well-formed
// reversal gets a 0410: 00 when applied, already applied, or no original (then remembered, so a late
// original with that STAN is refused); 12 when an authorization has the key but not the data. Not 25: a
// terminal rightly clears a reversal answered 25 ("original not found": nothing to undo), but here the
// original was found and the debit stands — the terminal's reversal image is wrong, and it must stay owed.
import { maskPan, luhnValid } from '../../firmware-ts/pci/card-data.js';
import { parseField60, ResponseCode, textField, type IsoMessage } from '../../protocol/iso8583/index.js';
import { authKey } from './ledger-state.js';
import type { Answer, HostContext } from './host-context.js';

export function reverse(ctx: HostContext, req: IsoMessage): Answer {
  const terminalId = textField(req, 41) ?? '';
  const stan = textField(req, 11) ?? '';
  const batch = parseField60(req).batch;
  const key = authKey(terminalId, batch, stan);
  const original = ctx.state.byKey.get(key);
  const base = { kind: 'reversal' as const, terminalId, batch, stan, mti: req.mti, reason: textField(req, 39) ?? '' };

  if (!original) {
    if (!ctx.state.orphanReversals.has(key)) ctx.record({ ...base, target: null });
    return { code: ResponseCode.approved };
  }
  const pan = textField(req, 2);
  const sameCard = pan === undefined || (luhnValid(pan) && /^\d{12,19}$/.test(pan) && maskPan(pan) === original.card);
  if (original.amount !== textField(req, 4) || original.processingCode !== textField(req, 3) || !sameCard) {
    return { code: ResponseCode.invalidTransaction };
  }
  if (ctx.state.isLive(original.seq)) ctx.record({ ...base, target: original.seq });
  return { code: ResponseCode.approved };
}
