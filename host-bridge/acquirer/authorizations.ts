// Sale, pre-authorization (+ void, + completion), void, refund and balance inquiry. Each approval is one
// durable ledger entry before the reply; a STAN already seen in the batch (or already reversed before its
// original arrived) is answered 94 and never debits twice.
import { luhnValid, maskPan } from '../../firmware-ts/pci/card-data.js';
import {
  KINDS,
  parseField60,
  parseField61,
  ResponseCode,
  textField,
  type IsoMessage,
  type TransactionKind,
} from '../../protocol/iso8583/index.js';
import { authKey, batchKey, cardNet } from './ledger-state.js';
import type { Answer, HostContext } from './host-context.js';
import type { AuthorizationEntry } from './ledger.js';
import { checkPin } from './pin-verification.js';

export function kindOf(req: IsoMessage): TransactionKind | undefined {
  const typeCode = textField(req, 60)?.slice(0, 2);
  const processing = textField(req, 3);
  return (Object.keys(KINDS) as TransactionKind[]).find(
    (k) => KINDS[k].mti === req.mti && KINDS[k].typeCode === typeCode && KINDS[k].processingCode === processing,
  );
}

/** PAN from field 2, or from track 2 up to the separator. Never stored unmasked. */
function panOf(req: IsoMessage): string | undefined {
  return textField(req, 2) ?? textField(req, 35)?.split('=')[0];
}

const deny = (code: string): Answer => ({ code });

export function authorize(ctx: HostContext, req: IsoMessage, kind: TransactionKind): Answer {
  const terminalId = textField(req, 41) ?? '';
  const stan = textField(req, 11) ?? '';
  const batch = parseField60(req).batch;
  const amount = textField(req, 4);
  const key = authKey(terminalId, batch, stan);
  if (ctx.state.byKey.has(key) || ctx.state.orphanReversals.has(key)) return deny(ResponseCode.duplicate);
  // After its 0500 a batch takes no new authorization: the terminal must settle over into its next batch.
  if (ctx.state.settlements.has(batchKey(terminalId, batch))) return deny(ResponseCode.batchSettled);

  let target: (AuthorizationEntry & { seq: number }) | undefined;
  if (kind === 'void' || kind === 'preauth-void' || kind === 'preauth-completion') {
    const o = parseField61(req);
    target = o && ctx.state.byKey.get(authKey(terminalId, o.batch, o.stan));
    const wants = kind === 'void' ? 'sale' : 'preauth';
    if (!target || target.txn !== wants || !ctx.state.isLive(target.seq) || ctx.state.consumedBy.has(target.seq)) {
      return deny(ResponseCode.originalNotFound);
    }
    if (kind === 'void' && target.batch !== batch) return deny(ResponseCode.originalNotFound);
    const tooMuch = kind === 'preauth-completion' ? BigInt(amount ?? '0') > BigInt(target.amount) : amount !== target.amount;
    if (tooMuch) return deny(ResponseCode.invalidAmount);
  } else if (kind === 'refund') {
    target = ctx.state.byRrn.get(textField(req, 37) ?? '');
    const refundable = target && (target.txn === 'sale' || target.txn === 'preauth-completion');
    if (!target || !refundable || !ctx.state.isLive(target.seq) || ctx.state.consumedBy.has(target.seq)) {
      return deny(ResponseCode.originalNotFound);
    }
    // Field 61 must name that original: its date (MMDD, field 13 of the sale) and, when the refunding
    // terminal made the sale, its batch and STAN; zeros mean "not this terminal's" and name nothing.
    const o = parseField61(req);
    if (!o?.date || (target.date !== undefined && o.date !== target.date)) return deny(ResponseCode.originalNotFound);
    const namesOne = !/^0+$/.test(o.batch + o.stan);
    if (namesOne && (target.terminalId !== terminalId || target.batch !== o.batch || target.stan !== o.stan)) return deny(ResponseCode.originalNotFound);
    const already = ctx.state.refunded.get(target.seq) ?? 0n;
    if (BigInt(amount ?? '0') + already > BigInt(target.amount)) return deny(ResponseCode.invalidAmount);
  }

  const pan = panOf(req);
  let card: string;
  if (pan !== undefined) {
    if (!/^\d{12,19}$/.test(pan) || !luhnValid(pan)) return deny(ResponseCode.invalidCard);
    card = maskPan(pan);
    if (target && target.card !== card) return deny(ResponseCode.originalNotFound);
  } else if (target) {
    card = target.card;
  } else {
    return deny(ResponseCode.invalidCard);
  }
  // The card's own debits and its balance carry the PIN; a refund (a credit) does not.
  if (pan !== undefined && (kind === 'sale' || kind === 'preauth' || kind === 'balance')) {
    const refused = checkPin(ctx, req, terminalId, pan);
    if (refused) return refused;
  }

  const available = ctx.openingBalance() - cardNet(ctx.state, card);
  if (kind === 'balance') {
    const sign = available < 0n ? 'D' : 'C';
    const abs = available < 0n ? -available : available;
    return { code: ResponseCode.approved, fields: { 54: `1002156${sign}${abs.toString().padStart(12, '0')}` } };
  }
  if (amount === undefined || /^0+$/.test(amount)) return deny(ResponseCode.invalidAmount);
  if ((kind === 'sale' || kind === 'preauth') && BigInt(amount) > available) return deny(ResponseCode.insufficientFunds);

  const seq = ctx.nextSeq();
  const rrn = String(seq).padStart(12, '0');
  const authCode = String(seq % 1_000_000).padStart(6, '0');
  ctx.record({
    kind: 'authorization',
    txn: kind,
    terminalId,
    batch,
    stan,
    card,
    amount,
    processingCode: textField(req, 3) ?? '',
    ...(textField(req, 13) !== undefined ? { date: textField(req, 13) } : {}),
    rrn,
    authCode,
    ...(target ? { target: target.seq } : {}),
  });
  return { code: ResponseCode.approved, fields: { 37: rrn, 38: authCode } };
}
