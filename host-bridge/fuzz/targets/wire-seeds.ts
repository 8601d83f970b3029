// Valid CUP messages as the suite sends them: the spec's worked example, every transaction of the
// message catalogue, the management messages and the host's answers. Seeds for the codec, framing and
// acquirer-host targets.
import {
  batchEndRequest,
  batchUploadRequest,
  defaultTerminalEnvelope,
  encodeCup,
  encodeCupWithMac,
  financialRequest,
  message,
  replyEnvelope,
  reversalRequest,
  SecretKey,
  settlementRequest,
  signOnRequest,
  type IsoMessage,
  type TransactionKind,
} from '../../../protocol/iso8583/index.js';

export const SEED_ID = { terminalId: '12345678', merchantId: '898310048990001' };
export const SEED_PAN = '6212140000000000006';
/** The spec's worked-example MAC key. */
export const SEED_MAK = SecretKey.fromHex('A1B2C3D4E5F60718293A4B5C6D7E8F90');

const KINDS: TransactionKind[] = ['sale', 'void', 'refund', 'preauth', 'preauth-void', 'preauth-completion', 'balance'];

export function seedRequests(batch = '000001'): IsoMessage[] {
  const out: IsoMessage[] = [signOnRequest(SEED_ID, '000001', batch)];
  let stan = 2;
  for (const kind of KINDS) {
    const swipe = stan % 2 === 0;
    const m = financialRequest({
      kind,
      id: SEED_ID,
      stan: String(stan++).padStart(6, '0'),
      batch,
      ...(kind !== 'balance' ? { amount: '000000012345' } : {}),
      card: swipe ? { track2: `${SEED_PAN}=28122010000`, entryMode: '902' } : { pan: SEED_PAN, expiry: '2812', entryMode: '051', cardSequence: '001', icc: Buffer.from('9f2701809f360200019f2608a1b2c3d4e5f60718', 'hex') },
      time: '103015',
      date: '0315',
      ...(kind === 'void' || kind === 'preauth-void' || kind === 'preauth-completion' ? { original: { batch, stan: '000002' } } : {}),
      ...(kind === 'refund' ? { original: { batch, stan: '000002', date: '0315' }, originalRrn: '000000000002' } : {}),
      ...(kind === 'void' ? { originalRrn: '000000000002' } : {}),
      ...(kind === 'preauth-completion' ? { originalAuthCode: '000002' } : {}),
    });
    out.push(m);
    if (kind === 'sale') out.push(reversalRequest(m, '98', false), reversalRequest(m, 'A0', true));
  }
  const totals = { debitAmount: 12345n, debitCount: 1, creditAmount: 0n, creditCount: 0 };
  out.push(settlementRequest(SEED_ID, String(stan++).padStart(6, '0'), batch, totals));
  out.push(batchUploadRequest(SEED_ID, String(stan++).padStart(6, '0'), batch, { processingCode: '000000', amount: '000000012345', rrn: '000000000002', authCode: '000002', original: { batch, stan: '000002' } }));
  out.push(batchEndRequest(SEED_ID, String(stan++).padStart(6, '0'), batch, 1));
  return out;
}

/** Answers as the host sends them (37, 38, 39, 48, 54, 62 filled in). */
export function seedReplies(): IsoMessage[] {
  return [
    message('0810', { 11: '000001', 39: '00', 41: SEED_ID.terminalId, 42: SEED_ID.merchantId, 60: '00000001003', 62: Buffer.alloc(40, 0x11) }),
    message('0210', { 3: '000000', 4: '000000012345', 11: '000002', 37: '000000000002', 38: '000002', 39: '00', 41: SEED_ID.terminalId, 42: SEED_ID.merchantId, 49: '156', 60: '22000001000' }),
    message('0210', { 3: '310000', 11: '000008', 39: '00', 41: SEED_ID.terminalId, 42: SEED_ID.merchantId, 54: '1002156C000009995000', 60: '01000001000' }),
    message('0510', { 11: '000009', 39: '00', 41: SEED_ID.terminalId, 42: SEED_ID.merchantId, 48: '0000000123450010000000000000001' + '0'.repeat(30) + '1', 49: '156', 60: '00000001201' }),
  ];
}

/** Frame bodies: requests with a MAC (under the worked example's key), replies as the host MACs them. */
export function seedBodies(): Buffer[] {
  const requests = seedRequests().map((m) => (m.mti === '0800' ? encodeCup(defaultTerminalEnvelope, m) : encodeCupWithMac(defaultTerminalEnvelope, m, SEED_MAK).body));
  const replies = seedReplies().map((m) => encodeCupWithMac(replyEnvelope(defaultTerminalEnvelope), m, SEED_MAK).body);
  return [...requests, ...replies];
}
