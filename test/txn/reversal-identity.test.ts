// A reversal names the terminal of its original (field 41 from the journaled image), not whatever the
// config says now; and the open work a journal holds under another terminal ID is what boot refuses.
import { describe, expect, it } from 'vitest';
import { reversalFromImage } from '../../firmware-ts/txn/txn-messages.js';
import { foreignOpenWork } from '../../firmware-ts/txn/journal-identity.js';
import { ID } from '../acquirer/harness.js';
import { EngineRig } from './engine-rig.js';

describe('a reversal and its terminal', () => {
  it("takes field 41 from the image, and the config's only for an image without one", () => {
    const now = { terminalId: '22222222', merchantId: '898310048990002' };
    const sent = reversalFromImage({ mti: '0200', '11': '000002', '41': '11111111' }, now, '98', false);
    expect([sent.mti, sent.fields.get(41), sent.fields.get(42), sent.fields.get(39)]).toEqual(['0400', '11111111', now.merchantId, '98']);
    expect(reversalFromImage({ mti: '0200', '11': '000002' }, now, '98', true).fields.get(41)).toBe('22222222');
  });

  it('owed under another terminal ID: a reversal owed counts, an approved sale does not', async () => {
    const rig = new EngineRig();
    const engine = await rig.start();
    expect((await rig.run(engine.boot())).signedOn).toBe(true);
    const sale = await rig.run(engine.sale(1_234));
    expect(sale).toMatchObject({ kind: 'approved' });
    // Approved and final: nothing owed, so nothing to send as any terminal.
    expect(foreignOpenWork(rig.journal.state, '99999999')).toEqual([]);
    rig.loseReplyAndIgnoreReversals(7_777);
    const owed = await rig.run(engine.sale(7_777));
    expect(owed).toMatchObject({ kind: 'reversed', reversal: 'stuck' });
    expect(foreignOpenWork(rig.journal.state, ID.terminalId)).toEqual([]);
    expect(foreignOpenWork(rig.journal.state, '99999999')).toEqual([{ terminalId: ID.terminalId, stans: [(owed as { stan: number }).stan] }]);
    await engine.stop();
    await rig.journal.close();
  });
});
