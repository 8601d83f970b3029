// The engine's wire fields against protocol/ISO8583.md: entry mode matches the card data sent (a swipe's
// track 2 in field 35, never journaled), a refund of this terminal's own sale names it in field 61, a void,
// completion and pre-authorization void name their original (61, 38, and 37 only in the void), and a
// void of a sale in a settled batch is refused with "use refund".
import { describe, expect, it } from 'vitest';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import { findSensitive } from '../../firmware-ts/pci/card-data.js';
import type { CardReadOutcome } from '../../firmware-ts/txn/engine-devices.js';
import { Settlement } from '../../firmware-ts/txn/settlement.js';
import { buildRequest, field35, localStamp, parseBalance, reversalFromImage, reversalImage, type RequestSpec } from '../../firmware-ts/txn/txn-messages.js';
import { decodeCup, message, textField, type IsoMessage } from '../../protocol/iso8583/index.js';
import { ID, PAN } from '../acquirer/harness.js';
import { EngineRig, FakeReader, PASSWORD } from './engine-rig.js';

class TrackReader extends FakeReader {
  track2: string | undefined = `${PAN}D28122010000`;
  override async readCard(): Promise<CardReadOutcome> {
    const read = await super.readCard();
    if (read.kind === 'card' && this.track2 !== undefined) read.card = { ...read.card, track2: new Secret(this.track2) };
    return read;
  }
}

async function tappedRig() {
  const rig = new EngineRig();
  const reader = new TrackReader();
  Object.defineProperty(rig, 'reader', { value: reader });
  const sent: IsoMessage[] = [];
  const handle = rig.host.handle.bind(rig.host);
  rig.host.handle = (body) => {
    try {
      sent.push(decodeCup(body).message);
    } catch {
      // the host reports it
    }
    return handle(body);
  };
  const engine = await rig.start();
  expect((await rig.run(engine.boot())).signedOn).toBe(true);
  return { rig, engine, reader, sent };
}

describe('wire fields', () => {
  it('a swipe with its track 2 goes as entry mode 90 with field 35 as read; the journal never holds it', async () => {
    const { rig, engine, sent } = await tappedRig();
    expect(await rig.run(engine.sale(1_200))).toMatchObject({ kind: 'approved' });
    const sale = sent.find((m) => m.mti === '0200')!;
    expect(textField(sale, 22)).toBe('902');
    expect(textField(sale, 35)).toBe(`${PAN}=28122010000`);
    expect(sale.fields.has(2)).toBe(false);
    expect(sale.fields.has(14)).toBe(false);
    for (const r of rig.records()) expect(findSensitive(r.payload)).toBeNull();
  });

  it('a swipe whose reader gave no usable track 2 goes as 02 with PAN and expiry', async () => {
    const { rig, engine, reader, sent } = await tappedRig();
    reader.track2 = `${PAN}D2812201A`; // not track-2 digits: cannot travel in a z field
    expect(await rig.run(engine.sale(1_300))).toMatchObject({ kind: 'approved' });
    const sale = sent.find((m) => m.mti === '0200')!;
    expect(textField(sale, 22)).toBe('022');
    expect(textField(sale, 2)).toBe(PAN);
    expect(textField(sale, 14)).toBe('2812');
    expect(sale.fields.has(35)).toBe(false);
  });

  it('a refund of this terminal\'s own sale names its batch, STAN and date in field 61', async () => {
    const { rig, engine, sent } = await tappedRig();
    const sale = await rig.run(engine.sale(8_000));
    if (sale.kind !== 'approved') throw new Error('sale not approved');
    const date = textField(sent.find((m) => m.mti === '0200')!, 13)!;
    expect(await rig.run(engine.refund({ rrn: sale.rrn, date, amount: 1_000, password: PASSWORD }))).toMatchObject({ kind: 'approved' });
    const refund = sent.find((m) => m.mti === '0220')!;
    expect(textField(refund, 61)).toBe(`000001${String(sale.stan).padStart(6, '0')}${date}`);
    // The wrong date is refused by the acquirer (25), not approved against the sale.
    const wrong = date === '0101' ? '0102' : '0101';
    expect(await rig.run(engine.refund({ rrn: sale.rrn, date: wrong, amount: 1_000, password: PASSWORD }))).toMatchObject({ kind: 'declined', responseCode: '25' });
  });

  it('a refund of another terminal\'s sale carries zero batch and STAN with the date', async () => {
    const { rig, engine, sent } = await tappedRig();
    await rig.run(engine.refund({ rrn: '000000009999', date: '0315', amount: 1_000, password: PASSWORD }));
    expect(textField(sent.find((m) => m.mti === '0220')!, 61)).toBe('0000000000000315');
  });

  it('a void, a completion and a pre-authorization void name their original: 61 always, 38 its auth code, 37 only in the void', async () => {
    const { rig, engine, sent } = await tappedRig();
    const s6 = (n: number) => String(n).padStart(6, '0');
    const last = (mti: string, code: string) => [...sent].reverse().find((m) => m.mti === mti && textField(m, 60)!.startsWith(code))!;
    const sale = await rig.run(engine.sale(2_500));
    if (sale.kind !== 'approved') throw new Error('sale not approved');
    expect(await rig.run(engine.void({ stan: sale.stan, password: PASSWORD }))).toMatchObject({ kind: 'approved', txn: 'void' });
    const voided = last('0200', '23');
    expect([textField(voided, 37), textField(voided, 38), textField(voided, 61)]).toEqual([sale.rrn, sale.authCode, `000001${s6(sale.stan)}`]);

    for (const [kind, code] of [['preauth-completion', '20'], ['preauth-void', '11']] as const) {
      const pre = await rig.run(engine.preauth(3_000));
      if (pre.kind !== 'approved') throw new Error('pre-authorization not approved');
      const r = kind === 'preauth-completion' ? engine.completion({ stan: pre.stan, amount: 3_000 }) : engine.preauthVoid({ stan: pre.stan, password: PASSWORD });
      expect(await rig.run(r)).toMatchObject({ kind: 'approved', txn: kind });
      const m = last(kind === 'preauth-completion' ? '0200' : '0100', code);
      expect(m.fields.has(37), kind).toBe(false);
      expect([textField(m, 38), textField(m, 61)], kind).toEqual([pre.authCode, `000001${s6(pre.stan)}`]);
    }
  });

  it('a void of a sale in a settled batch says to refund instead, and sends nothing', async () => {
    const { rig, engine, sent } = await tappedRig();
    const sale = await rig.run(engine.sale(2_500));
    if (sale.kind !== 'approved') throw new Error('sale not approved');
    const settlement = new Settlement({ journal: rig.journal, link: rig.link, clock: rig.clock, identity: ID, storage: rig.disk });
    expect(await rig.run(settlement.settle())).toMatchObject({ batch: 1, balanced: true });
    const before = sent.length;
    const voided = await rig.run(engine.void({ stan: sale.stan, password: PASSWORD }));
    expect(voided).toMatchObject({ kind: 'refused', reason: 'original-not-voidable' });
    expect(JSON.stringify(voided)).toContain(`settled batch 1: use refund (退货) with RRN ${sale.rrn}`);
    expect(sent.length).toBe(before);
  });
});

/** Every field of a message as text (bytes as hex), in field order: what goes on the wire, all of it. */
const wire = (m: IsoMessage) => Object.fromEntries([...m.fields.entries()].sort(([a], [b]) => a - b).map(([n, v]) => [n, typeof v === 'string' ? v : `0x${v.toString('hex')}`]));

const EMV = Buffer.from('9f2701809f3602000195050000000000', 'hex');
const PIN_BLOCK = Buffer.from('0123456789abcdef', 'hex');
const STAMP = { time: '101112', date: '1202', iso: '2026-12-02T02:11:12.000Z' };

function card(entryMode: 'magstripe' | 'chip' | 'contactless', extra: { track2?: string; panSeq?: string; emv?: Buffer } = {}): RequestSpec['card'] {
  const posEntryMode = { magstripe: '90', chip: '05', contactless: '07' }[entryMode];
  return {
    entryMode,
    posEntryMode,
    maskedPan: '621214*********0006',
    pan: new Secret(PAN),
    expiry: new Secret('2812'),
    emvData: extra.emv ?? Buffer.alloc(0),
    ...(extra.track2 !== undefined ? { track2: new Secret(extra.track2) } : {}),
    ...(extra.panSeq !== undefined ? { panSeq: extra.panSeq } : {}),
  };
}

const spec = (c: RequestSpec['card'], more: Partial<RequestSpec> = {}): RequestSpec => ({ kind: 'sale', id: ID, stan: 42, batch: 7, amount: 1_250, card: c, stamp: STAMP, ...more });
const common = { 3: '000000', 4: '000000001250', 11: '000042', 12: '101112', 13: '1202', 25: '00', 41: ID.terminalId, 42: ID.merchantId, 49: '156', 60: '22000007000' };
const pinFields = { 26: '12', 52: `0x${PIN_BLOCK.toString('hex')}`, 53: '2600000000000000' };

describe('buildRequest: the card data and field 22 of each read, every field', () => {
  it('a swipe with track 2: 90, field 35, no 2/14; with a PIN 901 and 26/52/53', () => {
    const c = card('magstripe', { track2: `${PAN}D28122010000` });
    expect(wire(buildRequest(spec(c)))).toEqual({ ...common, 22: '902', 35: `${PAN}=28122010000` });
    expect(wire(buildRequest(spec(c, { pinBlock: new Secret(PIN_BLOCK) })))).toEqual({ ...common, 22: '901', 35: `${PAN}=28122010000`, ...pinFields });
  });

  it('a swipe without usable track 2: 02 with PAN and expiry; with a PIN 021', () => {
    const c = card('magstripe');
    expect(wire(buildRequest(spec(c)))).toEqual({ ...common, 2: PAN, 14: '2812', 22: '022' });
    expect(wire(buildRequest(spec(c, { pinBlock: new Secret(PIN_BLOCK) })))).toEqual({ ...common, 2: PAN, 14: '2812', 22: '021', ...pinFields });
    // A swipe carries no ICC data, whatever else the reader handed over.
    expect(wire(buildRequest(spec(card('magstripe', { emv: EMV }))))).toEqual({ ...common, 2: PAN, 14: '2812', 22: '022' });
  });

  it('a chip read: 05 with PAN, expiry, card sequence padded to 3, ICC; never track 2; with a PIN 051', () => {
    const c = card('chip', { track2: `${PAN}D28122010000`, panSeq: '1', emv: EMV });
    const chip = { ...common, 2: PAN, 14: '2812', 23: '001', 55: `0x${EMV.toString('hex')}` };
    expect(wire(buildRequest(spec(c)))).toEqual({ ...chip, 22: '052' });
    expect(wire(buildRequest(spec(c, { pinBlock: new Secret(PIN_BLOCK) })))).toEqual({ ...chip, 22: '051', ...pinFields });
    // No ICC data read: no field 55 (an empty one is no ICC data either).
    expect(wire(buildRequest(spec(card('chip'))))).toEqual({ ...common, 2: PAN, 14: '2812', 22: '052' });
  });

  it('a contactless read: 07 with PAN, expiry, card sequence and ICC (protocol/ISO8583.md, field 22)', () => {
    const c = card('contactless', { panSeq: '01', emv: EMV });
    expect(wire(buildRequest(spec(c)))).toEqual({ ...common, 2: PAN, 14: '2812', 22: '072', 23: '001', 55: `0x${EMV.toString('hex')}` });
  });

  it('a void names its original by entry mode and field 61 only, with RRN and auth code: no card data', () => {
    const v = buildRequest(spec({ posEntryMode: '05' }, { kind: 'void', original: { batch: 7, stan: 40 }, originalRrn: '123456789012', originalAuthCode: 'A1B2C3' }));
    expect(wire(v)).toEqual({ ...common, 3: '200000', 22: '052', 37: '123456789012', 38: 'A1B2C3', 60: '23000007000', 61: '000007000040' });
    const r = buildRequest(spec(card('magstripe'), { kind: 'refund', original: { batch: 0, stan: 0, date: '0315' } }));
    expect(textField(r, 61)).toBe('0000000000000315');
    expect(r.fields.has(37)).toBe(false);
    expect(r.fields.has(38)).toBe(false);
  });
});

describe('field 35: only a track 2 equivalent the field can carry', () => {
  it('12..19 digits, separator, 4-digit expiry, digits; at most 37 characters', () => {
    expect(field35(`${PAN}D2812`)).toBe(`${PAN}=2812`);
    expect(field35(`${PAN}D${'2'.repeat(17)}`), '37 characters').toBe(`${PAN}=${'2'.repeat(17)}`);
    expect(field35(`${PAN}D${'2'.repeat(18)}`), '38 characters').toBeUndefined();
    expect(field35(`${PAN}D281`), 'no whole expiry').toBeUndefined();
    expect(field35(`;${PAN}D2812`), 'a start sentinel').toBeUndefined();
    expect(field35(`62121400000D2812`), '11 digits').toBeUndefined();
  });
});

describe('the reversal image and the reversal rebuilt from it', () => {
  it('the image holds exactly the fields the request has of 3, 4, 11, 22, 23, 25, 38, 41, 49, 60, 61 and its MTI (never 42: its 15 digits read as a PAN)', () => {
    const sale = buildRequest(spec(card('chip', { panSeq: '1', emv: EMV }), { pinBlock: new Secret(PIN_BLOCK) }));
    expect(reversalImage(sale)).toStrictEqual({ mti: '0200', '3': '000000', '4': '000000001250', '11': '000042', '22': '051', '23': '001', '25': '00', '41': ID.terminalId, '49': '156', '60': '22000007000' });
    const voided = buildRequest(spec({ posEntryMode: '90' }, { kind: 'void', original: { batch: 7, stan: 40 }, originalAuthCode: 'A1B2C3' }));
    expect(reversalImage(voided)).toStrictEqual({ mti: '0200', '3': '200000', '4': '000000001250', '11': '000042', '22': '902', '25': '00', '38': 'A1B2C3', '41': ID.terminalId, '49': '156', '60': '23000007000', '61': '000007000040' });
  });

  it('0400 first, 0401 repeated: the image with its terminal (the original\'s, whatever the config says now), the merchant from config, the reason in 39; nothing else', () => {
    const image = reversalImage(buildRequest(spec(card('chip', { panSeq: '1', emv: EMV }))));
    const want = { 3: '000000', 4: '000000001250', 11: '000042', 22: '052', 23: '001', 25: '00', 39: '98', 41: ID.terminalId, 42: '898310048990002', 49: '156', 60: '22000007000' };
    const id = { terminalId: '87654321', merchantId: '898310048990002' };
    const first = reversalFromImage(image, id, '98', false);
    expect(first.mti).toBe('0400');
    expect(wire(first)).toEqual(want);
    const repeat = reversalFromImage(image, id, '98', true);
    expect(repeat.mti).toBe('0401');
    expect(wire(repeat)).toEqual(want);
  });
});

describe('localStamp: fields 12 and 13 in the terminal\'s local time', () => {
  it('hhmmss and MMDD, months counted from 1', () => {
    const at = new Date(2026, 0, 9, 7, 5, 3).getTime();
    expect(localStamp({ now: () => at, setTimer: () => ({ cancel: () => undefined }) })).toEqual({ time: '070503', date: '0109', iso: new Date(at).toISOString() });
  });
});

describe('parseBalance: field 54 of a balance answer', () => {
  const answer = (f54?: string) => message('0210', f54 === undefined ? { 39: '00' } : { 39: '00', 54: f54 });
  it('C is the balance in fen, D a negative one; anything else is no balance', () => {
    expect(parseBalance(answer('1002156C000000012345'))).toBe(12_345);
    expect(parseBalance(answer('1002156D000000000700'))).toBe(-700);
    expect(parseBalance(answer())).toBeUndefined();
    expect(parseBalance(answer('X1002156C000000012345'))).toBeUndefined();
    expect(parseBalance(answer('1002156X000000012345'))).toBeUndefined();
  });
});
