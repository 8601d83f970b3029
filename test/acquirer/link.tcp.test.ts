// The acquirer link against the simulated host over real loopback TCP, one network fault at a time.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../protocol/io/clock.js';
import { AcquirerLink, tcpConnector, type LinkEvent } from '../../firmware-ts/acquirer/index.js';
import {
  decodeCup,
  encodeCup,
  frame,
  FrameReader,
  message,
  replyEnvelope,
  textField,
} from '../../protocol/iso8583/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { defaultRules, type RuleAction } from '../../host-bridge/acquirer/index.js';
import { request, rig, sleep, type Rig } from './harness.js';

let current: Rig | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

async function withScript(...script: (RuleAction | null)[]): Promise<Rig> {
  return withTimeout(400, ...script);
}

async function withTimeout(responseTimeoutMs: number, ...script: (RuleAction | null)[]): Promise<Rig> {
  // Step 0 is the sign-on.
  current = await rig(tmpDir('link'), { rules: { ...defaultRules(), script: [null, ...script] }, responseTimeoutMs });
  return current;
}

const debits = (r: Rig) => r.host.state.entries.filter((e) => e.kind === 'authorization').length;

describe('acquirer link over loopback TCP', () => {
  it('approves a sale: response matched, MAC verified, one debit in the ledger', async () => {
    const r = await withScript();
    const res = await r.link.exchange(request('sale', '000002', '000000012345'));
    expect(res.kind).toBe('response');
    if (res.kind !== 'response') return;
    expect(res.message.mti).toBe('0210');
    expect(textField(res.message, 39)).toBe('00');
    expect(textField(res.message, 37)).toMatch(/^\d{12}$/);
    expect(res.message.fields.has(64)).toBe(true);
    expect(debits(r)).toBe(1);
  });

  it('reports a decline with its code and no debit', async () => {
    const r = await withScript({ action: 'decline', code: '51' });
    const res = await r.link.exchange(request('sale', '000002', '000000012345'));
    expect(res.kind === 'response' && textField(res.message, 39)).toBe('51');
    expect(debits(r)).toBe(0);
  });

  it('times out when the reply is dropped after the debit', async () => {
    const r = await withScript({ action: 'drop-reply' });
    expect((await r.link.exchange(request('sale', '000002', '000000000100'))).kind).toBe('timeout');
    expect(debits(r)).toBe(1);
  });

  it('ignores a late reply, reporting it, and the next exchange still matches its own', async () => {
    // Timeout 800 ms. The 0210 for STAN 2 comes 900 ms after the host got it, so always after the timeout,
    // and STAN 3 cannot be sent before the timeout, so its answer (300 ms later) comes after the late one.
    const r = await withTimeout(800, { action: 'approve', delayMs: 900 }, { action: 'approve', delayMs: 300 });
    expect((await r.link.exchange(request('sale', '000002', '000000000100'))).kind).toBe('timeout');
    const res = await r.link.exchange(request('sale', '000003', '000000000200'));
    expect(res.kind === 'response' && textField(res.message, 11)).toBe('000003');
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'stray-response', reason: 'late', stan: '000002', mti: '0210' }));
  });

  it('answers slowly but within the timeout: still a response', async () => {
    const r = await withScript({ action: 'approve', delayMs: 150 });
    expect((await r.link.exchange(request('sale', '000002', '000000000100'))).kind).toBe('response');
  });

  it('ends in reset when the host resets the connection, then reconnects', async () => {
    const r = await withScript({ action: 'reset' });
    expect((await r.link.exchange(request('sale', '000002', '000000000100'))).kind).toBe('reset');
    expect((await r.link.exchange(request('sale', '000003', '000000000100'))).kind).toBe('response');
  });

  it('takes the first of a duplicate reply and reports the second', async () => {
    const r = await withScript({ action: 'duplicate' });
    expect((await r.link.exchange(request('sale', '000002', '000000000100'))).kind).toBe('response');
    await sleep(50);
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'stray-response', reason: 'duplicate', stan: '000002' }));
  });

  it('reports mac-failed for a reply whose MAC does not verify', async () => {
    const r = await withScript({ action: 'bad-mac' });
    const res = await r.link.exchange(request('sale', '000002', '000000000100'));
    expect(res.kind).toBe('mac-failed');
    expect(debits(r)).toBe(1);
  });

  it('reports connect-failed when nothing listens, and sends nothing', async () => {
    const probe = net.createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((ok) => probe.close(ok));
    const link = new AcquirerLink({
      connector: tcpConnector({ host: '127.0.0.1', port }),
      clock: systemClock,
      connectTimeoutMs: 500,
      responseTimeoutMs: 500,
    });
    const res = await link.exchange(message('0800', { 11: '000001', 41: '12345678' }));
    expect(res.kind).toBe('connect-failed');
  });
});

describe('acquirer link against a raw misbehaving peer', () => {
  /** A peer that answers every request with the frames `reply` makes from it. */
  async function peer(reply: (req: ReturnType<typeof decodeCup>) => Buffer[]): Promise<{ port: number; close(): Promise<void> }> {
    const server = net.createServer((s) => {
      const reader = new FrameReader();
      s.on('error', () => undefined);
      s.on('data', (c) => {
        for (const body of reader.push(c)) for (const out of reply(decodeCup(body))) s.write(out);
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return {
      port: (server.address() as net.AddressInfo).port,
      close: () => new Promise<void>((ok) => server.close(() => ok())),
    };
  }

  const answer = (req: ReturnType<typeof decodeCup>, stan: string, tid = '12345678') =>
    frame(encodeCup(replyEnvelope(req.envelope), message('0810', { 11: stan, 39: '00', 41: tid })));

  it('ignores replies with another STAN or terminal ID and takes the matching one', async () => {
    const p = await peer((req) => [answer(req, '999999'), answer(req, '000001', '87654321'), answer(req, '000001')]);
    const events: LinkEvent[] = [];
    const link = new AcquirerLink({ connector: tcpConnector({ host: '127.0.0.1', port: p.port }), clock: systemClock, connectTimeoutMs: 500, responseTimeoutMs: 1000, onEvent: (e) => events.push(e) });
    const res = await link.exchange(message('0800', { 11: '000001', 41: '12345678' }));
    expect(res.kind === 'response' && textField(res.message, 11)).toBe('000001');
    const strays = events.filter((e) => e.type === 'stray-response');
    expect(strays).toEqual([
      expect.objectContaining({ reason: 'unmatched', stan: '999999' }),
      expect.objectContaining({ reason: 'unmatched', terminalId: '87654321' }),
    ]);
    link.close();
    await p.close();
  });

  it('an oversized frame from the acquirer is a typed frame error and a reset, not a crash', async () => {
    const p = await peer(() => [Buffer.from([0xff, 0xff, 1, 2, 3])]);
    const events: LinkEvent[] = [];
    const link = new AcquirerLink({ connector: tcpConnector({ host: '127.0.0.1', port: p.port }), clock: systemClock, connectTimeoutMs: 500, responseTimeoutMs: 1000, onEvent: (e) => events.push(e) });
    const res = await link.exchange(message('0800', { 11: '000001', 41: '12345678' }));
    expect(res.kind).toBe('reset');
    expect(events).toContainEqual(expect.objectContaining({ type: 'frame-error' }));
    link.close();
    await p.close();
  });

  it('a malformed reply is reported with field and offset and ignored', async () => {
    const p = await peer((req) => [frame(Buffer.concat([encodeCup(replyEnvelope(req.envelope), message('0810', { 11: '000001' })), Buffer.from([0])])), answer(req, '000001')]);
    const events: LinkEvent[] = [];
    const link = new AcquirerLink({ connector: tcpConnector({ host: '127.0.0.1', port: p.port }), clock: systemClock, connectTimeoutMs: 500, responseTimeoutMs: 1000, onEvent: (e) => events.push(e) });
    expect((await link.exchange(message('0800', { 11: '000001', 41: '12345678' }))).kind).toBe('response');
    expect(events).toContainEqual(expect.objectContaining({ type: 'malformed-response', field: 'message', reason: 'trailing-bytes' }));
    link.close();
    await p.close();
  });
});
