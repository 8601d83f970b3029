// Every printed word in both languages, in one table, so the two receipts cannot drift apart in content.
import type { EntryMode, ReceiptCopy, ReceiptLanguage, ReversalPendingReason, TransactionType } from './receipt-model.js';

export interface Labels {
  salesSlipTitle: string;
  copy: Record<ReceiptCopy, string>;
  reprint: string;
  /** The mark of a transaction a void undid (sales slip `voidedBy`), and the label of the void's STAN. */
  voided: string;
  voidStan: string;
  merchantName: string;
  merchantId: string;
  terminalId: string;
  operator: string;
  cardNumber: string;
  cardType: string;
  entry: string;
  entryMode: Record<EntryMode, string>;
  transactionType: string;
  type: Record<TransactionType, string>;
  batch: string;
  voucher: string;
  stan: string;
  rrn: string;
  authCode: string;
  dateTime: string;
  amount: string;
  currency: (amount: string) => string;
  originalVoucher: string;
  signature: string;
  agreement: string;
  customerNote: string;
  reversalTitle: string;
  reversalWarning: string[];
  reversalAction: string[];
  reversalContact: string;
  reversalReason: string;
  reason: Record<ReversalPendingReason, string>;
  reversalAttempts: string;
  lastAttempt: string;
  settlementTitle: string;
  settlementHeader: [string, string, string];
  terminalTotal: string;
  acquirerTotal: string;
  balanced: string;
  unbalanced: string;
  unbalancedAction: string;
}

const zh: Labels = {
  salesSlipTitle: 'POS签购单',
  copy: { merchant: '商户存根', customer: '持卡人存根' },
  reprint: '重打印',
  voided: '已撤销(VOIDED)',
  voidStan: '撤销流水号',
  merchantName: '商户名称',
  merchantId: '商户编号',
  terminalId: '终端编号',
  operator: '操作员',
  cardNumber: '卡号',
  cardType: '卡类型',
  entry: '输入方式',
  entryMode: { chip: '插卡(I)', contactless: '挥卡(C)', magstripe: '刷卡(S)', fallback: '降级(F)', manual: '手输(M)' },
  transactionType: '交易类型',
  type: {
    sale: '消费(SALE)',
    void: '撤销(VOID)',
    refund: '退货(REFUND)',
    preauth: '预授权(AUTH)',
    'preauth-void': '预授权撤销',
    'preauth-completion': '预授权完成',
    'preauth-completion-void': '预授权完成撤销',
  },
  batch: '批次号',
  voucher: '凭证号',
  stan: '流水号',
  rrn: '参考号',
  authCode: '授权码',
  dateTime: '日期/时间',
  amount: '金额',
  currency: (a) => `${a}元`,
  originalVoucher: '原凭证号',
  signature: '持卡人签名:',
  agreement: '本人确认以上交易，同意将其记入本卡账户',
  customerNote: '请妥善保管此凭证',
  reversalTitle: '冲正未完成',
  reversalWarning: ['此交易未成功，但持卡人账户', '可能已被扣款。'],
  reversalAction: ['终端将继续自动冲正。', '请勿重复交易；', '如持卡人已被扣款，', '请联系收单机构。'],
  reversalContact: '收单机构',
  reversalReason: '原因',
  reason: {
    'no-reply': '主机无应答',
    'card-declined-after-approval': '卡片拒绝已批准交易',
    'power-loss': '交易中断电',
    'link-error': '通讯失败',
  },
  reversalAttempts: '冲正次数',
  lastAttempt: '最后尝试',
  settlementTitle: '结算单',
  settlementHeader: ['类型', '笔数', '金额'],
  terminalTotal: '终端合计',
  acquirerTotal: '主机合计',
  balanced: '对账平',
  unbalanced: '对账不平',
  unbalancedAction: '请联系收单机构核对本批次',
};

const en: Labels = {
  salesSlipTitle: 'POS SALES SLIP',
  copy: { merchant: 'MERCHANT COPY', customer: 'CUSTOMER COPY' },
  reprint: '*** DUPLICATE ***',
  voided: '*** VOIDED ***',
  voidStan: 'VOID TRACE NO.',
  merchantName: 'MERCHANT',
  merchantId: 'MERCHANT ID',
  terminalId: 'TERMINAL ID',
  operator: 'OPERATOR',
  cardNumber: 'CARD NO.',
  cardType: 'CARD TYPE',
  entry: 'ENTRY MODE',
  entryMode: { chip: 'CHIP (I)', contactless: 'CONTACTLESS (C)', magstripe: 'SWIPE (S)', fallback: 'FALLBACK (F)', manual: 'MANUAL (M)' },
  transactionType: 'TRANS TYPE',
  type: {
    sale: 'SALE',
    void: 'VOID',
    refund: 'REFUND',
    preauth: 'PRE-AUTH',
    'preauth-void': 'PRE-AUTH VOID',
    'preauth-completion': 'AUTH COMPLETE',
    'preauth-completion-void': 'COMPLETE VOID',
  },
  batch: 'BATCH NO.',
  voucher: 'VOUCHER NO.',
  stan: 'TRACE NO.',
  rrn: 'REF NO.',
  authCode: 'AUTH CODE',
  dateTime: 'DATE/TIME',
  amount: 'AMOUNT',
  currency: (a) => `CNY ${a}`,
  originalVoucher: 'ORIG VOUCHER',
  signature: 'CARDHOLDER SIGNATURE:',
  agreement: 'I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES',
  customerNote: 'PLEASE KEEP THIS RECEIPT',
  reversalTitle: 'REVERSAL PENDING',
  reversalWarning: ['THIS TRANSACTION FAILED, BUT', 'THE CUSTOMER MAY HAVE BEEN', 'DEBITED.'],
  reversalAction: ['THE TERMINAL KEEPS RETRYING THE REVERSAL.', 'DO NOT REPEAT THE SALE.', 'IF THE CUSTOMER WAS DEBITED, CONTACT THE ACQUIRER.'],
  reversalContact: 'ACQUIRER',
  reversalReason: 'REASON',
  reason: {
    'no-reply': 'NO REPLY FROM HOST',
    'card-declined-after-approval': 'CARD DECLINED APPROVAL',
    'power-loss': 'POWER LOST IN SALE',
    'link-error': 'COMMUNICATION FAILED',
  },
  reversalAttempts: 'ATTEMPTS',
  lastAttempt: 'LAST ATTEMPT',
  settlementTitle: 'SETTLEMENT',
  settlementHeader: ['TYPE', 'COUNT', 'AMOUNT'],
  terminalTotal: 'TERMINAL NET',
  acquirerTotal: 'ACQUIRER NET',
  balanced: 'BALANCED',
  unbalanced: 'UNBALANCED',
  unbalancedAction: 'CONTACT THE ACQUIRER TO RECONCILE THIS BATCH',
};

export function labelsFor(language: ReceiptLanguage): Labels {
  return language === 'zh' ? zh : en;
}
