// Builds the engine's ISO 8583 messages through the shared CUP catalogue (protocol/iso8583/cup-messages.ts):
// the request from a card read held in memory, the reversal image that goes to the journal (no PAN, no
// expiry, no track or ICC data, no terminal or merchant ID), and the 0400/0401 rebuilt from that image.
import type { Clock } from '../../protocol/io/clock.js';
import {
  financialRequest,
  reversalRequest,
  textField,
  type FieldValue,
  type IsoMessage,
  type TerminalIdentity,
  type TransactionKind,
} from '../../protocol/iso8583/index.js';
import type { Secret } from '../devices/card-reader/secret.js';
import type { CardForTxn } from './engine-devices.js';
import type { ReversalReason } from './records.js';

/**
 * Fields of a request that the reversal repeats and the journal may hold (never 26, 52, 53: the PIN). 41
 * too: a reversal names the terminal of its original, whatever the config says now (42, the merchant's 15
 * digits, reads as a PAN to the journal's card-data guard, so it stays the config's).
 */
const IMAGE_FIELDS = [3, 4, 11, 22, 23, 25, 38, 41, 49, 60, 61] as const;

export const pad6 = (n: number) => String(n).padStart(6, '0');
export const amount12 = (fen: number) => String(fen).padStart(12, '0');

export interface LocalStamp {
  /** Field 12, hhmmss. */
  time: string;
  /** Field 13, MMDD. */
  date: string;
  iso: string;
}

export function localStamp(clock: Clock): LocalStamp {
  const d = new Date(clock.now());
  const two = (n: number) => String(n).padStart(2, '0');
  return {
    time: two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds()),
    date: two(d.getMonth() + 1) + two(d.getDate()),
    iso: d.toISOString(),
  };
}

/** Field 22: how the card was read (2 digits) + "1" when this message carries a PIN (52), else "2". */
export const field22 = (posEntryMode: string, withPin = false) => `${posEntryMode}${withPin ? '1' : '2'}`;

/** Track 2 equivalent as field 35 carries it: the reader's `D` separator written as `=`; undefined if not sendable. */
export function field35(track2: string): string | undefined {
  const t = track2.replace('D', '=');
  return /^\d{12,19}=\d{4}\d*$/.test(t) && t.length <= 37 ? t : undefined;
}

/**
 * What goes on the wire for the card data actually read (protocol/ISO8583.md, field 22): a swipe with its
 * track 2 is entry mode 90 with field 35 as the reader gave it (expiry and PAN are inside it); a swipe
 * whose reader gave no usable track 2 is 02 with PAN and expiry; chip and contactless keep the reader's
 * mode with PAN, expiry, card sequence and ICC data.
 */
function cardFields(card: RequestSpec['card'], pinBlock: Secret<Buffer> | undefined) {
  if (!('pan' in card)) return { entryMode: field22(card.posEntryMode) };
  const pin = pinBlock ? { pinBlock: pinBlock.reveal() } : {};
  const track2 = card.entryMode === 'magstripe' && card.track2 ? field35(card.track2.reveal()) : undefined;
  if (track2 !== undefined) return { entryMode: field22('90', pinBlock !== undefined), track2, ...pin };
  return {
    entryMode: field22(card.entryMode === 'magstripe' ? '02' : card.posEntryMode, pinBlock !== undefined),
    ...pin,
    pan: card.pan.reveal(),
    expiry: card.expiry.reveal(),
    ...(card.panSeq ? { cardSequence: card.panSeq.padStart(3, '0') } : {}),
    // Contactless carries its ICC data as chip does: the acquirer checks the card's cryptogram in it.
    ...(card.entryMode !== 'magstripe' && card.emvData.length > 0 ? { icc: card.emvData } : {}),
  };
}

export interface RequestSpec {
  kind: TransactionKind;
  id: TerminalIdentity;
  stan: number;
  batch: number;
  amount?: number;
  /** The card read for this transaction, or only the entry mode of the original (void, completion). */
  card: CardForTxn | { posEntryMode: string };
  /** The encrypted PIN block for field 52 (online-pin.ts); memory only, never in the reversal image. */
  pinBlock?: Secret<Buffer>;
  stamp: LocalStamp;
  original?: { batch: number; stan: number; date?: string };
  originalRrn?: string;
  originalAuthCode?: string;
}

/** The request, with PAN, expiry, track 2 and the PIN block revealed only into the message object (memory). */
export function buildRequest(s: RequestSpec): IsoMessage {
  return financialRequest({
    kind: s.kind,
    id: s.id,
    stan: pad6(s.stan),
    batch: pad6(s.batch),
    ...(s.amount !== undefined ? { amount: amount12(s.amount) } : {}),
    card: cardFields(s.card, s.pinBlock),
    time: s.stamp.time,
    date: s.stamp.date,
    ...(s.original ? { original: { batch: pad6(s.original.batch), stan: pad6(s.original.stan), ...(s.original.date ? { date: s.original.date } : {}) } } : {}),
    ...(s.originalRrn !== undefined ? { originalRrn: s.originalRrn } : {}),
    ...(s.originalAuthCode !== undefined ? { originalAuthCode: s.originalAuthCode } : {}),
  });
}

/** What the journal keeps to rebuild the reversal: field number → value, text fields only. */
export function reversalImage(request: IsoMessage): Record<string, string> {
  const image: Record<string, string> = { mti: request.mti };
  for (const n of IMAGE_FIELDS) {
    const v = textField(request, n);
    if (v !== undefined) image[String(n)] = v;
  }
  return image;
}

/**
 * The 0400 (first try) or 0401 (repeat) for a journaled image; the terminal ID is the original's (the
 * config's for an image journaled before images held it), the merchant ID the config's.
 */
export function reversalFromImage(image: Record<string, string>, id: TerminalIdentity, reason: ReversalReason, repeat: boolean): IsoMessage {
  const fields = new Map<number, FieldValue>();
  fields.set(41, id.terminalId);
  fields.set(42, id.merchantId);
  for (const [k, v] of Object.entries(image)) if (k !== 'mti') fields.set(Number(k), v);
  return reversalRequest({ mti: image.mti ?? '0200', fields }, reason, repeat);
}

/** Field 54 of a balance answer: "1002156" + C/D + 12 digits; the available balance in fen. */
export function parseBalance(msg: IsoMessage): number | undefined {
  const f = textField(msg, 54);
  const m = f === undefined ? null : /^\d{4}\d{3}([CD])(\d{12})/.exec(f);
  if (!m) return undefined;
  return (m[1] === 'D' ? -1 : 1) * Number(m[2]);
}
