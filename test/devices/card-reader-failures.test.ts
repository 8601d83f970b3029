// What the card reader driver raises when the reader fails at each step before the money moves (the card
// wait, READ, PIN) and at GEN AC2 after the host answered, over an in-memory line and a manual clock, so
// the times are exact: link down fails within ackTimeout × maxTries, a reader that ACKs and never answers
// is "unresponsive" (READER_NO_RESPONSE) and never "no card", a reader that answers NO_CARD is "no card".
import { describe, expect, it } from 'vitest';
import { CardReader } from '../../firmware-ts/devices/card-reader/card-reader.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { decodeFrame, encodeFrame } from '../../protocol/serial/frame.js';
import { decodeReaderCommand, encodeReaderMessage, type ReaderCommand, type ReaderResponse } from '../../protocol/reader/reader-messages.js';
import { encodeTlv } from '../../protocol/emv/tlv.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { FakeByteLink } from '../helpers/fake-byte-link.js';

const ACK_MS = 50;
const TRIES = 4;
const RESPONSE_MS = 1000;
const PAN = '6200000000000005';

type Behaviour = 'answer' | 'ack-only' | 'silent';

/** A reader that answers per command type as told: normally, ACK and nothing more, or not even an ACK. */
function rig(behaviour: Partial<Record<ReaderCommand['type'], Behaviour>>) {
  const clock = new ManualClock();
  const link = new FakeByteLink('/dev/ttyR');
  const log = new MemoryLog(500);
  const commands: ReaderCommand[] = [];
  let seq = 0x40;
  link.onWrite = (bytes) => {
    const frame = decodeFrame(bytes.subarray(0, -1));
    if (frame.type === 'ACK' || frame.type === 'NAK') return;
    const cmd = decodeReaderCommand(frame.type, frame.payload);
    const how = behaviour[cmd.type] ?? 'answer';
    if (how === 'silent') return;
    queueMicrotask(() => {
      link.receive(encodeFrame({ seq: frame.seq, type: 'ACK', payload: Buffer.alloc(0) }));
      commands.push(cmd);
      if (how === 'ack-only') return;
      const r = answer(cmd);
      if (r) link.receive(encodeFrame({ seq: seq++, ...encodeReaderMessage(r) }));
    });
  };
  const reader = new CardReader({ link, clock, log, ackTimeoutMs: ACK_MS, maxTries: TRIES, responseTimeoutMs: RESPONSE_MS, commandTries: 3 });
  return { clock, link, log, reader, commands };
}

function answer(cmd: ReaderCommand): ReaderResponse | null {
  switch (cmd.type) {
    case 'STATUS':
      return { type: 'STATUS_OK', id: cmd.id, model: 'm', firmware: 'f', cardPresent: false };
    case 'WAIT_CARD':
      return { type: 'CARD', id: cmd.id, entryMode: 'chip' };
    case 'CANCEL':
      return { type: 'CANCELLED', id: cmd.id, target: cmd.target };
    case 'READ':
      return { type: 'CARD_DATA', id: cmd.id, entryMode: 'chip', pan: PAN, expiry: '3012', emv: encodeTlv([{ tag: '9F27', value: Buffer.of(0x80) }]).toString('hex').toUpperCase() };
    case 'PIN':
      return { type: 'PIN_BYPASS', id: cmd.id };
    case 'GEN_AC2':
      return { type: 'AC2', id: cmd.id, emv: encodeTlv([{ tag: '9F27', value: Buffer.of(0x40) }]).toString('hex').toUpperCase() };
  }
}

/** Runs `p` while moving the manual clock in 10 ms steps; returns how it ended and after how many ms. */
async function timed<T>(clock: ManualClock, p: Promise<T>, limitMs = 200_000): Promise<{ ok: true; value: T; ms: number } | { ok: false; error: any; ms: number }> {
  let out: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  p.then((value) => (out = { ok: true, value }), (error: unknown) => (out = { ok: false, error }));
  const t0 = clock.now();
  for (let i = 0; i < limitMs / 10 && !out; i++) {
    for (let k = 0; k < 5; k++) await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    if (!out) clock.advance(10);
  }
  if (!out) throw new Error(`still running after ${limitMs} ms`);
  return { ...out, ms: clock.now() - t0 } as never;
}

/** Lets `ms` of manual-clock time pass, with the promise continuations in between. */
async function pass(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    for (let k = 0; k < 5; k++) await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    clock.advance(10);
  }
}

const steps: Record<string, (r: CardReader) => Promise<unknown>> = {
  'the card wait': (r) => r.waitForCard({ timeoutMs: 60_000 }),
  READ: (r) => r.readCard({ amount: 100, currency: '156' }),
  PIN: (r) => r.requestOnlinePin({ amount: 100, currency: '156', pinKey: Buffer.alloc(20) }),
};

describe('card reader failures before the card is read: fail fast, say which', () => {
  for (const [step, run] of Object.entries(steps)) {
    it(`${step} with the line down: READER_UNAVAILABLE within ${ACK_MS * TRIES} ms of ACK timeouts, not the card timeout`, async () => {
      const s = rig({});
      s.link.setState('disconnected');
      const r = await timed(s.clock, run(s.reader));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error).toMatchObject({ name: 'ReaderError', code: 'READER_UNAVAILABLE', message: expect.stringContaining('could not be delivered') });
      expect(r.ms).toBeLessThanOrEqual(ACK_MS * TRIES + 20);
      expect(s.reader.health().lastError).toContain('could not be delivered');
    });

    it(`${step} to a reader that does not even ACK: READER_UNAVAILABLE as fast`, async () => {
      const s = rig({ STATUS: 'silent', WAIT_CARD: 'silent', READ: 'silent', PIN: 'silent' });
      const r = await timed(s.clock, run(s.reader));
      expect(r).toMatchObject({ ok: false, error: { code: 'READER_UNAVAILABLE' } });
      expect(r.ms).toBeLessThanOrEqual(ACK_MS * TRIES + 20);
    });
  }

  it('a reader that ACKs but never answers is unresponsive (READER_NO_RESPONSE) after one response timeout, not "no card"', async () => {
    const s = rig({ STATUS: 'ack-only', WAIT_CARD: 'ack-only' });
    const r = await timed(s.clock, s.reader.waitForCard({ timeoutMs: 60_000 }));
    expect(r).toMatchObject({ ok: false, error: { code: 'READER_NO_RESPONSE', message: expect.stringContaining('unresponsive') } });
    expect(r.ms).toBeLessThanOrEqual(RESPONSE_MS + 20);
    expect(s.commands.map((c) => c.type)).toEqual(['STATUS']);
  });

  it('a reader that answers STATUS but neither WAIT_CARD nor CANCEL is unresponsive at the end of the card wait', async () => {
    const s = rig({ WAIT_CARD: 'ack-only', CANCEL: 'ack-only' });
    const r = await timed(s.clock, s.reader.waitForCard({ timeoutMs: 5_000 }));
    expect(r).toMatchObject({ ok: false, error: { code: 'READER_NO_RESPONSE', command: 'WAIT_CARD', message: expect.stringContaining('answered neither') } });
    expect(r.ms).toBeGreaterThanOrEqual(5_000);
    expect(r.ms).toBeLessThanOrEqual(5_000 + RESPONSE_MS + 20);
  });

  it('no card presented (the wait runs out, the reader confirms CANCEL) is "timeout", not an error', async () => {
    const s = rig({ WAIT_CARD: 'ack-only' });
    const r = await timed(s.clock, s.reader.waitForCard({ timeoutMs: 5_000 }));
    expect(r).toMatchObject({ ok: true, value: { kind: 'timeout' } });
    expect(s.commands.map((c) => c.type)).toEqual(['STATUS', 'WAIT_CARD', 'CANCEL']);
  });

  it('the line dropping during the card wait fails it at once with READER_UNAVAILABLE', async () => {
    const s = rig({ WAIT_CARD: 'ack-only' });
    const waiting = s.reader.waitForCard({ timeoutMs: 60_000 });
    await pass(s.clock, 100);
    expect(s.commands.map((c) => c.type)).toEqual(['STATUS', 'WAIT_CARD']);
    const t0 = s.clock.now();
    s.link.setState('disconnected');
    const r = await timed(s.clock, waiting);
    expect(r).toMatchObject({ ok: false, error: { code: 'READER_UNAVAILABLE', message: expect.stringContaining('serial line went disconnected') } });
    expect(s.clock.now() - t0).toBeLessThanOrEqual(20);
  });

  it('READ and PIN that are ACKed and never answered are unresponsive after their tries, with the same command id each time', async () => {
    const s = rig({ READ: 'ack-only' });
    const r = await timed(s.clock, s.reader.readCard({ amount: 100, currency: '156' }));
    expect(r).toMatchObject({ ok: false, error: { code: 'READER_NO_RESPONSE', command: 'READ' } });
    expect(r.ms).toBeGreaterThanOrEqual(3 * RESPONSE_MS);
    const reads = s.commands.filter((c) => c.type === 'READ');
    expect(reads).toHaveLength(3);
    expect(new Set(reads.map((c) => c.id)).size).toBe(1);
  });
});

describe('PIN entry on a pad that stays silent', () => {
  it('PIN is sent once (a second PIN would start a second entry on the pad) and is unresponsive after the entry time and one response timeout', async () => {
    const s = rig({ PIN: 'ack-only' });
    const r = await timed(s.clock, s.reader.requestOnlinePin({ amount: 100, currency: '156', pinKey: Buffer.alloc(20), timeoutMs: 2_000 }));
    expect(r).toMatchObject({ ok: false, error: { code: 'READER_NO_RESPONSE', command: 'PIN' } });
    expect(r.ms).toBeGreaterThanOrEqual(2_000 + RESPONSE_MS);
    expect(r.ms).toBeLessThan(2_000 + 2 * RESPONSE_MS);
    expect(s.commands.filter((c) => c.type === 'PIN')).toHaveLength(1);
    expect(s.commands[0]).toMatchObject({ type: 'PIN', timeoutMs: 2_000, pinKey: '00'.repeat(20) });
  });
});

describe('card reader failures at GEN AC2, after the host answered', () => {
  it('silent at GEN AC2: READER_NO_RESPONSE after every try (the engine must reverse 06)', async () => {
    const s = rig({ GEN_AC2: 'ack-only' });
    const r = await timed(s.clock, s.reader.completeChip({ arc: '00' }));
    expect(r).toMatchObject({ ok: false, error: { code: 'READER_NO_RESPONSE', command: 'GEN_AC2' } });
    expect(r.ms).toBeGreaterThanOrEqual(3 * RESPONSE_MS);
    const sent = s.commands.filter((c) => c.type === 'GEN_AC2');
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((c) => c.id)).size).toBe(1);
  });

  it('line down at GEN AC2: keeps trying for all its tries (a reconnect could still complete the card), then READER_UNAVAILABLE', async () => {
    const s = rig({});
    s.link.setState('disconnected');
    const r = await timed(s.clock, s.reader.completeChip({ arc: '00' }));
    expect(r).toMatchObject({ ok: false, error: { code: 'READER_UNAVAILABLE', command: 'GEN_AC2' } });
    expect(r.ms).toBeGreaterThanOrEqual(3 * RESPONSE_MS);
  });

  it('line back during GEN AC2: the same command id goes again and the card completes', async () => {
    const s = rig({});
    s.link.setState('disconnected');
    const completing = s.reader.completeChip({ arc: '00' });
    await pass(s.clock, 500);
    s.link.setState('open');
    const r = await timed(s.clock, completing);
    expect(r).toMatchObject({ ok: true, value: { decision: 'TC' } });
    const sent = s.commands.filter((c) => c.type === 'GEN_AC2');
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(new Set(sent.map((c) => c.id)).size).toBe(1);
  });
});
