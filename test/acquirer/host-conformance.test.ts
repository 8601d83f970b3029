// The acquirer simulator as protocol/ISO8583.md describes it: it answers or drops any frame and keeps
// serving; a repeated 0500 is the same settlement; a refund must name its original's date (and its batch and
// STAN when non-zero); a settled batch takes no new authorization.
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import type { ExchangeResult } from '../../firmware-ts/acquirer/index.js';
import { AcquirerHost } from '../../host-bridge/acquirer/index.js';
import { defaultTerminalEnvelope, encodeCup, frame, message, parseField48Totals, settlementRequest, textField } from '../../protocol/iso8583/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { tmpDir } from '../helpers/tmp.js';
import { BATCH, ID, request, rig, TMK, type Rig } from './harness.js';

let rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs) await r.stop();
  rigs = [];
});

async function open(): Promise<Rig> {
  const r = await rig(tmpDir('host-conf'));
  rigs.push(r);
  return r;
}

const code = (res: ExchangeResult) => (res.kind === 'response' ? textField(res.message, 39) : res.kind);
const totals = (debitAmount: bigint, debitCount: number) => ({ debitAmount, debitCount, creditAmount: 0n, creditCount: 0 });

describe('any frame is answered or dropped; the host never stops serving', () => {
  it('an unauthenticated frame with MTI 9990-9999 or a response MTI is dropped, not answered', () => {
    const host = AcquirerHost.open({ storage: nodeStorage, ledgerPath: path.join(tmpDir('host-mti'), 'l.jsonl'), tmk: TMK, clock: new ManualClock() });
    const events: string[] = [];
    try {
      for (const mti of ['9990', '9999', '0210', '0810', '1200']) {
        const reply = host.handle(encodeCup(defaultTerminalEnvelope, message(mti, { 11: '000001', 41: ID.terminalId })));
        expect(reply, mti).toEqual({ kind: 'none', reason: `MTI ${mti} is not a request` });
      }
      // A request of an unknown kind is still answered (A0: not authenticated).
      const unknown = host.handle(encodeCup(defaultTerminalEnvelope, message('0600', { 11: '000001', 41: ID.terminalId })));
      expect(unknown.kind).toBe('send');
      events.push(...host.state.entries.map((e) => e.kind));
    } finally {
      host.close();
    }
    expect(events).toEqual([]);
  });

  it('over TCP: after a 9990 frame the same connection and new ones are still served', async () => {
    const r = await open();
    const raw = net.connect(r.server.port, '127.0.0.1');
    raw.on('error', () => undefined);
    await new Promise<void>((ok) => raw.once('connect', () => ok()));
    raw.write(frame(encodeCup(defaultTerminalEnvelope, message('9990', { 11: '000001' }))));
    expect(code(await r.link.exchange(request('sale', '000002', '000000000100')))).toBe('00');
    expect(raw.destroyed).toBe(false);
    raw.destroy();
  });

  it('a handler failure that is not a ledger write costs that connection only', async () => {
    const r = await open();
    const handle = r.host.handle.bind(r.host);
    let fail = true;
    r.host.handle = (body) => {
      if (fail) {
        fail = false;
        throw new Error('a bug in a handler');
      }
      return handle(body);
    };
    expect(code(await r.link.exchange(request('sale', '000002', '000000000100')))).not.toBe('00');
    expect(code(await r.link.exchange(request('sale', '000003', '000000000100')))).toBe('00');
  });
});

describe('settlement (0500) is one per STAN; a settled batch is closed', () => {
  it('a repeated 0500 with the same STAN gets the same answer and is recorded once', async () => {
    const r = await open();
    expect(code(await r.link.exchange(request('sale', '000002', '000000001000')))).toBe('00');
    const first = await r.link.exchange(settlementRequest(ID, '000003', BATCH, totals(999n, 1)));
    // Between the two, the host's totals change nothing the repeat reports: it is the same settlement.
    const again = await r.link.exchange(settlementRequest(ID, '000003', BATCH, totals(999n, 1)));
    const f48 = (res: ExchangeResult) => (res.kind === 'response' ? textField(res.message, 48) : undefined);
    expect(f48(again)).toBe(f48(first));
    expect(first.kind === 'response' && parseField48Totals(first.message)).toMatchObject({ result: '2', totals: totals(1000n, 1) });
    expect(r.host.state.entries.filter((e) => e.kind === 'settlement')).toHaveLength(1);
  });

  it('a sale or a void into a settled batch is refused 77; the next batch takes sales', async () => {
    const r = await open();
    expect(code(await r.link.exchange(request('sale', '000002', '000000001000')))).toBe('00');
    expect(code(await r.link.exchange(settlementRequest(ID, '000003', BATCH, totals(1000n, 1))))).toBe('00');
    expect(code(await r.link.exchange(request('sale', '000004', '000000001000')))).toBe('77');
    expect(code(await r.link.exchange(request('void', '000005', '000000001000', { original: { batch: BATCH, stan: '000002' } })))).toBe('77');
    expect(code(await r.link.exchange(request('sale', '000006', '000000001000', { batch: '000002' })))).toBe('00');
    expect(r.host.state.entries.filter((e) => e.kind === 'authorization')).toHaveLength(2);
  });
});

describe('refund (退货) names its original', () => {
  async function saleOf(r: Rig): Promise<string> {
    const res = await r.link.exchange(request('sale', '000002', '000000010000'));
    expect(code(res)).toBe('00');
    return res.kind === 'response' ? textField(res.message, 37)! : '';
  }
  const refund = (r: Rig, stan: string, rrn: string, original: { batch: string; stan: string; date?: string }) =>
    r.link.exchange(request('refund', stan, '000000001000', { originalRrn: rrn, original, batch: '000002' }));

  it('with the wrong original date, or none, it is refused 25', async () => {
    const r = await open();
    const rrn = await saleOf(r);
    expect(code(await refund(r, '000003', rrn, { batch: '000000', stan: '000000', date: '0316' }))).toBe('25');
    expect(code(await refund(r, '000004', rrn, { batch: '000000', stan: '000000' }))).toBe('25');
    expect(code(await refund(r, '000005', rrn, { batch: '000000', stan: '000000', date: '0315' }))).toBe('00');
  });

  it('naming a batch and STAN that are not the RRN\'s sale is refused 25; naming the right ones is approved', async () => {
    const r = await open();
    const rrn = await saleOf(r);
    expect(code(await refund(r, '000003', rrn, { batch: BATCH, stan: '000009', date: '0315' }))).toBe('25');
    expect(code(await refund(r, '000004', rrn, { batch: BATCH, stan: '000002', date: '0315' }))).toBe('00');
    expect(r.host.state.entries.filter((e) => e.kind === 'authorization' && e.txn === 'refund')).toHaveLength(1);
  });
});
