// What the PIN step hands the engine for each answer of the pad, and what it asks the pad: the refusals
// carry the reason and the words the cashier reads, and a pad that is not to be asked is never asked.
import { describe, expect, it } from 'vitest';
import type { OnlinePinResult } from '../../firmware-ts/devices/card-reader/card-reader.js';
import { DEVICE_TIMEOUTS, type CardForTxn, type CardSource } from '../../firmware-ts/txn/engine-devices.js';
import { pinStep, type OnlinePinProfile } from '../../firmware-ts/txn/online-pin.js';
import { ManualClock } from '../helpers/manual-clock.js';

const card = (cvm: 'online-pin' | 'no-online-pin') => ({ entryMode: 'chip', cvm, maskedPan: '620000******0005' }) as unknown as CardForTxn;
const PIK = Buffer.alloc(20, 7);

/** A pad that answers `answer` at once and records what it was asked. */
function pad(answer: () => Promise<OnlinePinResult>) {
  const asked: unknown[] = [];
  const reader = {
    enterPin: (opts: unknown) => {
      asked.push(opts);
      return answer();
    },
  } as unknown as CardSource;
  return { reader, asked };
}

const step = (reader: CardSource, profile: OnlinePinProfile | undefined, o: { pinKey?: Buffer; card?: CardForTxn } = { pinKey: PIK }) =>
  pinStep({ reader, clock: new ManualClock(), pinKey: o.pinKey, profile }, 'sale', 12_345, o.card ?? card('online-pin'));

describe('the PIN step', () => {
  it('asks the pad for the amount in CNY under the session PIK, with the profile entry time', async () => {
    const p = pad(async () => ({ kind: 'bypassed' }));
    expect(await step(p.reader, { entryMs: 20_000 })).toEqual({ kind: 'bypassed' });
    expect(p.asked).toEqual([{ amount: 12_345, currency: '156', pinKey: PIK, timeoutMs: 20_000 }]);
  });

  it('without a profile the pad gets the default entry time', async () => {
    const p = pad(async () => ({ kind: 'bypassed' }));
    expect(await step(p.reader, undefined)).toEqual({ kind: 'bypassed' });
    expect(p.asked).toEqual([{ amount: 12_345, currency: '156', pinKey: PIK, timeoutMs: DEVICE_TIMEOUTS.pinEntryMs }]);
  });

  it('a PIN not wanted: the pad is not asked', async () => {
    const p = pad(async () => ({ kind: 'bypassed' }));
    expect(await step(p.reader, undefined, { pinKey: PIK, card: card('no-online-pin') })).toEqual({ kind: 'not-asked' });
    expect(p.asked).toEqual([]);
  });

  it('no PIN key from sign-on: refused without asking the pad', async () => {
    const p = pad(async () => ({ kind: 'bypassed' }));
    expect(await step(p.reader, undefined, {})).toEqual({ kind: 'refused', reason: 'pin-entry-failed', detail: 'no PIN key from sign-on: nothing was sent' });
    expect(p.asked).toEqual([]);
  });

  it('the cardholder cancels: refused as cancelled, in the words the cashier reads', async () => {
    const p = pad(async () => ({ kind: 'cancelled' }));
    expect(await step(p.reader, undefined)).toEqual({ kind: 'refused', reason: 'pin-entry-cancelled', detail: 'the cardholder cancelled PIN entry (取消输入密码)' });
  });

  it("the pad's own timeout: refused as a timeout naming the entry time in seconds", async () => {
    const p = pad(async () => ({ kind: 'timeout' }));
    expect(await step(p.reader, { entryMs: 20_000 })).toEqual({ kind: 'refused', reason: 'pin-entry-timeout', detail: 'no PIN entered within 20 s (输入密码超时)' });
  });

  it('a pad that throws: refused as failed, with its error', async () => {
    const p = pad(async () => {
      throw new Error('PIN pad unresponsive');
    });
    expect(await step(p.reader, undefined)).toEqual({ kind: 'refused', reason: 'pin-entry-failed', detail: 'the PIN pad failed: PIN pad unresponsive' });
  });
});
