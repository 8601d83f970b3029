// The reader simulator on an in-memory link with a manual clock: a wait answered when a card is presented
// or when its time is up, and a repeated command id answered from the cache without acting twice.
import { describe, expect, it } from 'vitest';
import { FrameLink, type FrameMessage } from '../../protocol/serial/frame-link.js';
import { decodeReaderResponse, encodeReaderMessage, type ReaderCommand, type ReaderResponse } from '../../protocol/reader/reader-messages.js';
import { ReaderSimulator } from '../../host-bridge/sim/reader-simulator.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { fakeLinkPair } from '../helpers/fake-byte-link.js';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

function rig(present: string | null) {
  const clock = new ManualClock();
  const { a, b } = fakeLinkPair();
  const sim = new ReaderSimulator({ path: 'mem', clock, present, openLink: () => b });
  sim.start();
  const terminal = new FrameLink(a, { clock });
  const answers: ReaderResponse[] = [];
  terminal.onMessage((m: FrameMessage) => answers.push(decodeReaderResponse(m.type, m.payload)));
  const send = async (cmd: ReaderCommand) => {
    const { type, payload } = encodeReaderMessage(cmd);
    await terminal.send(type, payload);
    await flush();
  };
  return { clock, sim, send, answers };
}

describe('ReaderSimulator', () => {
  it('answers WAIT_CARD when a card is presented, or NO_CARD when the wait runs out', async () => {
    const r = rig(null);
    await r.send({ type: 'WAIT_CARD', id: 1, timeoutMs: 1000, modes: ['chip'] });
    expect(r.answers).toEqual([]);
    r.sim.present('unionpay-chip');
    await flush();
    expect(r.answers).toEqual([{ type: 'CARD', id: 1, entryMode: 'chip' }]);
    r.sim.remove();
    await r.send({ type: 'WAIT_CARD', id: 2, timeoutMs: 1000, modes: ['chip'] });
    r.clock.advance(1000);
    await flush();
    expect(r.answers.at(-1)).toEqual({ type: 'NO_CARD', id: 2 });
  });

  it('a repeated READ id gets the same answer without a second card action; GEN_AC2 needs a READ', async () => {
    const r = rig('unionpay-chip');
    await r.send({ type: 'GEN_AC2', id: 1, arc: '00' });
    expect(r.answers[0]).toMatchObject({ type: 'ERROR', code: 'NO_TRANSACTION' });
    await r.send({ type: 'READ', id: 2, amount: 1, currency: '156' });
    await r.send({ type: 'READ', id: 2, amount: 1, currency: '156' });
    expect(r.answers[1]).toEqual(r.answers[2]); // same cryptogram: the card was not asked twice
    await r.send({ type: 'GEN_AC2', id: 3, arc: '00' });
    await r.send({ type: 'GEN_AC2', id: 3, arc: '00' });
    expect(r.answers[3]).toMatchObject({ type: 'AC2' });
    expect(r.answers[4]).toEqual(r.answers[3]);
    await r.send({ type: 'GEN_AC2', id: 4, arc: '00' });
    expect(r.answers[5]).toMatchObject({ type: 'ERROR', code: 'NO_TRANSACTION' });
  });

  it('a card that declines the second GENERATE AC answers AAC even to a host approval', async () => {
    const r = rig('unionpay-chip-declines');
    await r.send({ type: 'READ', id: 1, amount: 1, currency: '156' });
    await r.send({ type: 'GEN_AC2', id: 2, arc: '00' });
    const ac2 = r.answers[1];
    expect(ac2?.type === 'AC2' && ac2.emv.startsWith('9F270100')).toBe(true);
  });
});
