// The slips the engine prints from journaled transactions, line by line as the paper reads: what the
// cashier and the cardholder are told (amount and its sign, masked PAN, batch, voucher, STAN, original
// voucher, RRN, auth code, the kind of transaction, the duplicate mark), in Chinese and in English, and the
// 冲正未完成 slip of a stuck reversal.
import { describe, expect, it } from 'vitest';
import { jobPaperText } from '../../protocol/escpos/page-text.js';
import type { EngineConfig } from '../../firmware-ts/txn/engine-api.js';
import type { AuthIntent } from '../../firmware-ts/txn/records.js';
import type { OwedReversal } from '../../firmware-ts/txn/terminal-state.js';
import { merchantOf, salesSlipJobOf, stuckSlipJob, type SlipSource } from '../../firmware-ts/txn/txn-receipts.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** Each job's lines as printed, without the blank feed before the cut. */
const paper = (job: Buffer) => jobPaperText(job).map((page) => page.replace(/\n+$/, '').split('\n'));

// Local times, so the slip reads the same whatever the machine's time zone.
const AT = new Date(2026, 2, 5, 9, 3, 7).toISOString();
const NOW = new Date(2026, 2, 5, 9, 30, 0).getTime();

const config = { identity: { merchantId: '898310048990001', terminalId: '12345678' }, merchantName: 'Test Shop' } as EngineConfig;
const sale: SlipSource = { maskedPan: '622202******1234', entryMode: '051', kind: 'sale', batch: 3, stan: 42, at: AT, amount: 12_345 };
const voided: SlipSource = { ...sale, kind: 'void', stan: 43, original: { stan: 42, rrn: '123456789012' } };

const HEAD_ZH = ['--------------------------------', '商户名称:              Test Shop', '商户编号:        898310048990001', '终端编号:               12345678', '--------------------------------'];
const HEAD_EN = ['--------------------------------', 'MERCHANT:              Test Shop', 'MERCHANT ID:     898310048990001', 'TERMINAL ID:            12345678', '--------------------------------'];

describe('the sales slip', () => {
  it('an approved sale in Chinese: merchant copy to sign, then the cardholder copy', () => {
    const body = [
      '卡号:           622202******1234',
      '卡类型:                   银联卡',
      '输入方式:                插卡(I)',
      '交易类型:             消费(SALE)',
      '批次号:                   000003',
      '凭证号:                   000042',
      '流水号:                   000042',
      '参考号:             123456789012',
      '授权码:                   A1B2C3',
      '日期/时间:   2026-03-05 09:03:07',
      '--------------------------------',
      '金额:                   123.45元',
      '--------------------------------',
    ];
    expect(paper(salesSlipJobOf(sale, { rrn: '123456789012', authCode: 'A1B2C3' }, merchantOf(config), 'zh', false))).toEqual([
      ['       POS签购单', '            商户存根', ...HEAD_ZH, ...body, '持卡人签名:', '', '', ' ______________________________', '本人确认以上交易，同意将其记入本', '卡账户'],
      ['       POS签购单', '           持卡人存根', ...HEAD_ZH, ...body, '        请妥善保管此凭证'],
    ]);
  });

  it('a duplicate of a void, the cardholder copy alone: marked at both ends, the original voucher, a minus', () => {
    expect(paper(salesSlipJobOf(voided, { rrn: '123456789013', authCode: 'A1B2C4' }, merchantOf(config), 'zh', true, 'customer'))).toEqual([
      [
        '       POS签购单',
        '             重打印',
        '           持卡人存根',
        ...HEAD_ZH,
        '卡号:           622202******1234',
        '卡类型:                   银联卡',
        '输入方式:                插卡(I)',
        '交易类型:             撤销(VOID)',
        '批次号:                   000003',
        '凭证号:                   000043',
        '流水号:                   000043',
        '原凭证号:                 000042',
        '参考号:             123456789013',
        '授权码:                   A1B2C4',
        '日期/时间:   2026-03-05 09:03:07',
        '--------------------------------',
        '金额:                  -123.45元',
        '--------------------------------',
        '        请妥善保管此凭证',
        '             重打印',
      ],
    ]);
  });

  it('in English, the merchant copy alone; no outcome: RRN of zeros and no auth code line; an unknown entry mode reads as a swipe', () => {
    expect(paper(salesSlipJobOf({ ...sale, entryMode: '' }, undefined, merchantOf(config), 'en', false, 'merchant'))).toEqual([
      [
        '  POS SALES SLIP',
        '         MERCHANT COPY',
        ...HEAD_EN,
        'CARD NO.:       622202******1234',
        'CARD TYPE:              UnionPay',
        'ENTRY MODE:            SWIPE (S)',
        'TRANS TYPE:                 SALE',
        'BATCH NO.:                000003',
        'VOUCHER NO.:              000042',
        'TRACE NO.:                000042',
        'REF NO.:            000000000000',
        'DATE/TIME:   2026-03-05 09:03:07',
        '--------------------------------',
        'AMOUNT:               CNY 123.45',
        '--------------------------------',
        'CARDHOLDER SIGNATURE:',
        '',
        '',
        ' ______________________________',
        'I ACKNOWLEDGE SATISFACTORY',
        'RECEIPT OF RELATIVE',
        'GOODS/SERVICES',
      ],
    ]);
  });
});

describe('the slip of a sale a void undid (voidedBy)', () => {
  it('in English, a duplicate of the customer copy: VOIDED at both ends inside the duplicate marks, the void\'s trace number after the sale\'s', () => {
    expect(paper(salesSlipJobOf(sale, { rrn: '123456789012', authCode: 'A1B2C3' }, merchantOf(config), 'en', true, 'customer', 43))).toEqual([
      [
        '  POS SALES SLIP',
        '       *** DUPLICATE ***',
        '         *** VOIDED ***',
        '         CUSTOMER COPY',
        ...HEAD_EN,
        'CARD NO.:       622202******1234',
        'CARD TYPE:              UnionPay',
        'ENTRY MODE:             CHIP (I)',
        'TRANS TYPE:                 SALE',
        'BATCH NO.:                000003',
        'VOUCHER NO.:              000042',
        'TRACE NO.:                000042',
        'VOID TRACE NO.:           000043',
        'REF NO.:            123456789012',
        'AUTH CODE:                A1B2C3',
        'DATE/TIME:   2026-03-05 09:03:07',
        '--------------------------------',
        'AMOUNT:               CNY 123.45',
        '--------------------------------',
        '    PLEASE KEEP THIS RECEIPT',
        '         *** VOIDED ***',
        '       *** DUPLICATE ***',
      ],
    ]);
  });

  it('in Chinese, both copies of an original: 已撤销(VOIDED) at both ends of each, the amount as the sale was (no minus: the void slip carries the credit)', () => {
    const pages = paper(salesSlipJobOf(sale, { rrn: '123456789012', authCode: 'A1B2C3' }, merchantOf(config), 'zh', false, 'both', 43));
    expect(pages).toHaveLength(2);
    for (const page of pages) {
      expect(page[1]).toBe('         已撤销(VOIDED)');
      expect(page.filter((l) => l.includes('已撤销'))).toHaveLength(2);
      expect(page).toContain('撤销流水号:               000043');
      expect(page).toContain('金额:                   123.45元');
      expect(page).not.toContain('             重打印');
    }
    expect(pages[0]!.at(-1)).toBe('         已撤销(VOIDED)');
  });
});

describe('the 冲正未完成 slip of a stuck reversal', () => {
  const rev: OwedReversal = { seq: 9, kind: 'sale', amount: 12_345, maskedPan: '622202******1234', reason: '98', attempts: 3, stuck: true };
  const clock = new ManualClock(NOW);
  const intent: AuthIntent = { ...sale, currency: '156', reversalImage: {} };

  it('in Chinese by default, from the intent, with the acquirer to call', () => {
    expect(paper(stuckSlipJob(42, rev, intent, { ...config, acquirerContact: '95516' }, clock))).toEqual([
      [
        '      冲正未完成',
        '--------------------------------',
        '此交易未成功，但持卡人账户',
        '可能已被扣款。',
        '--------------------------------',
        '商户名称:              Test Shop',
        '商户编号:        898310048990001',
        '终端编号:               12345678',
        '卡号:           622202******1234',
        '交易类型:             消费(SALE)',
        '批次号:                   000003',
        '流水号:                   000042',
        '日期/时间:   2026-03-05 09:03:07',
        '金额:                   123.45元',
        '原因:                 主机无应答',
        '冲正次数:                      3',
        '最后尝试:    2026-03-05 09:30:00',
        '--------------------------------',
        '终端将继续自动冲正。',
        '请勿重复交易；',
        '如持卡人已被扣款，',
        '请联系收单机构。',
        '收单机构:                  95516',
      ],
    ]);
  });

  it('in English when configured, without a contact line when none is configured', () => {
    expect(paper(stuckSlipJob(42, rev, intent, { ...config, language: 'en' }, clock))).toEqual([
      [
        'REVERSAL PENDING',
        '--------------------------------',
        'THIS TRANSACTION FAILED, BUT',
        'THE CUSTOMER MAY HAVE BEEN',
        'DEBITED.',
        ...HEAD_EN.slice(0, -1),
        'CARD NO.:       622202******1234',
        'TRANS TYPE:                 SALE',
        'BATCH NO.:                000003',
        'TRACE NO.:                000042',
        'DATE/TIME:   2026-03-05 09:03:07',
        'AMOUNT:               CNY 123.45',
        'REASON:       NO REPLY FROM HOST',
        'ATTEMPTS:                      3',
        'LAST ATTEMPT:',
        '             2026-03-05 09:30:00',
        '--------------------------------',
        'THE TERMINAL KEEPS RETRYING THE',
        'REVERSAL.',
        'DO NOT REPEAT THE SALE.',
        'IF THE CUSTOMER WAS DEBITED,',
        'CONTACT THE ACQUIRER.',
      ],
    ]);
  });
});
