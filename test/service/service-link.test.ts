// The service port's frames and window: COBS round trips, a garbled byte or a lost frame is resent (only
// the frame that was lost), messages arrive once and in order, and a new bench session resets the terminal.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cobsDecode, cobsEncode, decodeFrame, encodeFrame, FrameSplitter, MAX_ENCODED, type ServiceFrame } from '../../protocol/service/service-frame.js';
import { ServiceLink } from '../../protocol/service/service-link.js';
import { fakeLinkPair } from '../helpers/fake-byte-link.js';
import { ManualClock } from '../helpers/manual-clock.js';

const flush = () => new Promise((r) => setImmediate(r));

describe('service frames', () => {
  it('COBS round-trips any bytes and leaves no 0x00 inside a frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        const enc = cobsEncode(Buffer.from(bytes));
        expect(enc.includes(0)).toBe(false);
        expect(cobsDecode(enc)).toEqual(Buffer.from(bytes));
        expect(enc.length).toBeLessThanOrEqual(bytes.length + Math.ceil(bytes.length / 254) + 1);
      }),
    );
  });

  it('a flipped bit fails the CRC; an over-long run is dropped and the next frame still decodes', () => {
    const f = encodeFrame({ type: 'data', session: 7, seq: 3, payload: Buffer.from('chunk') });
    const bad = Buffer.from(f);
    bad[5] = bad[5]! ^ 0x10 || 1;
    expect(decodeFrame(bad.subarray(0, bad.length - 1))).toBe('crc');
    const got: ServiceFrame[] = [];
    const drops: string[] = [];
    const s = new FrameSplitter((x) => got.push(x), (w) => drops.push(w));
    s.push(Buffer.alloc(MAX_ENCODED + 10, 0x41));
    s.push(Buffer.concat([Buffer.from([0]), f]));
    expect(drops).toEqual(['too-long']);
    expect(got).toEqual([{ type: 'data', session: 7, seq: 3, payload: Buffer.from('chunk') }]);
  });
});

function rig(opts: { window?: number } = {}) {
  const clock = new ManualClock();
  const { a, b, tap } = fakeLinkPair();
  const atTerminal: string[] = [];
  const sessions: number[] = [];
  const bench = new ServiceLink({ link: a, clock, role: 'initiator', session: 0xabc, window: opts.window ?? 8, rtoMs: 500, onMessage: () => undefined });
  const terminal = new ServiceLink({ link: b, clock, role: 'responder', window: 8, rtoMs: 500, onMessage: (p) => atTerminal.push(p.toString()), onSessionChange: (s) => sessions.push(s) });
  return { clock, a, b, tap, bench, terminal, atTerminal, sessions };
}

async function settle(r: ReturnType<typeof rig>, ms = 10_000) {
  for (let t = 0; t < ms; t += 50) {
    await flush();
    r.clock.advance(50);
  }
  await flush();
}

describe('service link window', () => {
  it('delivers every message once and in order through loss and corruption, resending only what was lost', async () => {
    const r = rig();
    let n = 0;
    r.tap.aToB = (bytes) => {
      n++;
      if (n === 3) return null; // a lost frame
      if (n === 6) {
        const g = Buffer.from(bytes);
        g[4] = g[4]! ^ 0xff || 1; // a garbled frame
        return g;
      }
      return bytes;
    };
    const msgs = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const sent = Promise.all(msgs.map((m) => r.bench.send(Buffer.from(m))));
    await settle(r);
    await sent;
    expect(r.atTerminal).toEqual(msgs);
    expect(r.terminal.stats.framesDropped).toBe(1);
    // Two frames lost; later frames were acknowledged selectively, so only those two went again.
    expect(r.bench.stats.retransmits).toBe(2);
  });

  it('a line that never answers fails the sends (the bench reports the flash interrupted)', async () => {
    const r = rig();
    r.tap.aToB = () => null;
    const p = r.bench.send(Buffer.from('x'));
    const seen = p.catch((e: Error & { code: string }) => e.code);
    await settle(r, 20_000);
    expect(await seen).toBe('SERVICE_LINK_TIMEOUT');
  });

  it('the terminal follows a new bench session and starts its sequence over', async () => {
    const r = rig();
    await Promise.all([r.bench.send(Buffer.from('one')), settle(r, 1000)]);
    r.bench.close();
    const again = new ServiceLink({ link: r.a, clock: r.clock, role: 'initiator', session: 0xdef, window: 8, rtoMs: 500, onMessage: () => undefined });
    await Promise.all([again.send(Buffer.from('two')), settle(r, 1000)]);
    expect(r.sessions).toEqual([0xabc, 0xdef]);
    expect(r.atTerminal).toEqual(['one', 'two']);
  });
});
