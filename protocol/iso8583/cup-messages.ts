// The CUP POS message catalogue this project uses: which MTI, processing code (field 3) and message type
// code (60.1) make each transaction, and the layouts inside fields 48, 60 and 61. Both the terminal engine
// and the acquirer simulator build and read messages through here, so the two cannot drift apart.
import { message, textField, type IsoMessage } from './message.js';
import { PIN_CAPTURE_CODE, PIN_SECURITY_CONTROL } from './pin-block.js';

export type TransactionKind =
  | 'sale'
  | 'void'
  | 'refund'
  | 'preauth'
  | 'preauth-void'
  | 'preauth-completion'
  | 'balance';

interface KindLayout {
  mti: string;
  processingCode: string;
  /** 60.1 message type code. */
  typeCode: string;
}

export const KINDS: Record<TransactionKind, KindLayout> = {
  sale: { mti: '0200', processingCode: '000000', typeCode: '22' },
  void: { mti: '0200', processingCode: '200000', typeCode: '23' },
  refund: { mti: '0220', processingCode: '200000', typeCode: '25' },
  preauth: { mti: '0100', processingCode: '030000', typeCode: '10' },
  'preauth-void': { mti: '0100', processingCode: '200000', typeCode: '11' },
  'preauth-completion': { mti: '0200', processingCode: '000000', typeCode: '20' },
  balance: { mti: '0200', processingCode: '310000', typeCode: '01' },
};

/** 60.3 network management information codes. */
export const NetworkCode = {
  none: '000',
  signOnDoubleLengthKeys: '003',
  settlement: '201',
  batchUpload: '201',
  batchEnd: '202',
} as const;

/** Field 39 codes this project uses. */
export const ResponseCode = {
  approved: '00',
  doNotHonour: '05',
  invalidTransaction: '12',
  invalidAmount: '13',
  invalidCard: '14',
  formatError: '30',
  originalNotFound: '25',
  insufficientFunds: '51',
  /** 55 密码错误: the PIN in field 52 is not the card's (or a PIN-only card came without one). */
  wrongPin: '55',
  /** 75 密码错误次数超限: too many wrong PINs in a row; the card's PIN is blocked. */
  pinTriesExceeded: '75',
  /** 99 PIN格式错: field 52 does not decrypt to a format 0 block for this PAN. */
  pinBlockError: '99',
  duplicate: '94',
  /** 77: the batch in field 60 is already settled at the host (重新签到); the terminal must move to its next batch. */
  batchSettled: '77',
  macError: 'A0',
} as const;

/** Reversal reasons carried in field 39 of a 0400/0401. */
export type ReversalReason = '98' | 'A0' | '06';

export class CupContentError extends Error {
  constructor(
    readonly field: number,
    reason: string,
  ) {
    super(`CUP field ${field}: ${reason}`);
    this.name = 'CupContentError';
  }
}

export interface Field60 {
  typeCode: string;
  batch: string;
  networkCode: string;
}

export function field60(f: Field60): string {
  return f.typeCode + f.batch + f.networkCode;
}

export function parseField60(msg: IsoMessage): Field60 {
  const s = textField(msg, 60);
  if (s === undefined || s.length < 11) throw new CupContentError(60, 'needs message type code, batch and network code (11 digits)');
  return { typeCode: s.slice(0, 2), batch: s.slice(2, 8), networkCode: s.slice(8, 11) };
}

/** Field 61 for void, refund, completion and batch upload: original batch, STAN and date (MMDD). */
export interface OriginalData {
  batch: string;
  stan: string;
  date?: string;
}

export function field61(o: OriginalData): string {
  return o.batch + o.stan + (o.date ?? '');
}

export function parseField61(msg: IsoMessage): OriginalData | undefined {
  const s = textField(msg, 61);
  if (s === undefined) return undefined;
  if (s.length !== 12 && s.length !== 16) throw new CupContentError(61, 'is original batch + STAN (+ MMDD): 12 or 16 digits');
  return { batch: s.slice(0, 6), stan: s.slice(6, 12), ...(s.length === 16 ? { date: s.slice(12) } : {}) };
}

/** Settlement totals in field 48; amounts in minor units (fen). Foreign-card totals are sent as zero. */
export interface BatchTotals {
  debitAmount: bigint;
  debitCount: number;
  creditAmount: bigint;
  creditCount: number;
}

/** 对账应答代码 in field 48 of the 0510: 1 balanced, 2 unbalanced, 3 error. The request sends 0. */
export type SettlementResult = '0' | '1' | '2' | '3';

export function field48Totals(t: BatchTotals, result: SettlementResult = '0'): string {
  const amount = (a: bigint) => a.toString().padStart(12, '0');
  const count = (c: number) => String(c).padStart(3, '0');
  const domestic = amount(t.debitAmount) + count(t.debitCount) + amount(t.creditAmount) + count(t.creditCount) + result;
  return domestic + '0'.repeat(30) + result;
}

export function parseField48Totals(msg: IsoMessage): { totals: BatchTotals; result: SettlementResult } {
  const s = textField(msg, 48);
  if (s === undefined || s.length !== 62) throw new CupContentError(48, 'settlement totals are 62 digits');
  const result = s[30]!;
  if (!'0123'.includes(result)) throw new CupContentError(48, `settlement result "${result}" is not 0-3`);
  return {
    totals: {
      debitAmount: BigInt(s.slice(0, 12)),
      debitCount: Number(s.slice(12, 15)),
      creditAmount: BigInt(s.slice(15, 27)),
      creditCount: Number(s.slice(27, 30)),
    },
    result: result as SettlementResult,
  };
}

export interface TerminalIdentity {
  /** Field 41, 8 characters. */
  terminalId: string;
  /** Field 42, 15 characters. */
  merchantId: string;
}

/** What the card gave: PAN and expiry, or track 2 (held in memory only, never persisted). */
export interface CardInput {
  pan?: string;
  track2?: string;
  expiry?: string;
  /** Field 22, e.g. "902" swiped without PIN, "051" chip with PIN, "072" contactless without. */
  entryMode: string;
  cardSequence?: string;
  icc?: Buffer;
  /** Field 52, the PIN block encrypted under the PIK (memory only); with it go 26 and 53. */
  pinBlock?: Buffer;
}

export interface FinancialRequest {
  kind: TransactionKind;
  id: TerminalIdentity;
  stan: string;
  batch: string;
  /** Minor units, 12 digits. Not sent for a balance inquiry. */
  amount?: string;
  card: CardInput;
  time: string;
  date: string;
  original?: OriginalData;
  /** Field 37 for void and refund. */
  originalRrn?: string;
  /** Field 38 for void and completion. */
  originalAuthCode?: string;
}

/** Builds the request; add field 64 with encodeCupWithMac. */
export function financialRequest(r: FinancialRequest): IsoMessage {
  const k = KINDS[r.kind];
  return message(k.mti, {
    2: r.card.pan,
    3: k.processingCode,
    4: r.amount,
    11: r.stan,
    12: r.time,
    13: r.date,
    14: r.card.expiry,
    22: r.card.entryMode,
    23: r.card.cardSequence,
    25: '00',
    26: r.card.pinBlock ? PIN_CAPTURE_CODE : undefined,
    35: r.card.track2,
    37: r.originalRrn,
    38: r.originalAuthCode,
    41: r.id.terminalId,
    42: r.id.merchantId,
    49: r.amount === undefined ? undefined : '156',
    52: r.card.pinBlock,
    53: r.card.pinBlock ? PIN_SECURITY_CONTROL : undefined,
    55: r.card.icc,
    60: field60({ typeCode: k.typeCode, batch: r.batch, networkCode: NetworkCode.none }),
    61: r.original ? field61(r.original) : undefined,
  });
}

/**
 * The reversal of an authorization request: same STAN, amount, processing code and field 60, MTI 0400 on
 * the first try and 0401 on repeats, field 39 the reason. No card data (2, 14, 35, 55): the acquirer finds
 * the original by terminal, batch and STAN, and the reversal is rebuilt from what the journal keeps, which
 * holds no full PAN (protocol/ISO8583.md, "Why a reversal carries no field 2"). Never the PIN fields 26, 52
 * and 53: a PIN block is sent once, in its own request, and never kept for a repeat.
 */
export function reversalRequest(original: IsoMessage, reason: ReversalReason, repeat: boolean): IsoMessage {
  const keep = [3, 4, 11, 22, 23, 25, 38, 41, 42, 49, 60, 61];
  const fields = new Map<number, string | Buffer>();
  for (const n of keep) {
    const v = original.fields.get(n);
    if (v !== undefined) fields.set(n, v);
  }
  fields.set(39, reason);
  return { mti: repeat ? '0401' : '0400', fields };
}

export function signOnRequest(id: TerminalIdentity, stan: string, batch: string, operator = '01 '): IsoMessage {
  return message('0800', {
    11: stan,
    41: id.terminalId,
    42: id.merchantId,
    60: field60({ typeCode: '00', batch, networkCode: NetworkCode.signOnDoubleLengthKeys }),
    63: operator,
  });
}

export function settlementRequest(id: TerminalIdentity, stan: string, batch: string, totals: BatchTotals): IsoMessage {
  return message('0500', {
    11: stan,
    41: id.terminalId,
    42: id.merchantId,
    48: field48Totals(totals),
    49: '156',
    60: field60({ typeCode: '00', batch, networkCode: NetworkCode.settlement }),
    63: '01 ',
  });
}

/**
 * One record of the batch upload after an unbalanced settlement. The PAN is optional: a terminal that keeps
 * only masked PANs (DESIGN rule 6) names the record by original batch + STAN (61) and RRN (37) instead.
 */
export interface UploadRecord {
  pan?: string;
  processingCode: string;
  amount: string;
  rrn: string;
  authCode?: string;
  original: OriginalData;
}

export function batchUploadRequest(id: TerminalIdentity, stan: string, batch: string, r: UploadRecord): IsoMessage {
  return message('0320', {
    2: r.pan,
    3: r.processingCode,
    4: r.amount,
    11: stan,
    37: r.rrn,
    38: r.authCode,
    41: id.terminalId,
    42: id.merchantId,
    49: '156',
    60: field60({ typeCode: '00', batch, networkCode: NetworkCode.batchUpload }),
    61: field61(r.original),
  });
}

/** Batch end (批上送结束): field 48 is the number of records uploaded, 4 digits. */
export function batchEndRequest(id: TerminalIdentity, stan: string, batch: string, records: number): IsoMessage {
  return message('0320', {
    11: stan,
    41: id.terminalId,
    42: id.merchantId,
    48: String(records).padStart(4, '0'),
    60: field60({ typeCode: '00', batch, networkCode: NetworkCode.batchEnd }),
  });
}

/**
 * A request or advice a host answers: version 0, class 1-8, function 0 (request) or 2 (advice), origin 0 or
 * 1 (repeat). Anything else (a response, a notification, MTI 9990) has no response MTI.
 */
export function isRequestMti(mti: string): boolean {
  return /^0[1-8][02][01]$/.test(mti);
}

/** MTI of the response to a request MTI (see isRequestMti): 0200 → 0210, 0401 → 0410 (repeats are answered as originals). */
export function responseMti(requestMti: string): string {
  const base = requestMti.slice(0, 3) + '0';
  return (Number(base) + 10).toString().padStart(4, '0');
}
