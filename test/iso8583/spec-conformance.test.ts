// Every message the terminal and the acquirer simulator exchange, in a session that runs every transaction
// of the spec's "Messages" table, decoded by an independent reading of protocol/ISO8583.md (spec-reading.ts:
// the field table parsed from the spec as data, not the codec's tables) and checked row by row.
import { describe, expect, it } from 'vitest';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import { Settlement } from '../../firmware-ts/txn/settlement.js';
import type { CardReadOutcome } from '../../firmware-ts/txn/engine-devices.js';
import { decodeCup, defaultTerminalEnvelope, encodeCupWithMac, financialRequest, textField, unwrapWorkingKeys } from '../../protocol/iso8583/index.js';
import { ID, PAN, TMK } from '../acquirer/harness.js';
import { EngineRig, FakeReader, PASSWORD } from '../txn/engine-rig.js';
import { cupFieldTable, decodeBySpec, messageTable, rowFor, type SpecDecoded } from './spec-reading.js';

/** A reader that swipes with the whole track 2, as the real driver hands it out ('D' separator). */
class SwipeReader extends FakeReader {
  override async readCard(): Promise<CardReadOutcome> {
    const read = await super.readCard();
    if (read.kind === 'card' && this.entryMode === 'magstripe') read.card = { ...read.card, track2: new Secret(`${PAN}D28122010000`) };
    return read;
  }
}

interface Exchange {
  request: Buffer;
  replies: Buffer[];
}

async function session(): Promise<Exchange[]> {
  const rig = new EngineRig();
  Object.defineProperty(rig, 'reader', { value: new SwipeReader() });
  const tapped: Exchange[] = [];
  const handle = rig.host.handle.bind(rig.host);
  rig.host.handle = (body) => {
    const reply = handle(body);
    tapped.push({ request: Buffer.from(body), replies: reply.kind === 'send' ? reply.frames.map((f) => f.body) : [] });
    return reply;
  };
  const engine = await rig.start();
  expect((await rig.run(engine.boot())).signedOn).toBe(true);
  const approved = async <T extends { kind: string }>(p: Promise<T>) => {
    const r = await rig.run(p);
    expect(r.kind).toBe('approved');
    return r as T & { stan: number; rrn: string };
  };
  const swiped = await approved(engine.sale(1_000));
  rig.reader.entryMode = 'chip';
  const chip = await approved(engine.sale(2_000));
  await approved(engine.balance());
  rig.reader.entryMode = 'magstripe';
  const pre = await approved(engine.preauth(5_000));
  await approved(engine.completion({ stan: pre.stan, amount: 4_000 }));
  const pre2 = await approved(engine.preauth(3_000));
  await approved(engine.preauthVoid({ stan: pre2.stan, password: PASSWORD }));
  await approved(engine.void({ stan: chip.stan, password: PASSWORD }));
  const saleDate = (rig.ledger('authorization').find((e) => e.kind === 'authorization' && e.stan === String(swiped.stan).padStart(6, '0')) as { date: string }).date;
  await approved(engine.refund({ rrn: swiped.rrn, date: saleDate, amount: 500, password: PASSWORD }));

  // A lost reply: the 0400 is lost too, so the repeat goes as 0401.
  rig.host.rules = { ...rig.host.rules, rules: [{ when: { amount: 4_242 }, then: { action: 'drop-reply' } }] };
  expect((await rig.run(engine.sale(4_242))).kind).not.toBe('approved');
  rig.host.rules = { ...rig.host.rules, rules: [] };
  await rig.run(engine.sendReversals());
  expect(engine.reversals()).toEqual([]);

  // A debit only the host saw makes the batch unbalanced: upload (0320) and batch end follow the 0500.
  const signOn = rig.host.state.entries.find((e) => e.kind === 'sign-on');
  const mak = unwrapWorkingKeys(TMK, Buffer.from(signOn?.kind === 'sign-on' ? signOn.wrappedKeys : '', 'base64')).mac;
  rig.host.handle(
    encodeCupWithMac(
      defaultTerminalEnvelope,
      financialRequest({ kind: 'sale', id: ID, stan: '000900', batch: '000001', amount: '000000000999', card: { pan: PAN, expiry: '2812', entryMode: '021' }, time: '101010', date: saleDate }),
      mak,
    ).body,
  );
  const settlement = new Settlement({ journal: rig.journal, link: rig.link, clock: rig.clock, identity: ID, storage: rig.disk });
  expect((await rig.run(settlement.settle())).balanced).toBe(false);
  // The one debit the terminal never asked for is the only thing the money checks object to.
  expect(rig.violations().map((v) => `${v.invariant} ${v.stan}`)).toEqual(['no-phantom-debit 900']);
  engine.stop();
  return tapped;
}

describe('the wire, read with protocol/ISO8583.md alone', () => {
  it('every request and reply decodes by the spec, agrees with the codec, and meets its row of the Messages table', async () => {
    const table = cupFieldTable();
    const rows = messageTable();
    expect(rows.map((r) => r.transaction)).toHaveLength(12);
    const exchanges = await session();
    const seen = new Set<string>();
    const agree = (body: Buffer, spec: SpecDecoded) => {
      const codec = decodeCup(body).message;
      expect(spec.mti).toBe(codec.mti);
      expect([...spec.fields.keys()]).toEqual([...codec.fields.keys()]);
      for (const [n, v] of spec.fields) expect(typeof v === 'string' ? v : v.toString('hex'), `field ${n}`).toBe(typeof v === 'string' ? textField(codec, n) : (codec.fields.get(n) as Buffer).toString('hex'));
    };
    const originals = new Map<string, SpecDecoded>();
    for (const { request, replies } of exchanges) {
      const req = decodeBySpec(request, table);
      agree(request, req);
      const row = rowFor(rows, req);
      expect(row, `no row of the Messages table for MTI ${req.mti}`).toBeDefined();
      seen.add(row!.transaction);
      const where = `${row!.transaction} (${req.mti}, STAN ${String(req.fields.get(11))})`;
      for (const group of row!.required) expect(group.some((n) => req.fields.has(n)), `${where} lacks ${group.join(' or ')}`).toBe(true);
      for (const n of row!.forbidden) expect(req.fields.has(n), `${where} carries ${n}`).toBe(false);
      expect(req.fields.has(64), `${where}: field 64`).toBe(req.mti !== '0800');
      if (req.mti === '0200' || req.mti === '0100' || req.mti === '0220') originals.set(String(req.fields.get(11)), req);
      if (req.mti === '0400' || req.mti === '0401') {
        // "original 3, 4, 22, 25, 49 ... 60": the reversal repeats its original's values.
        const original = originals.get(String(req.fields.get(11)))!;
        for (const n of [3, 4, 11, 22, 25, 49, 60]) expect(req.fields.get(n), `${where} field ${n}`).toEqual(original.fields.get(n));
      }
      if ((req.mti === '0200' || req.mti === '0100') && req.fields.has(35)) expect(String(req.fields.get(22)).slice(0, 2)).toBe('90');
      for (const body of replies) {
        const res = decodeBySpec(body, table);
        agree(body, res);
        expect(res.mti, where).toBe(row!.responseMti);
        expect(res.fields.has(39), `${where}: reply field 39`).toBe(true);
        if (res.fields.get(39) === '00') for (const n of row!.responseFields) expect(res.fields.has(n), `${where}: reply field ${n}`).toBe(true);
      }
    }
    // The session exercised every row of the table, repeats (0401) included.
    expect([...seen].sort()).toEqual(rows.map((r) => r.transaction).sort());
    expect(exchanges.some((e) => decodeBySpec(e.request, table).mti === '0401')).toBe(true);
  });
});
