// The link layer over in-memory byte links and a manual clock: ACK, retransmission on timeout and on NAK,
// bounded tries, duplicate suppression, and a counter plus NAK for every kind of bad input.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameLink, MAX_CONTROL_WRITES, type FrameLinkEvent, type FrameMessage } from '../../protocol/serial/frame-link.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { MAX_LINE_BYTES, decodeFrame, encodeFrame } from '../../protocol/serial/frame.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { FakeByteLink, fakeLinkPair } from '../helpers/fake-byte-link.js';

const flush = () => new Promise((r) => setTimeout(r, 0));

function endpoint(link: FakeByteLink, clock: ManualClock) {
  const fl = new FrameLink(link, { clock, ackTimeoutMs: 100, maxTries: 3, name: link.path });
  const got: FrameMessage[] = [];
  const events: FrameLinkEvent[] = [];
  fl.onMessage((m) => got.push(m));
  fl.onEvent((e) => events.push(e));
  return { fl, got, events };
}

/** The frames a single fake end wrote, decoded. */
function writtenFrames(link: FakeByteLink) {
  return link.takeWritten().split('\n').filter(Boolean).map((l) => decodeFrame(Buffer.from(l, 'latin1')));
}

describe('FrameLink', () => {
  it('delivers a message and resolves the send on ACK', async () => {
    const clock = new ManualClock();
    const { a, b } = fakeLinkPair();
    const A = endpoint(a, clock);
    const B = endpoint(b, clock);
    await A.fl.send('STATUS', Buffer.from([0, 10, 255]));
    expect(B.got).toEqual([{ seq: 1, type: 'STATUS', payload: Buffer.from([0, 10, 255]) }]);
    expect(A.fl.counters()).toMatchObject({ framesSent: 1, retransmits: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('sends queued frames one at a time, in order, with increasing seq', async () => {
    const clock = new ManualClock();
    const { a, b } = fakeLinkPair();
    const A = endpoint(a, clock);
    const B = endpoint(b, clock);
    await Promise.all(['ONE', 'TWO', 'THREE'].map((t) => A.fl.send(t)));
    expect(B.got.map((m) => [m.seq, m.type])).toEqual([[1, 'ONE'], [2, 'TWO'], [3, 'THREE']]);
  });

  it('retransmits after the ACK timeout and the receiver suppresses the duplicate', async () => {
    const clock = new ManualClock();
    const { a, b, tap } = fakeLinkPair();
    const A = endpoint(a, clock);
    const B = endpoint(b, clock);
    let dropAcks = 1;
    tap.bToA = (bytes) => (bytes.includes('ACK') && dropAcks-- > 0 ? null : bytes);
    const sent = A.fl.send('READ');
    await flush();
    expect(B.got).toHaveLength(1);
    clock.advance(100);
    await sent;
    expect(B.got).toHaveLength(1);
    expect(B.fl.counters().duplicates).toBe(1);
    expect(A.fl.counters().retransmits).toBe(1);
    expect(A.events).toContainEqual({ kind: 'retransmit', seq: 1, type: 'READ', attempt: 2, why: 'ack timeout' });
  });

  it('gives up after maxTries with a typed error and goes on with the next frame', async () => {
    const clock = new ManualClock();
    const link = new FakeByteLink();
    const A = endpoint(link, clock);
    const first = A.fl.send('LOST');
    const second = A.fl.send('NEXT');
    clock.advance(100);
    clock.advance(100);
    clock.advance(100);
    await expect(first).rejects.toMatchObject({ code: 'FRAME_NOT_ACKED', type: 'LOST', tries: 3 });
    expect(writtenFrames(link).map((f) => f.type)).toEqual(['LOST', 'LOST', 'LOST', 'NEXT']);
    link.receive(encodeFrame({ seq: 2, type: 'ACK', payload: Buffer.alloc(0) }));
    await second;
    expect(A.fl.counters()).toMatchObject({ sendFailures: 1, retransmits: 2 });
  });

  it('keeps retrying while the line is down (writes fail) and succeeds once it is back', async () => {
    const clock = new ManualClock();
    const link = new FakeByteLink();
    const A = endpoint(link, clock);
    link.setState('disconnected');
    const sent = A.fl.send('GEN_AC2');
    await flush();
    link.setState('open');
    clock.advance(100);
    const [frame] = writtenFrames(link);
    expect(frame?.type).toBe('GEN_AC2');
    link.receive(encodeFrame({ seq: frame!.seq, type: 'ACK', payload: Buffer.alloc(0) }));
    await sent;
  });

  it('NAKs a bad CRC and the sender retransmits at once', async () => {
    const clock = new ManualClock();
    const { a, b, tap } = fakeLinkPair();
    const A = endpoint(a, clock);
    const B = endpoint(b, clock);
    let corrupt = 1;
    tap.aToB = (bytes) => {
      if (bytes.includes('READ') && corrupt-- > 0) {
        const c = Buffer.from(bytes);
        c[c.length - 2] = c[c.length - 2] === 0x30 ? 0x31 : 0x30; // last CRC digit
        return c;
      }
      return bytes;
    };
    await A.fl.send('READ');
    expect(B.got.map((m) => m.type)).toEqual(['READ']);
    expect(B.fl.counters()).toMatchObject({ badCrc: 1, naksSent: 1 });
    expect(A.fl.counters()).toMatchObject({ naksReceived: 1, retransmits: 1 });
    expect(A.events).toContainEqual({ kind: 'retransmit', seq: 1, type: 'READ', attempt: 2, why: 'nak' });
  });

  it('drops an oversize line, counts and reports it, NAKs, and decodes the next frame', async () => {
    const clock = new ManualClock();
    const link = new FakeByteLink();
    const B = endpoint(link, clock);
    link.receive(Buffer.alloc(MAX_LINE_BYTES * 3, 0x41));
    link.receive('\n');
    link.receive(encodeFrame({ seq: 7, type: 'CARD', payload: Buffer.from('x') }));
    expect(B.got.map((m) => m.type)).toEqual(['CARD']);
    expect(B.fl.counters()).toMatchObject({ oversizeLines: 1, naksSent: 1 });
    expect(B.events[0]).toEqual({ kind: 'oversize', bytes: MAX_LINE_BYTES * 3 + 1 });
    expect(writtenFrames(link).map((f) => f.type)).toEqual(['NAK', 'ACK']);
  });

  it('counts garbage as malformed and forgets a half line when the line reopens', () => {
    const clock = new ManualClock();
    const link = new FakeByteLink();
    const B = endpoint(link, clock);
    link.receive('\x00\xffgarbage\n');
    link.receive('#01 CARD eA'); // partial line, then the cable is pulled
    link.setState('disconnected');
    link.setState('open');
    link.receive(encodeFrame({ seq: 1, type: 'CARD', payload: Buffer.from('x') }));
    expect(B.got.map((m) => m.type)).toEqual(['CARD']);
    expect(B.fl.counters()).toMatchObject({ malformedFrames: 1, badCrc: 0 });
    expect(B.events[0]).toMatchObject({ kind: 'bad-frame', error: { code: 'FRAME_NO_START', offset: 0 } });
  });

  it('never throws and stays bounded, whatever bytes arrive (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 10 }), (chunks) => {
        const link = new FakeByteLink();
        const B = endpoint(link, new ManualClock());
        for (const c of chunks) {
          link.receive(Buffer.from(c));
          expect(B.fl.pendingLineBytes).toBeLessThan(MAX_LINE_BYTES);
        }
        const c = B.fl.counters();
        const bad = c.badCrc + c.malformedFrames + c.oversizeLines;
        // Every bad line is answered or counted as skipped; with the clock standing still, one NAK at most.
        expect(c.naksSent + c.naksSkipped).toBe(bad);
        expect(c.naksSent).toBe(Math.min(bad, 1));
        expect(link.takeWritten().split('\n').filter((l) => l.includes(' NAK ')).length).toBe(c.naksSent);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses reserved and undecodable frame types at send time', async () => {
    const A = endpoint(new FakeByteLink(), new ManualClock());
    await expect(A.fl.send('ACK')).rejects.toThrow(RangeError);
    await expect(A.fl.send('not valid')).rejects.toThrow(RangeError);
  });

  it('close() fails queued and in-flight sends with a typed error', async () => {
    const A = endpoint(new FakeByteLink(), new ManualClock());
    const s1 = A.fl.send('ONE');
    const s2 = A.fl.send('TWO');
    A.fl.close();
    await expect(s1).rejects.toMatchObject({ code: 'FRAME_LINK_CLOSED' });
    await expect(s2).rejects.toMatchObject({ code: 'FRAME_LINK_CLOSED' });
  });

  it('answers a burst of bad lines with one NAK per interval and one log line with a count', async () => {
    const clock = new ManualClock();
    const link = new FakeByteLink();
    const log = new MemoryLog();
    const fl = new FrameLink(link, { clock, log, name: 'reader', nakIntervalMs: 100 });
    for (let i = 0; i < 1000; i++) link.receive(`garbage ${i}\n`);
    await flush();
    const naks = () => link.written.map((b) => b.toString('latin1')).filter((l) => l.includes(' NAK ')).length;
    expect(naks()).toBe(1);
    expect(fl.counters()).toMatchObject({ malformedFrames: 1000, naksSent: 1, naksSkipped: 999 });
    expect(log.lines.filter((l) => l.includes('bad line'))).toHaveLength(1);
    clock.advance(100);
    link.receive('more garbage\n');
    await flush();
    expect(naks()).toBe(2);
    // The window's end says how many were held back.
    clock.advance(10_000);
    expect(log.lines.at(-1)).toMatch(/^WARN 1000 more "bad line" warning\(s\) in the last 10 s; the last: reader: dropped a bad line/);
    fl.close();
  });

  it('a peer that never reads gets at most MAX_CONTROL_WRITES ACK/NAK writes waiting, and messages still arrive', async () => {
    const clock = new ManualClock();
    const link = new FakeByteLink();
    let writes = 0;
    link.write = () => {
      writes++;
      return new Promise<void>(() => undefined);
    };
    const B = endpoint(link, clock);
    for (let seq = 1; seq <= 100; seq++) link.receive(encodeFrame({ seq, type: 'CARD', payload: Buffer.from([seq]) }));
    for (let i = 0; i < 100; i++) link.receive('garbage\n');
    expect(B.got).toHaveLength(100);
    expect(writes).toBe(MAX_CONTROL_WRITES);
    expect(B.fl.counters()).toMatchObject({ acksSkipped: 100 - MAX_CONTROL_WRITES, naksSent: 0, naksSkipped: 100 });
  });
});
