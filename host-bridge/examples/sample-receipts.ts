// Sample receipt models with test card numbers only: the committed example images are made from these, and
// the tests print them end to end.
import { maskPan } from '../../firmware-ts/pci/card-data.js';
import type { MerchantInfo, ReversalPendingSlip, SalesSlip, SettlementReport } from '../../firmware-ts/receipts/receipt-model.js';

/** A UnionPay test PAN; only its masked form reaches a receipt. */
const TEST_PAN = '6222021234567890123';

export const sampleMerchantZh: MerchantInfo = {
  name: '上海浦东示例便利店',
  merchantId: '898310048161234',
  terminalId: '10025678',
  operatorId: '01',
  acquirerContact: '95516',
};

export const sampleMerchantEn: MerchantInfo = { ...sampleMerchantZh, name: 'PUDONG DEMO MART' };

export function sampleSale(language: 'zh' | 'en', copy: SalesSlip['copy'] = 'merchant'): SalesSlip {
  return {
    kind: 'sales-slip',
    merchant: language === 'zh' ? sampleMerchantZh : sampleMerchantEn,
    copy,
    reprint: false,
    maskedPan: maskPan(TEST_PAN),
    cardType: language === 'zh' ? '银联借记卡' : 'UNIONPAY DEBIT',
    entryMode: 'chip',
    transactionType: 'sale',
    batch: 12,
    voucher: 345,
    stan: 678,
    rrn: '512312345678',
    authCode: 'A1B2C3',
    localTime: '2025-05-01 12:34:56',
    amountMinor: 12_345,
  };
}

export function sampleReversalPending(): ReversalPendingSlip {
  return {
    kind: 'reversal-pending',
    merchant: sampleMerchantZh,
    maskedPan: maskPan(TEST_PAN),
    transactionType: 'sale',
    batch: 12,
    stan: 679,
    localTime: '2025-05-01 12:40:02',
    amountMinor: 8_800,
    reason: 'no-reply',
    attempts: 4,
    lastAttemptTime: '2025-05-01 12:55:10',
  };
}

export function sampleSettlement(balanced: boolean): SettlementReport {
  return {
    kind: 'settlement',
    merchant: sampleMerchantZh,
    batch: 12,
    localTime: '2025-05-01 23:00:00',
    rows: [
      { type: 'sale', count: 3, amountMinor: 30_000 },
      { type: 'void', count: 1, amountMinor: 5_000 },
      { type: 'refund', count: 1, amountMinor: 2_050 },
    ],
    acquirerTotals: balanced ? { count: 5, netAmountMinor: 22_950 } : { count: 4, netAmountMinor: 27_950 },
  };
}
