// Online PIN through the engine: the PIN pad gets this session's PIN key from the sign-on, the block it
// answers goes out in field 52 of that one request (the issuer checks it) and is wiped once the
// authorization ends; a PIN entry the cardholder cancels refuses the sale before anything is journaled or sent.
import { describe, expect, it } from 'vitest';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import type { OnlinePinResult } from '../../firmware-ts/devices/card-reader/card-reader.js';
import { maskPan } from '../../firmware-ts/pci/card-data.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { encryptPinBlock, unwrapPinKey } from '../../protocol/iso8583/index.js';
import { TMK } from '../acquirer/harness.js';
import { EngineRig } from './engine-rig.js';

/** A test card of the simulated issuer that asks for online PIN: its PIN is 123456. */
const PIN_PAN = '6200000000000005';
const PIN = '123456';

/** A reader whose card asks for online PIN, and a pad that answers `answer` (the PIN typed, or how entry ended). */
function pinReader(rig: EngineRig, answer: string | Exclude<OnlinePinResult['kind'], 'pin'>) {
  const blocks: Buffer[] = [];
  rig.reader.readCard = async () => {
    rig.reader.reads++;
    return { kind: 'card', card: { entryMode: 'magstripe', posEntryMode: '90', cvm: 'online-pin', maskedPan: maskPan(PIN_PAN), pan: new Secret(PIN_PAN), expiry: new Secret('3012'), emvData: Buffer.alloc(0) } };
  };
  Object.assign(rig.reader, {
    async enterPin(opts: { pinKey: Buffer }): Promise<OnlinePinResult> {
      if (!/^\d+$/.test(answer)) return { kind: answer } as OnlinePinResult;
      const block = encryptPinBlock(unwrapPinKey(TMK, opts.pinKey), answer, PIN_PAN);
      blocks.push(block);
      return { kind: 'pin', pinBlock: new Secret(block) };
    },
  });
  return blocks;
}

async function booted() {
  const rig = new EngineRig();
  const engine = await rig.start();
  expect((await rig.run(engine.boot())).signedOn).toBe(true);
  return { rig, engine };
}

describe('online PIN through the engine', () => {
  it('the right PIN under the sign-on key is approved by the issuer, and its block is wiped afterwards', async () => {
    const { rig, engine } = await booted();
    const blocks = pinReader(rig, PIN);
    expect(await rig.run(engine.sale(1_800))).toMatchObject({ kind: 'approved', txn: 'sale', amount: 1_800 });
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.equals(Buffer.alloc(8))).toBe(true);
    // Field 22 says a PIN went with the request (third digit 1).
    expect((rig.records(TerminalRecord.authIntent.name).at(-1)!.payload as { entryMode: string }).entryMode).toBe('021');
  });

  it('a wrong PIN goes out and is declined 55: the block reached the issuer', async () => {
    const { rig, engine } = await booted();
    pinReader(rig, '999999');
    expect(await rig.run(engine.sale(1_800))).toMatchObject({ kind: 'declined', responseCode: '55' });
  });

  it('PIN entry cancelled: refused in its words, nothing journaled, nothing sent', async () => {
    const { rig, engine } = await booted();
    pinReader(rig, 'cancelled');
    const records = rig.records().length;
    expect(await rig.run(engine.sale(1_800))).toEqual({ kind: 'refused', txn: 'sale', reason: 'pin-entry-cancelled', detail: 'the cardholder cancelled PIN entry (取消输入密码)' });
    expect(rig.records()).toHaveLength(records);
    expect(rig.financialWrites).toBe(0);
  });
});
