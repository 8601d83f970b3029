// EMV data the simulated chip hands out: the first GENERATE AC (ARQC) with the read, and the second
// GENERATE AC (TC, or AAC when the card declines) after the host's answer.
import { randomBytes } from 'node:crypto';
import { encodeTlv, type TlvNode } from '../../protocol/emv/tlv.js';
import type { TestCard } from './reader-cards.js';

const node = (tag: string, value: Buffer | string): TlvNode => ({ tag, value: typeof value === 'string' ? Buffer.from(value, 'hex') : value });

function bcdAmount(amount: number): Buffer {
  return Buffer.from(String(amount).padStart(12, '0'), 'hex');
}

function yymmdd(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(now.getUTCFullYear() % 100)}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
}

/** Track 2 equivalent: PAN 'D' YYMM service code + discretionary, F-padded to whole bytes. Service code
 * 220 (third digit 0: PIN required) for an online-PIN card, 201 otherwise. */
export function track2Of(card: TestCard): string {
  const t = `${card.pan}D${card.expiry}${card.pin === 'online' ? '220' : '201'}${'0'.repeat(5)}`;
  return t.length % 2 ? `${t}F` : t;
}

/** Where the cryptogram and the unpredictable number come from: the OS by default; the simulator passes a seeded stream. */
export type RandomBytes = (n: number) => Buffer;

export function firstAcData(card: TestCard, amount: number, currency: string, atc: number, now: Date, random: RandomBytes = randomBytes): string {
  const panBcd = card.pan.length % 2 ? `${card.pan}F` : card.pan;
  const nodes: TlvNode[] = [
    node('5A', panBcd),
    node('57', track2Of(card)),
    node('5F34', card.panSeq ?? '00'),
    node('82', '1980'),
    node('84', card.aid ?? ''),
    node('95', '0000008000'),
    // CVM results: 02 enciphered PIN online (42: the same, bypass allowed), or 1F no CVM; result unknown (00) / successful (02).
    node('9F34', card.pin === 'online' ? '020000' : card.pin === 'bypass' ? '420000' : '1F0002'),
    node('9A', yymmdd(now)),
    node('9C', '00'),
    node('5F2A', `0${currency}`),
    node('9F02', bcdAmount(amount)),
    node('9F10', '07010103A00000010A0100000000000000000000'),
    node('9F26', random(8)),
    node('9F27', '80'),
    node('9F36', Buffer.of(atc >> 8, atc & 0xff)),
    node('9F37', random(4)),
  ];
  return encodeTlv(nodes).toString('hex').toUpperCase();
}

export function secondAcData(approve: boolean, atc: number, random: RandomBytes = randomBytes): string {
  return encodeTlv([
    node('9F27', approve ? '40' : '00'),
    node('9F26', random(8)),
    node('9F36', Buffer.of(atc >> 8, atc & 0xff)),
    node('95', approve ? '0000008000' : '0000048000'),
    node('9F10', '07010103600000010A0100000000000000000000'),
  ]).toString('hex').toUpperCase();
}
