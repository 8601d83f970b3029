// End to end over real loopback TCP: the engine on the real clock and file system against the acquirer
// simulator's TCP server (what `posj-bridge acquirer` runs), reading its ledger file back from disk.
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AcquirerLink, tcpConnector } from '../../firmware-ts/acquirer/index.js';
import { systemClock } from '../../protocol/io/clock.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { checkMoneyInvariants } from '../../firmware-ts/txn/money-invariants.js';
import { TerminalEngine } from '../../firmware-ts/txn/terminal-engine.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import { Ledger } from '../../host-bridge/acquirer/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { ID, startHost, TMK } from '../acquirer/harness.js';
import { FakePrinter, FakeReader, supervisor } from './engine-rig.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('engine over loopback TCP against the acquirer simulator', () => {
  it('a sale, a lost reply (reversed), a power cut after the intent (reversed at boot), and the ledger file agrees with the journal', async () => {
    const dir = tmpDir('engine-tcp');
    const ledgerPath = path.join(dir, 'acquirer.jsonl');
    const { host, server } = await startHost(ledgerPath, {
      rules: [{ when: { amount: 4_200, mti: '0200' }, then: { action: 'drop-reply' } }],
      script: [],
      openingBalance: 10_000_000n,
    });
    cleanups.push(() => host.close(), () => server.close());
    const journalDir = path.join(dir, 'journal');
    const deviceKey = Buffer.alloc(32, 7);

    const start = async () => {
      const journal = await openTerminalJournal({ dir: journalDir, deviceKey });
      const link = new AcquirerLink({ connector: tcpConnector({ host: '127.0.0.1', port: server.port }), clock: systemClock, connectTimeoutMs: 1_000, responseTimeoutMs: 400 });
      const engine = TerminalEngine.create({ journal, link, clock: systemClock, reader: new FakeReader(), printer: new FakePrinter(), supervisor, config: { identity: ID, tmk: TMK, merchantName: 'Loopback Shop' } });
      return { journal, link, engine };
    };

    const a = await start();
    expect((await a.engine.boot()).signedOn).toBe(true);
    expect(await a.engine.sale(1_500)).toMatchObject({ kind: 'approved', receipt: 'printed' });
    expect(await a.engine.sale(4_200)).toMatchObject({ kind: 'reversed', reason: '98', reversal: 'cleared' });
    // The terminal dies right after writing an intent ahead, before its request left.
    await a.journal.append(
      [{ type: 'auth.intent', payload: { stan: a.journal.state.stan + 1, batch: 1, kind: 'sale', amount: 4_200, currency: '156', maskedPan: '621214*********0006', entryMode: '902', at: new Date().toISOString(), reversalImage: { mti: '0200', '3': '000000', '4': '000000004200', '11': String(a.journal.state.stan + 1).padStart(6, '0'), '22': '902', '25': '00', '49': '156', '60': '22000001000' } } }],
      { durable: true },
    );
    a.engine.stop();
    a.link.close();
    await a.journal.close();

    const b = await start();
    cleanups.push(async () => {
      b.engine.stop();
      b.link.close();
      await b.journal.close();
    });
    const boot = await b.engine.boot();
    expect(boot.reversalsRaised).toHaveLength(1);
    expect(boot.reversalsCleared).toEqual(boot.reversalsRaised);
    expect(await b.engine.sale(2_500)).toMatchObject({ kind: 'approved' });

    // The ledger as written to disk by the simulator, not its in-memory state.
    const onDisk = Ledger.open(nodeStorage, ledgerPath);
    const entries = [...onDisk.entries];
    onDisk.close();
    const violations = checkMoneyInvariants({ records: readTerminalRecords(b.journal), ledger: entries, terminalId: ID.terminalId });
    expect(violations).toEqual([]);
    const debits = entries.filter((e) => e.kind === 'authorization').map((e) => (e.kind === 'authorization' ? Number(e.amount) : 0));
    expect(debits.sort((x, y) => x - y)).toEqual([1_500, 2_500, 4_200]);
    expect(entries.filter((e) => e.kind === 'reversal')).toHaveLength(2);
  });
});
