import { describe, expect, it } from 'vitest';
import { printThroughSimulator } from '../../host-bridge/examples/print-through-simulator.js';
import { sampleReversalPending, sampleSale, sampleSettlement } from '../../host-bridge/examples/sample-receipts.js';
import { receiptText } from '../../protocol/escpos/page-text.js';
import { decodeEscPos } from '../../protocol/escpos/decoder.js';
import { textColumns } from '../../protocol/escpos/text-width.js';
import { formatMinor } from '../../firmware-ts/receipts/money.js';
import { wrapColumns } from '../../firmware-ts/receipts/print-layout.js';
import { ReceiptError } from '../../firmware-ts/receipts/receipt-errors.js';
import type { Receipt, ReceiptLanguage } from '../../firmware-ts/receipts/receipt-model.js';
import { renderReceipt } from '../../firmware-ts/receipts/render-receipt.js';
import { bothCopies } from '../../firmware-ts/receipts/sales-slip.js';

/** What the paper shows: the job through the simulator's decoder and text renderer. */
function paper(receipt: Receipt, language: ReceiptLanguage): string {
  const printed = printThroughSimulator(renderReceipt(receipt, language));
  expect(printed).toHaveLength(1);
  return receiptText(printed[0]!);
}

const lines = (text: string) => text.split('\n');

describe('sales slip (签购单)', () => {
  it('Chinese merchant copy carries every field, the masked PAN and the signature line', () => {
    const t = paper(sampleSale('zh', 'merchant'), 'zh');
    for (const want of ['POS签购单', '商户存根', '上海浦东示例便利店', '898310048161234', '10025678', '622202*********0123', '银联借记卡', '插卡(I)', '消费(SALE)', '000012', '000345', '000678', '512312345678', 'A1B2C3', '2025-05-01 12:34:56', '123.45元', '持卡人签名']) {
      expect(t).toContain(want);
    }
    expect(t).not.toContain('重打印');
    expect(t).not.toContain('6222021234567890123');
  });

  it('English customer copy has no signature line and labels in English', () => {
    const t = paper(sampleSale('en', 'customer'), 'en');
    for (const want of ['POS SALES SLIP', 'CUSTOMER COPY', 'PUDONG DEMO MART', 'CARD NO.:', '622202*********0123', 'CHIP (I)', 'TRANS TYPE:', 'SALE', 'TRACE NO.:', '000678', 'REF NO.:', 'AUTH CODE:', 'CNY 123.45']) {
      expect(t).toContain(want);
    }
    expect(t).not.toContain('SIGNATURE');
    // A pure-ASCII English slip never switches the printer into Chinese mode.
    expect(decodeEscPos(renderReceipt(sampleSale('en'), 'en')).some((op) => op.op === 'chinese-mode' && op.on)).toBe(false);
  });

  it('a reprint is marked 重打印 / DUPLICATE at top and bottom', () => {
    const zh = paper({ ...sampleSale('zh'), reprint: true }, 'zh');
    expect(zh.split('重打印').length - 1).toBe(2);
    const en = paper({ ...sampleSale('en'), reprint: true }, 'en');
    expect(en.split('*** DUPLICATE ***').length - 1).toBe(2);
  });

  it('void and refund print their type, a negative amount and the original voucher', () => {
    const v = paper({ ...sampleSale('zh'), transactionType: 'void', originalVoucher: 344 }, 'zh');
    expect(v).toContain('撤销(VOID)');
    expect(v).toContain('-123.45元');
    expect(v).toContain('原凭证号');
    const r = paper({ ...sampleSale('en'), transactionType: 'refund', amountMinor: 5 }, 'en');
    expect(r).toContain('REFUND');
    expect(r).toContain('CNY -0.05');
  });

  it('merchant and customer copies come from one model', () => {
    const { copy: _ignored, ...base } = sampleSale('zh');
    const [m, c] = bothCopies(base);
    expect(paper(m, 'zh')).toContain('商户存根');
    expect(paper(c, 'zh')).toContain('持卡人存根');
  });

  it('every line fits 32 columns, CJK counted double', () => {
    for (const lang of ['zh', 'en'] as const) {
      for (const r of [sampleSale(lang), sampleReversalPending(), sampleSettlement(false)]) {
        for (const l of lines(paper(r, lang))) expect(textColumns(l), l).toBeLessThanOrEqual(32);
      }
    }
  });
});

describe('PAN safety', () => {
  it('refuses a full PAN, even with spaces', () => {
    for (const pan of ['6222021234567890123', '4111 1111 1111 1111']) {
      expect(() => renderReceipt({ ...sampleSale('zh'), maskedPan: pan }, 'zh')).toThrow(ReceiptError);
      try {
        renderReceipt({ ...sampleSale('zh'), maskedPan: pan }, 'zh');
      } catch (e) {
        expect((e as ReceiptError).code).toBe('RECEIPT_FULL_PAN');
        expect((e as ReceiptError).field).toBe('maskedPan');
      }
    }
    expect(() => renderReceipt({ ...sampleReversalPending(), maskedPan: '6222021234567890123' }, 'en')).toThrow(/RECEIPT_FULL_PAN/);
  });

  it('refuses a mask that shows more than first 6 / last 4, and a PAN hidden in free text', () => {
    expect(() => renderReceipt({ ...sampleSale('en'), maskedPan: '62220212****0123' }, 'en')).toThrow(/RECEIPT_BAD_FIELD: maskedPan/);
    expect(() => renderReceipt({ ...sampleSale('en'), cardType: 'DEBIT 4111111111111111' }, 'en')).toThrow(/RECEIPT_FULL_PAN: cardType/);
    const merchant = { ...sampleSale('en').merchant, name: 'SHOP 4111111111111111' };
    expect(() => renderReceipt({ ...sampleSale('en'), merchant }, 'en')).toThrow(/RECEIPT_FULL_PAN: merchant.name/);
  });

  it('names other bad fields', () => {
    expect(() => renderReceipt({ ...sampleSale('en'), amountMinor: 1.5 }, 'en')).toThrow(/amountMinor/);
    expect(() => renderReceipt({ ...sampleSale('en'), localTime: '2025/05/01' }, 'en')).toThrow(/localTime/);
    expect(() => renderReceipt({ ...sampleSale('en'), stan: 1_000_000 }, 'en')).toThrow(/stan/);
    expect(() => renderReceipt({ ...sampleSale('en'), rrn: 'short' }, 'en')).toThrow(/rrn/);
  });
});

describe('reversal pending slip (冲正未完成)', () => {
  it('says the customer may have been debited and whom to contact', () => {
    const zh = paper(sampleReversalPending(), 'zh');
    for (const want of ['冲正未完成', '可能已被扣款', '联系收单机构', '95516', '88.00元', '000679', '主机无应答', '冲正次数']) expect(zh).toContain(want);
    const en = paper(sampleReversalPending(), 'en');
    for (const want of ['REVERSAL PENDING', 'MAY HAVE BEEN', 'DEBITED', 'CONTACT THE', 'ACQUIRER', 'CNY 88.00', 'ATTEMPTS:']) expect(en).toContain(want);
  });
});

describe('settlement report (结算单)', () => {
  it('lists counts and signed totals by type and says balanced', () => {
    const t = paper(sampleSettlement(true), 'zh');
    expect(t).toContain('结算单');
    expect(t).toMatch(/消费\(SALE\)\s+3\s+300\.00/);
    expect(t).toMatch(/撤销\(VOID\)\s+1\s+-50\.00/);
    expect(t).toMatch(/退货\(REFUND\)\s+1\s+-20\.50/);
    expect(t).toMatch(/终端合计\s+5\s+229\.50/);
    expect(t).toContain('对账平');
    expect(t).not.toContain('对账不平');
  });

  it('says unbalanced, with both totals, when the acquirer disagrees', () => {
    const t = paper(sampleSettlement(false), 'en');
    expect(t).toContain('UNBALANCED');
    expect(t).toMatch(/TERMINAL NET\s+5\s+229\.50/);
    expect(t).toMatch(/ACQUIRER NET\s+4\s+279\.50/);
    expect(t).toContain('RECONCILE');
  });

  it('refuses an authorization row: pre-auths do not settle', () => {
    const bad = { ...sampleSettlement(true), rows: [{ type: 'preauth', count: 1, amountMinor: 100 }] } as unknown as Receipt;
    expect(() => renderReceipt(bad, 'zh')).toThrow(/RECEIPT_BAD_FIELD: rows\[0\]\.type/);
  });
});

describe('layout helpers', () => {
  it('formats fen as yuan with two decimals, no floating point', () => {
    expect([0, 5, 100, 12345, -2050, 900719925474099].map(formatMinor)).toEqual(['0.00', '0.05', '1.00', '123.45', '-20.50', '9007199254740.99']);
  });

  it('wraps English at spaces and Chinese at any character, never past the width', () => {
    expect(wrapColumns('I ACKNOWLEDGE SATISFACTORY RECEIPT', 16)).toEqual(['I ACKNOWLEDGE', 'SATISFACTORY', 'RECEIPT']);
    const zh = wrapColumns('本人确认以上交易，同意将其记入本卡账户', 32);
    expect(zh).toEqual(['本人确认以上交易，同意将其记入本', '卡账户']);
    expect(wrapColumns('A中B', 2)).toEqual(['A', '中', 'B']);
    expect(wrapColumns('请勿重复交易；如', 12)).toEqual(['请勿重复交', '易；如']);
  });
});
