// How each authorization ends (DESIGN rule 9), decided in authorization.ts and checked there (issue 14,
// mutation run): a real journal on a SimDisk, a scripted link, a fake card and printer. The intent is
// durable before the request leaves and the approval before the slip; every way the exchange can end maps
// to one outcome (not sent, declined, reversed 98 / A0 / 06, approved); a balance inquiry never raises a
// reversal; a journal that fails mid-way gives "not sent" before the intent and "unknown" after it.
import { describe, expect, it } from 'vitest';
import { AcquirerLinkError, type ExchangeResult } from '../../firmware-ts/acquirer/exchange-result.js';
import type { AcquirerLink } from '../../firmware-ts/acquirer/link.js';
import { Authorization, NOT_SENT } from '../../firmware-ts/txn/authorization.js';
import type { EngineEvent, ReversalStanding } from '../../firmware-ts/txn/engine-api.js';
import type { CardSource } from '../../firmware-ts/txn/engine-devices.js';
import { TerminalRecord, type AuthIntent, type AuthKind } from '../../firmware-ts/txn/records.js';
import { openTerminalJournal, type TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import { buildRequest, localStamp, reversalImage } from '../../firmware-ts/txn/txn-messages.js';
import { message, type IsoMessage } from '../../protocol/iso8583/index.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { ID } from '../acquirer/harness.js';

const DIR = '/terminal/journal';
const KEY = Buffer.alloc(32, 9);
const PAN = '621214*********0006';

type Step = ExchangeResult | { throws: Error } | 'never';
type Chip = { reversalReason?: '06' } | { throws: Error } | 'never';

const reply = (fields: Record<number, string>): ExchangeResult => ({ kind: 'response', message: message('0210', fields), envelope: {} as never });
const approve = (more: Record<number, string> = {}) => reply({ 39: '00', 37: '000000000042', 38: 'A12345', ...more });

class AuthRig {
  readonly clock = new ManualClock();
  readonly disk = new SimDisk();
  readonly events: EngineEvent[] = [];
  journal!: TerminalJournal;
  exchange: Step = approve();
  chip: Chip = {};
  arcs: string[] = [];
  signOffs = 0;
  reversalsSent: number[] = [];
  /** By default the 0410 clears it at once, for the reason the journal owes it. */
  sendReversal: (stan: number) => Promise<ReversalStanding> = async (stan) => ({ state: 'cleared', stan, reason: this.journal.state.reversals[String(stan)]!.reason, attempts: 1, responseCode: '00' });
  slips: number[] = [];
  printSlip: (stan: number) => Promise<'printed' | 'pending'> = async () => 'printed';
  /** Called inside the exchange and the slip print, to look at what the journal holds at that moment. */
  onExchange: (() => void) | null = null;
  onSlip: (() => void) | null = null;

  async open(): Promise<this> {
    this.journal = await openTerminalJournal({ dir: DIR, deviceKey: KEY, storage: this.disk, segmentBytes: 64 * 1024 });
    return this;
  }

  /** Set to make every engine event handler throw (a log sink that fails). */
  emitThrows = false;

  intent(kind: AuthKind = 'sale', amount = 1_000, stan = 11, requestId?: string): { intent: AuthIntent; request: IsoMessage } {
    const request = buildRequest({ kind, id: ID, stan, batch: 1, ...(kind !== 'balance' ? { amount } : {}), card: { posEntryMode: '05' }, stamp: localStamp(this.clock) });
    return { request, intent: { stan, batch: 1, kind, amount, currency: '156', maskedPan: PAN, entryMode: '052', at: 'T', reversalImage: reversalImage(request), ...(requestId ? { requestId } : {}) } };
  }

  async run(opts: { kind?: AuthKind; chip?: boolean; amount?: number; requestId?: string } = {}) {
    const { intent, request } = this.intent(opts.kind, opts.amount, 11, opts.requestId);
    const link = {
      exchange: async () => {
        this.onExchange?.();
        const s = this.exchange;
        if (s === 'never') return new Promise<never>(() => undefined);
        if ('throws' in s) throw s.throws;
        return s;
      },
    } as unknown as AcquirerLink;
    const reader = {
      completeChip: async ({ arc }: { arc: string }) => {
        this.arcs.push(arc);
        const c = this.chip;
        if (c === 'never') return new Promise<never>(() => undefined);
        if ('throws' in c) throw c.throws;
        return c;
      },
    } as unknown as CardSource;
    const auth = new Authorization(
      {
        journal: this.journal,
        link,
        clock: this.clock,
        reader,
        emit: (e) => {
          this.events.push(e);
          if (this.emitThrows) throw new Error('log sink failed');
        },
        signedOff: () => void this.signOffs++,
        sendReversal: (stan) => {
          this.reversalsSent.push(stan);
          return this.sendReversal(stan);
        },
        printSlip: (stan) => {
          this.slips.push(stan);
          this.onSlip?.();
          return this.printSlip(stan);
        },
      },
      { intent, request, chip: opts.chip ?? false },
    );
    const p = auth.run();
    let done: { r: Awaited<typeof p> } | undefined;
    void p.then((r) => (done = { r }));
    for (let i = 0; i < 100 && !done; i++) {
      await new Promise((r) => setImmediate(r));
      this.clock.advance(1_000);
    }
    if (!done) throw new Error('the authorization never ended');
    return done.r;
  }

  records(type?: string) {
    const all = readTerminalRecords(this.journal, this.disk);
    return (type ? all.filter((r) => r.type === type) : all).map((r) => ({ type: r.type, ...(r.payload as object) }) as Record<string, unknown>);
  }

  /** What a reboot would find: the disk after a power cut (unsynced writes dropped), read by a fresh journal. */
  async afterPowerCut(): Promise<TerminalJournal> {
    this.disk.crash(createRng(5), 'drop');
    return openTerminalJournal({ dir: DIR, deviceKey: KEY, storage: this.disk, segmentBytes: 64 * 1024 });
  }
}

const types = (rig: AuthRig) => rig.records().map((r) => r.type);

describe('write-ahead', () => {
  it('the intent is on the platter before the request leaves', async () => {
    const rig = await new AuthRig().open();
    rig.onExchange = () => rig.disk.crash(createRng(1), 'drop');
    await rig.run();
    const after = await rig.afterPowerCut();
    expect(readTerminalRecords(after, rig.disk).map((r) => r.type)).toEqual([TerminalRecord.authIntent.name]);
  });

  it('the approval is on the platter before the slip is printed, with its RRN and authorization code', async () => {
    const rig = await new AuthRig().open();
    rig.onSlip = () => rig.disk.crash(createRng(1), 'drop');
    const r = await rig.run();
    expect(r).toMatchObject({ kind: 'approved', stan: 11, batch: 1, amount: 1_000, maskedPan: PAN, rrn: '000000000042', authCode: 'A12345' });
    // A swiped card has no second GENERATE AC to run.
    expect(rig.arcs).toEqual([]);
    const after = await rig.afterPowerCut();
    expect(readTerminalRecords(after, rig.disk).map((r) => [r.type, r.payload])).toEqual([
      [TerminalRecord.authIntent.name, expect.objectContaining({ stan: 11 })],
      [TerminalRecord.authOutcome.name, { stan: 11, result: 'approved', responseCode: '00', rrn: '000000000042', authCode: 'A12345', at: expect.any(String) }],
    ]);
  });
});

describe('what the exchange ended in', () => {
  it('no MAC key or a closed link: signed off, not sent, journaled as such, no reversal', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = { throws: new AcquirerLinkError('no-mac-key', 'no MAC key for 0200: sign on first') };
    expect(await rig.run()).toEqual({ kind: 'not-sent', txn: 'sale', stan: 11, batch: 1, detail: 'no MAC key for 0200: sign on first' });
    expect(rig.signOffs).toBe(1);
    expect(rig.records(TerminalRecord.authOutcome.name)).toMatchObject([{ stan: 11, result: 'declined', responseCode: NOT_SENT }]);
    expect(rig.reversalsSent).toEqual([]);
  });

  it('could not connect: not sent, no sign-off', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = { kind: 'connect-failed', detail: 'ECONNREFUSED' };
    expect(await rig.run()).toMatchObject({ kind: 'not-sent', detail: 'ECONNREFUSED' });
    expect(rig.signOffs).toBe(0);
    expect(types(rig)).toEqual([TerminalRecord.authIntent.name, TerminalRecord.authOutcome.name]);
  });

  it('a timeout or a reset is reversed 98; a reply failing its MAC is reversed A0 and signs off; each reversal durable, then sent', async () => {
    for (const [exchange, reason, detail, signOffs] of [
      [{ kind: 'timeout' }, '98', 'no reply from the acquirer in time', 0],
      [{ kind: 'reset', detail: 'peer closed' }, '98', 'the connection dropped before the reply (peer closed)', 0],
      [{ kind: 'mac-failed', message: message('0210', { 39: '00' }) }, 'A0', 'the reply failed its MAC check', 1],
    ] as const) {
      const rig = await new AuthRig().open();
      rig.exchange = exchange as ExchangeResult;
      expect(await rig.run()).toEqual({ kind: 'reversed', txn: 'sale', stan: 11, batch: 1, reason, reversal: 'cleared', attempts: 1, reversalResponseCode: '00', detail });
      expect(rig.signOffs).toBe(signOffs);
      // Raised before the authorization is still in flight, no card named (it is in the intent).
      expect(rig.records(TerminalRecord.reversalRequired.name)).toEqual([{ type: TerminalRecord.reversalRequired.name, stan: 11, reason, at: expect.any(String) }]);
      expect(rig.reversalsSent).toEqual([11]);
      expect(rig.journal.state.inFlight).toEqual({});
    }
  });

  it('anything else thrown by the link may have sent it: reversed 98', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = { throws: new Error('socket exploded') };
    expect(await rig.run()).toMatchObject({ kind: 'reversed', reason: '98', detail: 'no trustworthy answer (socket exploded)' });
    expect(rig.signOffs).toBe(0);
  });

  it('a decline is journaled with its code; a chip card is told the decline; no slip', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = reply({ 39: '51' });
    expect(await rig.run({ chip: true })).toEqual({ kind: 'declined', txn: 'sale', stan: 11, batch: 1, responseCode: '51' });
    expect(rig.records(TerminalRecord.authOutcome.name)).toMatchObject([{ result: 'declined', responseCode: '51' }]);
    expect(rig.arcs).toEqual(['51']);
    expect(rig.events).toEqual([]);
    expect(rig.slips).toEqual([]);
    const swiped = await new AuthRig().open();
    swiped.exchange = reply({ 39: '51' });
    expect(await swiped.run()).toMatchObject({ kind: 'declined', responseCode: '51' });
    expect(swiped.arcs).toEqual([]);
    // A reply without a code is a decline too, never an approval.
    const rig2 = await new AuthRig().open();
    rig2.exchange = reply({ 37: '000000000042' });
    expect(await rig2.run()).toMatchObject({ kind: 'declined', responseCode: '' });
  });

  it('a chip card that fails to take the decline changes nothing but an event', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = reply({ 39: '05' });
    rig.chip = { throws: new Error('reader gone') };
    expect(await rig.run({ chip: true })).toMatchObject({ kind: 'declined', responseCode: '05' });
    expect(rig.events).toEqual([{ type: 'device-failed', stan: 11, device: 'reader', call: 'second GENERATE AC after a decline', detail: 'reader gone' }]);
  });
});

describe('after the host approved', () => {
  it('a chip card completes it (told 00); the slip prints; approved', async () => {
    const rig = await new AuthRig().open();
    expect(await rig.run({ chip: true })).toMatchObject({ kind: 'approved', receipt: 'printed' });
    expect(rig.arcs).toEqual(['00']);
    expect(rig.slips).toEqual([11]);
  });

  it('a chip card that refuses the approval (06), fails or stays silent: reversed 06 naming the card, no slip', async () => {
    for (const [chip, detail] of [
      [{ reversalReason: '06' }, 'the card refused the approval (second GENERATE AC)'],
      [{ throws: new Error('reader gone') }, 'the card did not complete the approved transaction (reader gone)'],
      ['never', 'the card did not complete the approved transaction (no answer within 15000 ms)'],
    ] as const) {
      const rig = await new AuthRig().open();
      rig.chip = chip as Chip;
      expect(await rig.run({ chip: true })).toMatchObject({ kind: 'reversed', reason: '06', detail });
      expect(rig.records(TerminalRecord.reversalRequired.name)).toMatchObject([{ stan: 11, reason: '06', maskedPan: PAN }]);
      expect(rig.slips).toEqual([]);
      expect(rig.journal.state.totals.saleCount).toBe(0);
      const failed = rig.events.filter((e) => e.type === 'device-failed');
      if (chip === 'never' || 'throws' in chip) expect(failed).toEqual([{ type: 'device-failed', stan: 11, device: 'reader', call: 'second GENERATE AC', detail: detail.slice(detail.indexOf('(') + 1, -1) }]);
      else expect(failed).toEqual([]);
    }
  });

  it('a printer that fails leaves the slip pending: the sale stands', async () => {
    const rig = await new AuthRig().open();
    rig.printSlip = async () => 'pending';
    expect(await rig.run()).toMatchObject({ kind: 'approved', receipt: 'pending' });
    const rig2 = await new AuthRig().open();
    rig2.printSlip = async () => {
      throw new Error('printer on fire');
    };
    expect(await rig2.run()).toMatchObject({ kind: 'approved', receipt: 'pending', rrn: '000000000042' });
    expect(rig2.records(TerminalRecord.reversalRequired.name)).toEqual([]);
  });

  it('a balance inquiry: the balance from field 54, no slip, no receipt owed; a lost answer is only declined, never reversed', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = approve({ 54: '1002156C000000012345' });
    expect(await rig.run({ kind: 'balance', amount: 0 })).toMatchObject({ kind: 'approved', balance: 12_345, receipt: 'none', txn: 'balance' });
    expect(rig.slips).toEqual([]);
    expect(rig.journal.state.pendingReceipts).toEqual({});

    const lost = await new AuthRig().open();
    lost.exchange = { kind: 'timeout' };
    expect(await lost.run({ kind: 'balance', amount: 0 })).toMatchObject({ kind: 'declined', responseCode: '98' });
    expect(lost.records(TerminalRecord.reversalRequired.name)).toEqual([]);
    expect(lost.reversalsSent).toEqual([]);
  });

  it('an approval without an authorization code keeps none; one without an RRN keeps an empty one', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = reply({ 39: '00' });
    const r = await rig.run();
    expect(r).toMatchObject({ kind: 'approved', rrn: '' });
    expect(r).not.toHaveProperty('authCode');
    expect(rig.records(TerminalRecord.authOutcome.name)[0]).not.toHaveProperty('authCode');
  });
});

describe('what the result carries', () => {
  it("the client's request id, when it gave one; a sale's reply with a balance field gives no balance", async () => {
    const rig = await new AuthRig().open();
    rig.exchange = approve({ 54: '1002156C000000012345' });
    const r = await rig.run({ requestId: 'pos-42' });
    expect(r).toMatchObject({ kind: 'approved', requestId: 'pos-42' });
    expect(r).not.toHaveProperty('balance');
    const rig2 = await new AuthRig().open();
    rig2.exchange = { kind: 'timeout' };
    expect(await rig2.run({ requestId: 'pos-43' })).toMatchObject({ kind: 'reversed', requestId: 'pos-43' });
    const rig3 = await new AuthRig().open();
    expect(await rig3.run()).not.toHaveProperty('requestId');
  });

  it('a chip balance inquiry that got no answer is not told to the card (there is no answer to tell)', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = { kind: 'timeout' };
    expect(await rig.run({ kind: 'balance', amount: 0, chip: true })).toMatchObject({ kind: 'declined', responseCode: '98' });
    expect(rig.arcs).toEqual([]);
  });
});

describe('a failure nobody foresaw (an event sink that throws)', () => {
  it('after the approval, before the card completed it: reversed 06', async () => {
    const rig = await new AuthRig().open();
    rig.chip = { throws: new Error('reader gone') };
    rig.emitThrows = true;
    expect(await rig.run({ chip: true })).toMatchObject({ kind: 'reversed', reason: '06', detail: 'the transaction could not be completed after approval (log sink failed)' });
    expect(rig.records(TerminalRecord.reversalRequired.name)).toMatchObject([{ reason: '06', maskedPan: PAN }]);
  });

  it('once the end is decided (declined, or reversed and durable), that end stands', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = reply({ 39: '51' });
    rig.chip = { throws: new Error('reader gone') };
    rig.emitThrows = true;
    expect(await rig.run({ chip: true })).toMatchObject({ kind: 'declined', responseCode: '51' });
    expect(rig.records(TerminalRecord.reversalRequired.name)).toEqual([]);

    const rig2 = await new AuthRig().open();
    rig2.exchange = { kind: 'timeout' };
    rig2.sendReversal = async () => {
      throw new Error('link gone');
    };
    rig2.emitThrows = true;
    expect(await rig2.run()).toMatchObject({ kind: 'reversed', reason: '98', reversal: 'pending' });
    expect(rig2.records(TerminalRecord.reversalRequired.name)).toHaveLength(1);
  });
});

describe('the reversal send', () => {
  it('a send that throws leaves the reversal durable and pending, and says so', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = { kind: 'timeout' };
    rig.sendReversal = async () => {
      throw new Error('link gone');
    };
    expect(await rig.run()).toMatchObject({ kind: 'reversed', reason: '98', reversal: 'pending', attempts: 0 });
    expect(rig.events).toEqual([{ type: 'reversal-no-answer', stan: 11, mti: '0400', attempt: 1, detail: 'link gone' }]);
    expect(Object.keys(rig.journal.state.reversals)).toEqual(['11']);
  });

  it('where the reversal stands after the send is what the result says (stuck, closed)', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = { kind: 'timeout' };
    rig.sendReversal = async (stan) => ({ state: 'closed', stan, reason: '98', attempts: 3, closedReason: 'phoned' });
    expect(await rig.run()).toMatchObject({ kind: 'reversed', reversal: 'closed', attempts: 3, closedReason: 'phoned' });
  });
});

describe('when the journal fails', () => {
  it('before the intent is durable: not sent, nothing on the wire', async () => {
    const rig = await new AuthRig().open();
    let sent = false;
    rig.onExchange = () => void (sent = true);
    rig.disk.failNextSync();
    expect(await rig.run()).toMatchObject({ kind: 'not-sent', detail: expect.stringMatching(/^nothing was sent: the journal failed/) });
    expect(sent).toBe(false);
  });

  it('after the intent (the approval cannot be written): unknown, decided at the next boot', async () => {
    const rig = await new AuthRig().open();
    rig.onExchange = () => rig.disk.failNextSync();
    expect(await rig.run()).toMatchObject({ kind: 'unknown', detail: expect.stringMatching(/the outcome is decided when the terminal restarts/) });
    expect(rig.slips).toEqual([]);
  });

  it('an unforeseen throw from the link, then a journal that cannot take the reversal: unknown, decided at boot', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = { throws: new Error('socket exploded') };
    rig.onExchange = () => rig.disk.failNextSync();
    expect(await rig.run()).toMatchObject({ kind: 'unknown', detail: expect.stringMatching(/the outcome is decided when the terminal restarts/) });
  });

  it('a decline that cannot be written is still a decline (a reversal of it at boot undoes nothing)', async () => {
    const rig = await new AuthRig().open();
    rig.exchange = reply({ 39: '51' });
    rig.onExchange = () => rig.disk.failNextSync();
    expect(await rig.run()).toMatchObject({ kind: 'declined', responseCode: '51' });
  });
});
