// A PIN pad that answers after the engine gave up: the sale was already refused (pin-entry-failed,
// nothing sent), and the PIN block that arrives late reaches no request, so it is wiped on arrival rather
// than left in memory until the collector runs. An answer in time is handed over intact.
import { describe, expect, it } from 'vitest';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import type { OnlinePinResult } from '../../firmware-ts/devices/card-reader/card-reader.js';
import { DEVICE_TIMEOUTS, type CardForTxn, type CardSource } from '../../firmware-ts/txn/engine-devices.js';
import { pinStep } from '../../firmware-ts/txn/online-pin.js';
import { ManualClock } from '../helpers/manual-clock.js';

const card = { entryMode: 'chip', cvm: 'online-pin', maskedPan: '620000******0005' } as unknown as CardForTxn;
const flush = () => new Promise((r) => setImmediate(r));

/** A pad whose answer the test releases by hand. */
function pad() {
  let answer!: (r: OnlinePinResult) => void;
  const reader = {
    enterPin: () => new Promise<OnlinePinResult>((resolve) => (answer = resolve)),
  } as unknown as CardSource;
  return { reader, answer: (r: OnlinePinResult) => answer(r) };
}

describe('the PIN step against a late PIN pad', () => {
  it('refuses at the deadline, and wipes the block that arrives afterwards', async () => {
    const clock = new ManualClock();
    const p = pad();
    const step = pinStep({ reader: p.reader, clock, pinKey: Buffer.alloc(20, 1), profile: { entryMs: 1_000 } }, 'sale', 1_000, card);
    let settled = false;
    void step.then(() => (settled = true));
    // The pad has its entry time plus the grace to report its own timeout.
    clock.advance(1_000 + DEVICE_TIMEOUTS.pinEntryGraceMs - 1);
    await flush();
    expect(settled).toBe(false);
    clock.advance(1);
    expect(await step).toEqual({ kind: 'refused', reason: 'pin-entry-failed', detail: `the PIN pad failed: no answer within ${1_000 + DEVICE_TIMEOUTS.pinEntryGraceMs} ms` });
    const bytes = Buffer.from('0123456789abcdef', 'hex');
    p.answer({ kind: 'pin', pinBlock: new Secret(bytes) });
    await flush();
    expect(bytes.equals(Buffer.alloc(8))).toBe(true);
  });

  it('a late answer without a block is dropped quietly', async () => {
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      for (const late of ['bypassed', 'cancelled', 'timeout'] as const) {
        const clock = new ManualClock();
        const p = pad();
        const step = pinStep({ reader: p.reader, clock, pinKey: Buffer.alloc(20, 1), profile: { entryMs: 1_000 } }, 'sale', 1_000, card);
        clock.advance(1_000 + DEVICE_TIMEOUTS.pinEntryGraceMs);
        expect(await step).toMatchObject({ kind: 'refused', reason: 'pin-entry-failed' });
        p.answer({ kind: late });
      }
      await flush();
      await flush();
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    expect(rejections).toEqual([]);
  });

  it('hands over a block that comes in time, untouched', async () => {
    const clock = new ManualClock();
    const p = pad();
    const step = pinStep({ reader: p.reader, clock, pinKey: Buffer.alloc(20, 1), profile: { entryMs: 1_000 } }, 'sale', 1_000, card);
    const bytes = Buffer.from('0123456789abcdef', 'hex');
    p.answer({ kind: 'pin', pinBlock: new Secret(bytes) });
    const r = await step;
    expect(r.kind).toBe('pin');
    expect(r.kind === 'pin' && r.block.reveal().toString('hex')).toBe('0123456789abcdef');
  });
});
