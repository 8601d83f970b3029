// The reversal sender on its own (issue 14, mutation run): a real journal on a SimDisk, a scripted link
// and manual time, so each rule of a round is checked where it is decided — oldest first, a send that
// never left ends the round, the deadline is kept without sleeping past it, a reversal cleared meanwhile
// is not sent again, only 00/25 clear, A0 and a bad MAC sign off, not-sent is durable and does not count,
// a stuck reversal is marked once with one slip, and the background wait doubles within its jitter.
import { describe, expect, it } from 'vitest';
import { AcquirerLinkError, type ExchangeResult } from '../../firmware-ts/acquirer/exchange-result.js';
import type { AcquirerLink } from '../../firmware-ts/acquirer/link.js';
import type { EngineEvent, ReversalPolicy } from '../../firmware-ts/txn/engine-api.js';
import { DEFAULT_REVERSAL_POLICY, ReversalSender, type RoundResult } from '../../firmware-ts/txn/reversal-sender.js';
import { TerminalRecord, type AuthIntent } from '../../firmware-ts/txn/records.js';
import { openTerminalJournal, type TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import { buildRequest, localStamp, reversalImage } from '../../firmware-ts/txn/txn-messages.js';
import { sleep } from '../../firmware-ts/txn/bounded-call.js';
import { message, type IsoMessage } from '../../protocol/iso8583/index.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { ID, TMK } from '../acquirer/harness.js';
import { FakePrinter } from './engine-rig.js';

const DIR = '/terminal/journal';
const KEY = Buffer.alloc(32, 7);

/** What the scripted acquirer does with one send: an exchange result, or a throw. */
type Reply = ExchangeResult | { throws: Error } | ((clock: ManualClock) => Promise<ExchangeResult>);

const answered = (code: string | undefined): ExchangeResult => {
  const m: IsoMessage = message('0410', { 39: code });
  return { kind: 'response', message: m, envelope: {} as never };
};

interface Sent {
  mti: string;
  at: number;
  stan: string | undefined;
  opts: { responseTimeoutMs?: number };
}

class SenderRig {
  readonly clock = new ManualClock();
  readonly disk = new SimDisk();
  readonly printer = new FakePrinter();
  readonly events: EngineEvent[] = [];
  readonly sent: Sent[] = [];
  replies: Reply[] = [];
  signOnWorks = true;
  signOffs = 0;
  intents = new Map<number, AuthIntent>();
  /** Runs inside the next exchange, before it answers (e.g. another path clears the reversal meanwhile). */
  during: (() => Promise<void>) | null = null;
  journal!: TerminalJournal;
  sender!: ReversalSender;

  async open(policy: Partial<ReversalPolicy> = {}): Promise<this> {
    this.journal = await openTerminalJournal({ dir: DIR, deviceKey: KEY, storage: this.disk, segmentBytes: 64 * 1024 });
    const link = {
      exchange: async (request: IsoMessage, opts: { responseTimeoutMs?: number }) => {
        this.sent.push({ mti: request.mti, at: this.clock.now(), stan: request.fields.get(11) as string | undefined, opts });
        const during = this.during;
        this.during = null;
        if (during) await during();
        const reply = this.replies.shift() ?? { kind: 'timeout' };
        if (typeof reply === 'function') return reply(this.clock);
        if ('throws' in reply) throw reply.throws;
        return reply;
      },
    } as unknown as AcquirerLink;
    this.sender = new ReversalSender({
      journal: this.journal,
      link,
      clock: this.clock,
      printer: this.printer,
      config: { identity: ID, tmk: TMK, merchantName: 'Test Shop' },
      policy: { ...DEFAULT_REVERSAL_POLICY, ...policy },
      ensureSignedOn: async () => this.signOnWorks,
      signedOff: () => void this.signOffs++,
      intent: (stan) => this.intents.get(stan),
      emit: (e) => this.events.push(e),
    });
    return this;
  }

  /** An authorization of `amount` whose outcome was never learned: intent, then reversal-required (98). */
  async owe(stan: number, amount = 1_000): Promise<void> {
    const request = buildRequest({ kind: 'sale', id: ID, stan, batch: 1, amount, card: { posEntryMode: '05' }, stamp: localStamp(this.clock) });
    const intent: AuthIntent = { stan, batch: 1, kind: 'sale', amount, currency: '156', maskedPan: '621214*********0006', entryMode: '052', at: new Date(this.clock.now()).toISOString(), reversalImage: reversalImage(request) };
    this.intents.set(stan, intent);
    await this.journal.append([{ type: TerminalRecord.authIntent.name, payload: intent }], { durable: true });
    await this.journal.append([{ type: TerminalRecord.reversalRequired.name, payload: { stan, reason: '98', at: intent.at } }], { durable: true });
  }

  /** Runs `p` to its end, moving manual time 100 ms at a time. */
  async run<T>(p: Promise<T>): Promise<T> {
    let done: { value: T } | undefined;
    let failed: { error: unknown } | undefined;
    p.then((value) => (done = { value }), (error: unknown) => (failed = { error }));
    for (let i = 0; i < 100_000; i++) {
      await new Promise((r) => setImmediate(r));
      if (failed) throw failed.error;
      if (done) return done.value;
      this.clock.advance(100);
    }
    throw new Error('never finished on manual time');
  }

  round(deadline?: number): Promise<RoundResult> {
    return this.run(this.sender.round(deadline));
  }

  records(type: string) {
    return readTerminalRecords(this.journal, this.disk).filter((r) => r.type === type).map((r) => r.payload as Record<string, unknown>);
  }

  owed() {
    return this.journal.state.reversals;
  }

  /** Power cut (unsynced writes lost), then the journal reopened from the disk. */
  async cutAndReopen(): Promise<void> {
    this.disk.crash(createRng(3), 'drop');
    this.journal = await openTerminalJournal({ dir: DIR, deviceKey: KEY, storage: this.disk, segmentBytes: 64 * 1024 });
  }
}

const types = (rig: SenderRig) => rig.events.map((e) => e.type);

describe('a round over the owed reversals', () => {
  it('goes oldest journaled first, not by STAN; a send that could not leave ends the round for the rest', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(9);
    await rig.owe(5);
    rig.replies = [{ kind: 'connect-failed', detail: 'no route to host' }];
    expect(await rig.round()).toEqual({ cleared: [], stuck: [], owed: [9, 5] });
    expect(rig.sent.map((s) => s.stan)).toEqual(['000009']);
    // Not sent: journaled as such, so the attempt does not count and the next send is still a 0400.
    expect(rig.records(TerminalRecord.reversalNotSent.name)).toMatchObject([{ stan: 9, attempt: 1, detail: 'no route to host' }]);
    expect(rig.owed()['9']).toMatchObject({ attempts: 0 });
    expect(types(rig)).toEqual(['reversal-not-sent']);
  });

  it('a reversal already stuck that the round does not reach is reported stuck, not owed', async () => {
    const rig = await new SenderRig().open({ attemptsPerRound: 1 });
    await rig.owe(3);
    await rig.owe(4);
    rig.replies = [{ kind: 'timeout' }, { kind: 'timeout' }];
    expect(await rig.round()).toEqual({ cleared: [], stuck: [3, 4], owed: [] });
    rig.replies = [{ kind: 'connect-failed', detail: 'down' }];
    expect(await rig.round()).toEqual({ cleared: [], stuck: [4], owed: [3] });
  });

  it('clears on 00 and on 25, answers that settle it, and the next round sends nothing', async () => {
    const rig = await new SenderRig().open({ attemptsPerRound: 1 });
    await rig.owe(1);
    await rig.owe(2);
    rig.replies = [answered('00'), answered('25')];
    expect(await rig.round()).toEqual({ cleared: [1, 2], stuck: [], owed: [] });
    expect(rig.records(TerminalRecord.reversalCleared.name)).toMatchObject([{ stan: 1, responseCode: '00' }, { stan: 2, responseCode: '25' }]);
    expect(rig.events.filter((e) => e.type === 'reversal-cleared')).toEqual([
      { type: 'reversal-cleared', stan: 1, responseCode: '00' },
      { type: 'reversal-cleared', stan: 2, responseCode: '25' },
    ]);
    expect(rig.owed()).toEqual({});
    expect(await rig.round()).toEqual({ cleared: [], stuck: [], owed: [] });
    expect(rig.sent).toHaveLength(2);
  });
});

describe('the sends of one reversal', () => {
  it('the first goes at once as 0400, repeats as 0401 spaced 2 s then 4 s; then it is stuck, with its slip', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    const t0 = rig.clock.now();
    expect(await rig.round()).toEqual({ cleared: [], stuck: [7], owed: [] });
    expect(rig.sent.map((s) => [s.mti, s.at - t0])).toEqual([['0400', 0], ['0401', 2_000], ['0401', 6_000]]);
    expect(rig.records(TerminalRecord.reversalAttempt.name).map((r) => [r.attempt, r.mti])).toEqual([[1, '0400'], [2, '0401'], [3, '0401']]);
    expect(rig.records(TerminalRecord.reversalStuck.name)).toMatchObject([{ stan: 7, attempts: 3 }]);
    expect(rig.events.filter((e) => e.type === 'reversal-stuck')).toEqual([{ type: 'reversal-stuck', stan: 7, attempts: 3 }]);
    expect(rig.events.filter((e) => e.type === 'reversal-sent')).toEqual([
      { type: 'reversal-sent', stan: 7, mti: '0400', attempt: 1 },
      { type: 'reversal-sent', stan: 7, mti: '0401', attempt: 2 },
      { type: 'reversal-sent', stan: 7, mti: '0401', attempt: 3 },
    ]);
    expect(rig.printer.jobs).toEqual(['reversal-7']);
    expect(types(rig)).not.toContain('slip-not-printed');
    // With no deadline the link's own response timeout applies.
    expect(rig.sent[0]!.opts).toEqual({});
  });

  it('a reversal already stuck is not marked again and prints no second slip', async () => {
    const rig = await new SenderRig().open({ attemptsPerRound: 1 });
    await rig.owe(7);
    await rig.round();
    await rig.round();
    expect(rig.sent).toHaveLength(2);
    expect(rig.records(TerminalRecord.reversalStuck.name)).toHaveLength(1);
    expect(rig.printer.jobs).toEqual(['reversal-7']);
    expect(rig.owed()['7']).toMatchObject({ stuck: true, attempts: 2 });
  });

  it('a deadline already reached sends nothing; one reached during the spacing returns at once, owed', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    expect(await rig.round(rig.clock.now())).toEqual({ cleared: [], stuck: [], owed: [7] });
    expect(rig.sent).toEqual([]);
    expect(rig.records(TerminalRecord.reversalAttempt.name)).toEqual([]);

    // 2 s left after the first send and the repeat is due in 2 s: the sale it holds up goes ahead now.
    const t0 = rig.clock.now();
    const result = await rig.run(rig.sender.send(7, t0 + 2_000));
    expect(result).toBe('owed');
    expect(rig.clock.now() - t0).toBeLessThan(2_000);
    expect(rig.sent.map((s) => [s.mti, s.opts.responseTimeoutMs])).toEqual([['0400', 2_000]]);
  });

  it('a reversal cleared while its send was out is not sent again', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    rig.during = async () => {
      await rig.journal.append([{ type: TerminalRecord.reversalClosed.name, payload: { stan: 7, reason: 'supervisor', at: '' } }], { durable: true });
    };
    expect(await rig.run(rig.sender.send(7))).toBe('cleared');
    expect(rig.sent).toHaveLength(1);
  });

  it('cleared on the round\'s only send is cleared, not stuck', async () => {
    const rig = await new SenderRig().open({ attemptsPerRound: 1 });
    await rig.owe(7);
    rig.replies = [answered('00')];
    expect(await rig.run(rig.sender.send(7))).toBe('cleared');
    expect(rig.records(TerminalRecord.reversalStuck.name)).toEqual([]);
  });

  it('without its intent (nothing to build the 0400 from) it is marked stuck, kept, and nothing is sent', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    rig.intents.clear();
    expect(await rig.round()).toEqual({ cleared: [], stuck: [7], owed: [] });
    expect(rig.sent).toEqual([]);
    expect(rig.owed()['7']).toMatchObject({ stuck: true });
  });

  it('no session (sign-on failed): not sent, no attempt journaled, owed', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    rig.signOnWorks = false;
    expect(await rig.round()).toEqual({ cleared: [], stuck: [], owed: [7] });
    expect(rig.sent).toEqual([]);
    expect(rig.records(TerminalRecord.reversalAttempt.name)).toEqual([]);
    expect(rig.events).toEqual([{ type: 'reversal-not-sent', stan: 7, attempt: 1, detail: 'no session with the acquirer (sign-on failed)' }]);
  });
});

describe('what each answer does', () => {
  it('no MAC key or a closed link: signed off, journaled as not sent, owed', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    rig.replies = [{ throws: new AcquirerLinkError('no-mac-key', 'no MAC key for 0400: sign on first') }];
    expect(await rig.round()).toEqual({ cleared: [], stuck: [], owed: [7] });
    expect(rig.signOffs).toBe(1);
    expect(rig.records(TerminalRecord.reversalNotSent.name)).toMatchObject([{ stan: 7, attempt: 1, detail: 'no MAC key for 0400: sign on first' }]);
    expect(rig.owed()['7']).toMatchObject({ attempts: 0 });
  });

  it('any other throw from the link counts as a send (it may have left)', async () => {
    const rig = await new SenderRig().open({ attemptsPerRound: 1 });
    await rig.owe(7);
    rig.replies = [{ throws: new Error('socket exploded') }];
    expect(await rig.round()).toEqual({ cleared: [], stuck: [7], owed: [] });
    expect(rig.signOffs).toBe(0);
    expect(rig.events[0]).toEqual({ type: 'reversal-no-answer', stan: 7, mti: '0400', attempt: 1, detail: 'socket exploded' });
    expect(rig.owed()['7']).toMatchObject({ attempts: 1, stuck: true });
  });

  it('timeout, reset and a bad MAC count as sends and say which; only the bad MAC signs off', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    rig.replies = [
      async (clock) => {
        await sleep(clock, 1_500);
        return { kind: 'timeout' };
      },
      { kind: 'reset', detail: 'peer closed' },
      { kind: 'mac-failed', message: message('0410', { 39: '00' }) },
    ];
    expect(await rig.round()).toEqual({ cleared: [], stuck: [7], owed: [] });
    expect(rig.signOffs).toBe(1);
    expect(rig.events.filter((e) => e.type === 'reversal-no-answer').map((e) => (e as { detail: string }).detail)).toEqual([
      'no 0410 within 1500 ms',
      'connection reset (peer closed)',
      'the 0410 failed its MAC check',
    ]);
  });

  it('A0 (the host could not check our MAC) signs off and counts; 96 and a missing code are refusals', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    rig.replies = [answered('A0'), answered('96'), answered(undefined)];
    expect(await rig.round()).toEqual({ cleared: [], stuck: [7], owed: [] });
    expect(rig.signOffs).toBe(1);
    expect(rig.events.filter((e) => e.type === 'reversal-refused')).toEqual([
      { type: 'reversal-refused', stan: 7, responseCode: 'A0' },
      { type: 'reversal-refused', stan: 7, responseCode: '96' },
      { type: 'reversal-refused', stan: 7, responseCode: '' },
    ]);
    expect(rig.records(TerminalRecord.reversalCleared.name)).toEqual([]);
  });

  it('a not-sent record is durable: after a power cut the attempt still does not count', async () => {
    const rig = await new SenderRig().open();
    await rig.owe(7);
    rig.replies = [{ kind: 'connect-failed', detail: 'down' }];
    await rig.round();
    await rig.cutAndReopen();
    expect(rig.journal.state.reversals['7']).toMatchObject({ attempts: 0 });
  });
});

describe('the stuck slip', () => {
  it('a printer out of paper or failing says the slip was not printed, and why', async () => {
    const rig = await new SenderRig().open({ attemptsPerRound: 1 });
    await rig.owe(7);
    rig.printer.working = false;
    await rig.round();
    expect(rig.events.filter((e) => e.type === 'slip-not-printed')).toEqual([{ type: 'slip-not-printed', stan: 7, reason: 'paper-end' }]);

    await rig.owe(8);
    rig.printer.fail = 'throw';
    await rig.round();
    expect(rig.events.filter((e) => e.type === 'slip-not-printed').at(-1)).toEqual({ type: 'slip-not-printed', stan: 8, reason: 'print: device error (test)' });
  });
});

describe('the wait before a background round', () => {
  it('doubles from backoffMs up to maxBackoffMs, moved by up to ±jitter', async () => {
    const rig = await new SenderRig().open({ backoffMs: 30_000, maxBackoffMs: 600_000, jitter: 0.2 });
    const s = rig.sender;
    expect([1, 2, 3].map((n) => s.backoffFor(n, () => 0.5))).toEqual([30_000, 60_000, 120_000]);
    expect(s.backoffFor(1, () => 0)).toBe(24_000);
    expect(s.backoffFor(1, () => 1)).toBe(36_000);
    expect(s.backoffFor(1, () => 0.25)).toBe(27_000);
    expect(s.backoffFor(20, () => 0.5)).toBe(600_000);
  });
});
