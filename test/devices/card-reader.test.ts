// The card reader driver against a scripted reader on an in-memory link and a manual clock: bad answers
// become typed errors, secrets stay secret, and resends keep the command id.
import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { CardReader } from '../../firmware-ts/devices/card-reader/card-reader.js';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { decodeFrame, encodeFrame } from '../../protocol/serial/frame.js';
import { decodeReaderCommand, encodeReaderMessage, type ReaderCommand, type ReaderResponse } from '../../protocol/reader/reader-messages.js';
import { encodeTlv } from '../../protocol/emv/tlv.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { FakeByteLink } from '../helpers/fake-byte-link.js';

const flush = () => new Promise((r) => setTimeout(r, 0));
const PAN = '6200000000000005';

/** A scripted reader: ACKs every command and answers with whatever `answer` returns. */
function scripted(answer: (cmd: ReaderCommand) => ReaderResponse | Buffer | null) {
  const clock = new ManualClock();
  const link = new FakeByteLink('/dev/ttyFAKE');
  const log = new MemoryLog(500);
  const commands: ReaderCommand[] = [];
  let seq = 0x40;
  link.onWrite = (bytes) => {
    const frame = decodeFrame(bytes.subarray(0, -1));
    if (frame.type === 'ACK' || frame.type === 'NAK') return;
    queueMicrotask(() => {
      link.receive(encodeFrame({ seq: frame.seq, type: 'ACK', payload: Buffer.alloc(0) }));
      const cmd = decodeReaderCommand(frame.type, frame.payload);
      commands.push(cmd);
      const a = answer(cmd);
      if (a === null) return;
      const out = Buffer.isBuffer(a) ? { type: 'CARD_DATA', payload: a } : encodeReaderMessage(a);
      link.receive(encodeFrame({ seq: seq++, ...out }));
    });
  };
  const reader = new CardReader({ link, clock, log, ackTimeoutMs: 50, responseTimeoutMs: 1000, commandTries: 3 });
  return { clock, link, log, reader, commands };
}

const chipData = (emv: Buffer, pan = PAN): ReaderResponse => ({ type: 'CARD_DATA', id: 0, entryMode: 'chip', pan, expiry: '3012', emv: emv.toString('hex').toUpperCase() });
const withId = (r: ReaderResponse, cmd: ReaderCommand): ReaderResponse => ({ ...r, id: cmd.id });

describe('CardReader (scripted reader, manual clock)', () => {
  it('EMV data that is not valid BER-TLV is READER_BAD_DATA with the TLV error as cause', async () => {
    const s = scripted((c) => withId(chipData(Buffer.from('9F2608AABB', 'hex')), c));
    const err = await s.reader.readCard({ amount: 1, currency: '156' }).catch((e) => e);
    expect(err).toMatchObject({ name: 'ReaderError', code: 'READER_BAD_DATA', command: 'READ' });
    expect(err.cause).toMatchObject({ code: 'TLV_VALUE_OVERRUNS', offset: 3 });
    expect(s.reader.health().lastError).toContain('TLV_VALUE_OVERRUNS');
  });

  it('a 5A tag that disagrees with the reported PAN is refused', async () => {
    const emv = encodeTlv([{ tag: '5A', value: Buffer.from('4242424242424242', 'hex') }, { tag: '9F27', value: Buffer.of(0x80) }]);
    const s = scripted((c) => withId(chipData(emv), c));
    await expect(s.reader.readCard({ amount: 1, currency: '156' })).rejects.toMatchObject({ code: 'READER_BAD_DATA', message: expect.stringContaining('5A') });
  });

  it('a chip read without EMV data, or a PAN failing Luhn, is refused', async () => {
    const noEmv = scripted((c) => ({ type: 'CARD_DATA', id: c.id, entryMode: 'chip', pan: PAN, expiry: '3012' }));
    await expect(noEmv.reader.readCard({ amount: 1, currency: '156' })).rejects.toMatchObject({ code: 'READER_BAD_DATA' });
    const luhn = scripted((c) => ({ type: 'CARD_DATA', id: c.id, entryMode: 'magstripe', pan: '6200000000000006', expiry: '3012' }));
    await expect(luhn.reader.readCard({ amount: 1, currency: '156' })).rejects.toMatchObject({ code: 'READER_BAD_DATA', message: expect.stringContaining('Luhn') });
  });

  it("an ERROR answer is READER_REPORTED_ERROR carrying the reader's code", async () => {
    const s = scripted((c) => ({ type: 'ERROR', id: c.id, code: 'NO_CARD', message: 'no card presented' }));
    await expect(s.reader.readCard({ amount: 1, currency: '156' })).rejects.toMatchObject({ code: 'READER_REPORTED_ERROR', readerCode: 'NO_CARD' });
  });

  it('an answer of the wrong type, or an AC2 without 9F27, is READER_BAD_DATA', async () => {
    const wrong = scripted((c) => ({ type: 'PIN_BYPASS', id: c.id }));
    await expect(wrong.reader.status()).rejects.toMatchObject({ code: 'READER_BAD_DATA', message: expect.stringContaining('unexpected answer PIN_BYPASS') });
    const noCid = scripted((c) => ({ type: 'AC2', id: c.id, emv: '9F360100' }));
    await expect(noCid.reader.completeChip({ arc: '00' })).rejects.toMatchObject({ code: 'READER_BAD_DATA', message: expect.stringContaining('9F27') });
  });

  it('a host decline with an AAC needs no reversal; an approval with an ARQC does (06)', async () => {
    const cid = (b: number) => encodeTlv([{ tag: '9F27', value: Buffer.of(b) }]).toString('hex').toUpperCase();
    const aac = scripted((c) => ({ type: 'AC2', id: c.id, emv: cid(0x00) }));
    expect(await aac.reader.completeChip({ arc: '51' })).toMatchObject({ decision: 'AAC' });
    expect((await aac.reader.completeChip({ arc: '51' })).reversalReason).toBeUndefined();
    const arqc = scripted((c) => ({ type: 'AC2', id: c.id, emv: cid(0x80) }));
    expect(await arqc.reader.completeChip({ arc: '00' })).toMatchObject({ decision: 'ARQC', reversalReason: '06' });
  });

  it('a bad message is counted and logged without its payload; a late answer is counted as stale', async () => {
    let n = 0;
    const s = scripted((c) => {
      n++;
      // First answer: the right shape but an unknown field carrying a full PAN; then a good answer.
      if (n === 1) return Buffer.from(JSON.stringify({ id: c.id, entryMode: 'magstripe', pan: PAN, expiry: '3012', cvv: PAN }));
      return { type: 'STATUS_OK', id: c.id, model: 'm', firmware: 'f', cardPresent: true };
    });
    const pending = s.reader.status();
    await flush();
    expect(s.reader.health().badMessages).toBe(1);
    s.clock.advance(1000); // no valid answer in time: the same command (same id) goes again
    await expect(pending).resolves.toMatchObject({ type: 'STATUS_OK' });
    const id = s.commands[0]!.id;
    expect(s.commands.map((c) => c.id)).toEqual([id, id]);
    expect(s.log.lines.join('\n')).not.toContain(PAN);
    expect(s.log.lines.some((l) => l.includes('ignored a bad CARD_DATA message'))).toBe(true);

    s.link.receive(encodeFrame({ seq: 0x7f, ...encodeReaderMessage({ type: 'STATUS_OK', id: s.commands[0]!.id, model: 'm', firmware: 'f', cardPresent: true }) }));
    expect(s.reader.health().staleResponses).toBe(1);
  });

  it('resends a command with the same id when the line comes back while waiting', async () => {
    let answer = false;
    const s = scripted((c) => (answer ? { type: 'STATUS_OK', id: c.id, model: 'm', firmware: 'f', cardPresent: false } : null));
    const pending = s.reader.status();
    await flush();
    answer = true;
    s.link.setState('disconnected');
    s.link.setState('open');
    await expect(pending).resolves.toMatchObject({ cardPresent: false });
    const id = s.commands[0]!.id;
    expect(s.commands.map((c) => [c.type, c.id])).toEqual([['STATUS', id], ['STATUS', id]]);
    expect(s.log.lines.some((l) => l.includes(`line is back; sending STATUS #${id} again`))).toBe(true);
  });

  it('close() fails a command in progress with READER_CLOSED', async () => {
    const s = scripted(() => null);
    const pending = s.reader.status();
    await flush();
    s.reader.close();
    await expect(pending).rejects.toMatchObject({ code: 'READER_CLOSED' });
    await expect(s.reader.status()).rejects.toMatchObject({ code: 'READER_CLOSED' });
  });

  it('waitForCard resolves cancelled when aborted before it starts', async () => {
    const s = scripted((c) => (c.type === 'CANCEL' ? { type: 'CANCELLED', id: c.id, target: c.target } : null));
    expect(await s.reader.waitForCard({ timeoutMs: 5000, signal: AbortSignal.abort() })).toEqual({ kind: 'cancelled' });
  });
});

describe('Secret', () => {
  it('never shows its value unless revealed, and a wiped buffer is zeroed', () => {
    const pan = new Secret(PAN);
    expect(`${pan}`).toBe('[secret]');
    expect(JSON.stringify({ pan })).toBe('{"pan":"[secret]"}');
    expect(inspect({ pan })).not.toContain(PAN);
    expect(Object.keys(pan)).toEqual([]);
    const block = Buffer.from('0123456789ABCDEF', 'hex');
    const pin = new Secret(block);
    pin.wipe();
    expect(block.equals(Buffer.alloc(8))).toBe(true);
    expect(() => pin.reveal()).toThrow(/wiped/);
  });
});

describe('command ids across restarts', () => {
  it('a driver started later does not reuse the ids of the one before (the reader caches answers by id)', async () => {
    const first = scripted((c) => ({ type: 'STATUS_OK', id: c.id, model: 'm', firmware: 'f', cardPresent: false }));
    for (let i = 0; i < 100; i++) await first.reader.status();
    const used = new Set(first.commands.map((c) => c.id));
    expect(used.size).toBe(100);
    // The terminal reboots 5 ms later: a new driver, the same reader.
    const clock = new ManualClock(first.clock.now() + 5);
    const link = new FakeByteLink('/dev/ttyFAKE');
    const sent: number[] = [];
    link.onWrite = (bytes) => {
      const frame = decodeFrame(bytes.subarray(0, -1));
      if (frame.type !== 'ACK' && frame.type !== 'NAK') sent.push(decodeReaderCommand(frame.type, frame.payload).id);
    };
    const again = new CardReader({ link, clock, log: new MemoryLog() });
    void again.status().catch(() => undefined);
    await flush();
    expect(sent).toHaveLength(1);
    expect(used.has(sent[0]!)).toBe(false);
    again.close();
  });
});
