// Settlement (结算, 0500): the terminal's batch totals against the host's; field 48 of the 0510 says
// balanced (1) or unbalanced (2). After an unbalanced answer the terminal uploads every record (0320,
// 60.3 = 201) and ends with the batch-end 0320 (60.3 = 202); each is recorded. An unbalanced 0510 carries
// the host's own totals in field 48, so the terminal's reconciliation report can show both sides.
import {
  CupContentError,
  field48Totals,
  NetworkCode,
  parseField48Totals,
  parseField60,
  parseField61,
  ResponseCode,
  textField,
  type IsoMessage,
} from '../../protocol/iso8583/index.js';
import { luhnValid, maskPan } from '../../firmware-ts/pci/card-data.js';
import { totalsFromJson, totalsJson, type LedgerEntry, type SettlementEntry } from './ledger.js';
import { authKey } from './ledger-state.js';
import type { Answer, HostContext } from './host-context.js';

/** The 0510's field 48 for a recorded settlement: the request's totals echoed if balanced, else the host's. */
function settlementAnswer(e: SettlementEntry): Answer {
  const totals = e.balanced ? e.terminalTotals : e.hostTotals;
  return { code: ResponseCode.approved, fields: { 48: field48Totals(totalsFromJson(totals), e.balanced ? '1' : '2') } };
}

export function settle(ctx: HostContext, req: IsoMessage): Answer {
  const terminalId = textField(req, 41) ?? '';
  const stan = textField(req, 11) ?? '';
  const batch = parseField60(req).batch;
  const { totals } = parseField48Totals(req);
  // A repeat (the 0510 was lost, the terminal resumed) is the same settlement: answered as recorded.
  const repeat = ctx.state.entries.find((e): e is LedgerEntry & SettlementEntry => e.kind === 'settlement' && e.terminalId === terminalId && e.batch === batch && e.stan === stan);
  if (repeat) return settlementAnswer(repeat);
  const host = ctx.state.batchTotals(terminalId, batch);
  const balanced =
    host.debitAmount === totals.debitAmount &&
    host.debitCount === totals.debitCount &&
    host.creditAmount === totals.creditAmount &&
    host.creditCount === totals.creditCount;
  const entry = ctx.record({ kind: 'settlement', terminalId, batch, stan, terminalTotals: totalsJson(totals), hostTotals: totalsJson(host), balanced });
  return settlementAnswer(entry as SettlementEntry);
}

export function batchUpload(ctx: HostContext, req: IsoMessage): Answer {
  const terminalId = textField(req, 41) ?? '';
  const f60 = parseField60(req);
  if (f60.networkCode === NetworkCode.batchEnd) {
    const records = textField(req, 48);
    if (records === undefined || !/^\d{4}$/.test(records)) throw new CupContentError(48, 'batch end carries a 4-digit record count');
    ctx.record({ kind: 'batch-end', terminalId, batch: f60.batch, records: Number(records), stan: textField(req, 11) ?? '' });
    return { code: ResponseCode.approved };
  }
  if (f60.networkCode !== NetworkCode.batchUpload) return { code: ResponseCode.invalidTransaction };
  const original = parseField61(req);
  if (!original) return { code: ResponseCode.invalidTransaction };
  const pan = textField(req, 2);
  if (pan !== undefined && (!/^\d{12,19}$/.test(pan) || !luhnValid(pan))) return { code: ResponseCode.invalidTransaction };
  // Without field 2 the record is named by its original key; the card is the one the host authorized.
  const card = pan !== undefined ? maskPan(pan) : (ctx.state.byKey.get(authKey(terminalId, original.batch, original.stan))?.card ?? 'unknown');
  ctx.record({
    kind: 'batch-upload',
    terminalId,
    batch: f60.batch,
    stan: textField(req, 11) ?? '',
    original: { batch: original.batch, stan: original.stan },
    card,
    amount: textField(req, 4) ?? '',
  });
  return { code: ResponseCode.approved };
}
