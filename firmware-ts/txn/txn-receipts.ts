// Turns journaled transactions into printable slips (签购单, and the 冲正未完成 slip for a stuck reversal).
// Everything on them comes from the journal: the masked PAN, RRN and auth code of the outcome.
import type { Clock } from '../../protocol/io/clock.js';
import { renderReceipt } from '../receipts/render-receipt.js';
import type { EntryMode, LocalTime, MerchantInfo, ReceiptLanguage, ReversalPendingReason, TransactionType } from '../receipts/receipt-model.js';
import { bothCopies } from '../receipts/sales-slip.js';
import type { EngineConfig } from './engine-api.js';
import type { AuthIntent, AuthOutcome, ReceiptPrinted, ReversalReason } from './records.js';
import type { OwedReversal } from './terminal-state.js';
import type { TxnView } from './txn-history.js';

const ENTRY_MODES: Record<string, EntryMode> = { '05': 'chip', '07': 'contactless', '90': 'magstripe', '02': 'magstripe', '80': 'fallback', '01': 'manual' };

const REVERSAL_REASONS: Record<ReversalReason, ReversalPendingReason> = { '98': 'no-reply', A0: 'link-error', '06': 'card-declined-after-approval' };

export function merchantOf(config: EngineConfig): MerchantInfo {
  return {
    name: config.merchantName,
    merchantId: config.identity.merchantId,
    terminalId: config.identity.terminalId,
    ...(config.acquirerContact ? { acquirerContact: config.acquirerContact } : {}),
  };
}

/** "YYYY-MM-DD HH:MM:SS" in the terminal's local time. */
export function localTime(ms: number): LocalTime {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** What a sales slip is printed from: the intent and the outcome as journaled. */
export type SlipSource = Pick<AuthIntent, 'maskedPan' | 'entryMode' | 'kind' | 'batch' | 'stan' | 'at' | 'amount' | 'original'>;

/** Receipts print in Chinese unless the engine is configured otherwise. */
export const DEFAULT_RECEIPT_LANGUAGE: ReceiptLanguage = 'zh';

/**
 * Merchant and customer copies of an approved transaction, as one print job; `voidedBy`, the STAN of the
 * void standing against it (txn-history `voidedBy`), marks it 已撤销 / VOIDED.
 */
export function salesSlipJob(view: TxnView, config: EngineConfig, reprint: boolean, voidedBy?: number): Buffer {
  return salesSlipJobOf(view.intent, view.outcome, merchantOf(config), config.language ?? DEFAULT_RECEIPT_LANGUAGE, reprint, 'both', voidedBy);
}

/**
 * The same job from its parts, so dispute evidence re-renders exactly what the engine printed; `copies`
 * picks one copy when only one was printed, `voidedBy` is the void's STAN the copy was marked with.
 */
export function salesSlipJobOf(intent: SlipSource, outcome: Pick<AuthOutcome, 'rrn' | 'authCode'> | undefined, merchant: MerchantInfo, language: ReceiptLanguage, reprint: boolean, copies: ReceiptPrinted['copies'] = 'both', voidedBy?: number): Buffer {
  const both = bothCopies({
    kind: 'sales-slip',
    merchant,
    reprint,
    maskedPan: intent.maskedPan,
    cardType: language === 'zh' ? '银联卡' : 'UnionPay',
    entryMode: ENTRY_MODES[intent.entryMode.slice(0, 2)] ?? 'magstripe',
    transactionType: intent.kind as TransactionType,
    batch: intent.batch,
    voucher: intent.stan,
    stan: intent.stan,
    rrn: outcome?.rrn ?? '000000000000',
    ...(outcome?.authCode ? { authCode: outcome.authCode } : {}),
    localTime: localTime(Date.parse(intent.at)),
    amountMinor: intent.amount,
    ...(intent.original?.stan !== undefined ? { originalVoucher: intent.original.stan } : {}),
    ...(voidedBy !== undefined ? { voidedBy } : {}),
  });
  const picked = copies === 'both' ? both : both.filter((c) => c.copy === copies);
  return Buffer.concat(picked.map((c) => renderReceipt(c, language)));
}

/** 冲正未完成: printed when a reversal becomes stuck, so the merchant knows the cardholder may be debited. */
export function stuckSlipJob(stan: number, rev: OwedReversal, intent: TxnView['intent'] | undefined, config: EngineConfig, clock: Clock): Buffer {
  return renderReceipt(
    {
      kind: 'reversal-pending',
      merchant: merchantOf(config),
      // The intent holds the card as read; the fold's copy is the fallback (the intent is always readable: retention keeps it).
      maskedPan: intent?.maskedPan ?? rev.maskedPan,
      transactionType: (rev.kind === 'balance' ? 'sale' : rev.kind) as TransactionType,
      batch: intent?.batch ?? 0,
      stan,
      localTime: intent ? localTime(Date.parse(intent.at)) : localTime(clock.now()),
      amountMinor: rev.amount,
      reason: REVERSAL_REASONS[rev.reason],
      attempts: rev.attempts,
      lastAttemptTime: localTime(clock.now()),
    },
    config.language ?? 'zh',
  );
}
