// Online PIN end to end (issue 15): the engine on a real journal, the real card reader driver on a socat pty
// with the reader simulator as PIN pad on the other end (the daemon's own device composition, openDevices),
// and the acquirer simulator on loopback TCP. Every assertion about the wire is on the frame bodies the
// acquirer received. The PIN block is in flight once per sale, into field 52 only: never in a reversal,
// never on disk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../protocol/io/clock.js';
import { MemoryLog } from '../../protocol/io/device-log.js';
import { decodeCup, type IsoMessage } from '../../protocol/iso8583/index.js';
import { tcpConnector } from '../../firmware-ts/acquirer/index.js';
import { openDevices } from '../../firmware-ts/daemon/devices.js';
import { describeTxn } from '../../firmware-ts/cli/terminal-commands.js';
import { pinBlocksInFlight } from '../../firmware-ts/pci/pin-blocks-in-flight.js';
import { checkMoneyInvariants } from '../../firmware-ts/txn/money-invariants.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { openTerminalJournal, type TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { readTerminalRecords } from '../../firmware-ts/txn/txn-history.js';
import type { TxnResult } from '../../firmware-ts/txn/engine-api.js';
import { buildTerminal, type Terminal } from '../../firmware-ts/terminal/build-terminal.js';
import { AcquirerHost, startAcquirerServer, type RuleSet } from '../../host-bridge/acquirer/index.js';
import { pinTriesRef } from '../../host-bridge/acquirer/pin-verification.js';
import { ReaderSimulator } from '../../host-bridge/sim/reader-simulator.js';
import type { ReaderFault } from '../../host-bridge/sim/reader-faults.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { createPtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { cleanupsAfterEach } from '../helpers/wait.js';
import { ID, TMK } from '../acquirer/harness.js';
import { FakePrinter, supervisor } from './engine-rig.js';
import { randomBytes } from 'node:crypto';

const cleanups = cleanupsAfterEach();

interface Bench {
  dir: string;
  host: AcquirerHost;
  /** Frame bodies the acquirer received, in order, decoded. */
  received: { body: Buffer; message: IsoMessage }[];
  sim: ReaderSimulator;
  /** Every encrypted PIN block the PIN pad formed. */
  blocks: Buffer[];
  journal: TerminalJournal;
  terminal: Terminal;
  sale(amount: number): Promise<TxnResult>;
}

async function bench(opts: { rules?: Partial<RuleSet>; responseMs?: number; entryMs?: number } = {}): Promise<Bench> {
  const dir = tmpDir('online-pin');
  const host = AcquirerHost.open({ storage: nodeStorage, ledgerPath: path.join(dir, 'acquirer.jsonl'), tmk: TMK, clock: systemClock });
  if (opts.rules) host.rules = { ...host.rules, ...opts.rules };
  const received: Bench['received'] = [];
  const handle = host.handle.bind(host);
  host.handle = (body) => {
    received.push({ body: Buffer.from(body), message: decodeCup(body).message });
    return handle(body);
  };
  const server = await startAcquirerServer({ host, clock: systemClock, port: 0 });
  cleanups.push(() => server.close(), () => host.close());

  const pair = await createPtyPair();
  const blocks: Buffer[] = [];
  const sim = new ReaderSimulator({ path: pair.b, present: 'unionpay-chip', clock: systemClock, log: new MemoryLog(500), onPinBlock: (b) => blocks.push(Buffer.from(b)) });
  sim.start();
  const devices = openDevices({
    reader: { path: pair.a, baud: 115200 },
    printer: 'simulated',
    clock: systemClock,
    log: new MemoryLog(500),
    simulated: { reader: () => { throw new Error('not simulated'); }, printer: () => Object.assign(new FakePrinter(), { health: () => ({}) }) },
  });
  cleanups.push(() => pair.close(), () => sim.stop(), () => devices.close());

  const journal = await openTerminalJournal({ dir: path.join(dir, 'journal'), deviceKey: randomBytes(32) });
  const terminal = buildTerminal({
    journal,
    storage: nodeStorage,
    connector: tcpConnector({ host: '127.0.0.1', port: server.port }),
    clock: systemClock,
    reader: devices.reader,
    printer: devices.printer,
    supervisor,
    identity: ID,
    tmk: TMK,
    merchantName: 'PIN Shop',
    reversal: { backoffMs: 60_000, jitter: 0 },
    ...(opts.entryMs ? { onlinePin: { entryMs: opts.entryMs } } : {}),
    timeouts: { connectMs: 2_000, responseMs: opts.responseMs ?? 5_000 },
  });
  cleanups.push(async () => {
    terminal.engine.stop();
    terminal.link.close();
    await journal.close();
  });
  expect((await terminal.engine.boot()).signedOn).toBe(true);
  return { dir, host, received, sim, blocks, journal, terminal, sale: (amount) => terminal.engine.sale(amount, { cardTimeoutMs: 5_000 }) };
}

const financial = (b: Bench) => b.received.filter((r) => /^0[12]00$/.test(r.message.mti));
const reversals = (b: Bench) => b.received.filter((r) => /^040[01]$/.test(r.message.mti));
const authorizations = (b: Bench) => b.host.state.entries.filter((e) => e.kind === 'authorization');

/** Every file under `dir`, searched for the block raw, as hex (both cases) and as base64. */
function filesHolding(dir: string, block: Buffer): string[] {
  const forms = [block, Buffer.from(block.toString('hex').toUpperCase()), Buffer.from(block.toString('hex')), Buffer.from(block.toString('base64').replace(/=+$/, ''))];
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (forms.some((f) => fs.readFileSync(p).includes(f))) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

function noPinOnDisk(b: Bench): void {
  expect(b.blocks.length).toBeGreaterThan(0);
  for (const block of b.blocks) expect(filesHolding(b.dir, block)).toEqual([]);
  expect(pinBlocksInFlight()).toBe(0);
}

describe('online PIN over a pty PIN pad and loopback TCP', () => {
  it('a chip sale with online PIN: 52 is the pad\'s block, with 26, 53 and entry mode 051; approved; nothing of it on disk', async () => {
    const b = await bench();
    const r = await b.sale(12_345);
    expect(r).toMatchObject({ kind: 'approved', maskedPan: '620000******0005' });
    const [sale] = financial(b);
    expect(b.blocks).toHaveLength(1);
    expect(sale!.message.fields.get(52)).toEqual(b.blocks[0]);
    expect(sale!.message.fields.get(53)).toBe('2600000000000000');
    expect(sale!.message.fields.get(26)).toBe('12');
    expect(sale!.message.fields.get(22)).toBe('051');
    expect(authorizations(b)).toHaveLength(1);
    // The intent records the entry mode, and nothing of the PIN.
    const intent = readTerminalRecords(b.journal).find((x) => x.type === TerminalRecord.authIntent.name)!.payload as { entryMode: string; reversalImage: Record<string, string> };
    expect(intent.entryMode).toBe('051');
    expect(Object.keys(intent.reversalImage).filter((k) => ['26', '52', '53'].includes(k))).toEqual([]);
    expect(checkMoneyInvariants({ records: readTerminalRecords(b.journal), ledger: b.host.state.entries, terminalId: ID.terminalId })).toEqual([]);
    noPinOnDisk(b);
  });

  it('a wrong PIN is declined 55 (密码错误 / wrong PIN) and debits nothing', async () => {
    const b = await bench();
    b.sim.inject({ kind: 'wrong-pin' }, 'PIN');
    const r = await b.sale(5_000);
    expect(r).toMatchObject({ kind: 'declined', responseCode: '55' });
    expect(describeTxn(r as never)).toContain('55 密码错误 / wrong PIN — not debited');
    expect(authorizations(b)).toEqual([]);
    expect(financial(b)[0]!.message.fields.get(52)).toEqual(b.blocks[0]);
    // The right PIN next time goes through.
    expect(await b.sale(5_000)).toMatchObject({ kind: 'approved' });
    expect(authorizations(b)).toHaveLength(1);
    noPinOnDisk(b);
  });

  it('the third wrong PIN in a row is 75 (PIN tries exceeded), and so is the right PIN after it; no debit', async () => {
    const b = await bench();
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      b.sim.inject({ kind: 'wrong-pin' }, 'PIN');
      const r = await b.sale(700);
      codes.push(r.kind === 'declined' ? r.responseCode : r.kind);
    }
    const after = await b.sale(700);
    expect([...codes, after.kind === 'declined' ? after.responseCode : after.kind]).toEqual(['55', '55', '75', '75']);
    expect(describeTxn(after as never)).toContain('75 密码错误次数超限 / PIN tries exceeded');
    expect(authorizations(b)).toEqual([]);
    // Counted against this card, not its masked PAN (which other cards of the BIN share).
    expect(b.host.state.pinTries.get(pinTriesRef('6200000000000005'))).toBe(3);
    expect(pinTriesRef('6200001234560005')).not.toBe(pinTriesRef('6200000000000005'));
    expect(b.host.state.entries.filter((e) => e.kind === 'pin-tries').map((e) => JSON.stringify(e)).join('')).not.toMatch(/\d{13}/);
    noPinOnDisk(b);
  });

  for (const [fault, reason] of [['pin-cancel', 'pin-entry-cancelled'], ['pin-timeout', 'pin-entry-timeout']] as const) {
    it(`PIN entry ${fault === 'pin-cancel' ? 'cancelled' : 'timed out'}: refused ${reason} before anything is sent — no STAN, no intent, no 0200`, async () => {
      const b = await bench({ entryMs: 1_000 });
      const stanBefore = b.journal.state.stan;
      b.sim.inject({ kind: fault } as ReaderFault, 'PIN');
      const r = await b.sale(900);
      expect(r).toMatchObject({ kind: 'refused', reason });
      expect(describeTxn(r as never)).toMatch(/nothing was sent$/);
      expect(financial(b)).toEqual([]);
      expect(b.journal.state.stan).toBe(stanBefore);
      expect(readTerminalRecords(b.journal).filter((x) => x.type === TerminalRecord.authIntent.name)).toEqual([]);
      expect(b.blocks).toEqual([]);
      // The reader is free again: the next sale with a PIN goes through.
      expect(await b.sale(900)).toMatchObject({ kind: 'approved' });
    });
  }

  it('a card that allows no PIN, bypassed on the pad: sent as a sale without PIN (22 = 052, no 26/52/53) and approved', async () => {
    const b = await bench();
    b.sim.present('mastercard-chip-bypass');
    expect(await b.sale(800)).toMatchObject({ kind: 'approved', maskedPan: '555555******4444' });
    const [sale] = financial(b);
    expect(sale!.message.fields.get(22)).toBe('052');
    for (const n of [26, 52, 53]) expect(sale!.message.fields.has(n), `field ${n}`).toBe(false);
    expect(b.blocks).toEqual([]);
    expect(b.sim.handled.PIN).toBe(1);
  });

  it('a PIN pad that never answers: refused pin-entry-failed after the entry time, nothing sent', async () => {
    const b = await bench({ entryMs: 1_000 });
    b.sim.inject({ kind: 'no-reply' }, 'PIN');
    const r = await b.sale(600);
    expect(r).toMatchObject({ kind: 'refused', reason: 'pin-entry-failed' });
    expect(financial(b)).toEqual([]);
    expect(readTerminalRecords(b.journal).filter((x) => x.type === TerminalRecord.authIntent.name)).toEqual([]);
  });

  it('a lost reply after a PIN sale is reversed with a 0400 that carries no 26, 52 or 53 and no byte of the block', async () => {
    const b = await bench({ rules: { rules: [{ when: { mti: '0200' }, then: { action: 'drop-reply' } }] }, responseMs: 1_500 });
    const r = await b.sale(3_300);
    expect(r).toMatchObject({ kind: 'reversed', reason: '98', reversal: 'cleared' });
    const [sale] = financial(b);
    expect(sale!.message.fields.get(52)).toEqual(b.blocks[0]);
    const [rev] = reversals(b);
    expect(rev!.message.mti).toBe('0400');
    for (const n of [2, 14, 26, 35, 52, 53, 55]) expect(rev!.message.fields.has(n), `field ${n}`).toBe(false);
    expect(rev!.message.fields.get(22)).toBe('051');
    const block = b.blocks[0]!;
    expect(rev!.body.includes(block)).toBe(false);
    expect(rev!.body.includes(Buffer.from(block.toString('hex').toUpperCase()))).toBe(false);
    // Debited, then reversed: nothing stands.
    expect(checkMoneyInvariants({ records: readTerminalRecords(b.journal), ledger: b.host.state.entries, terminalId: ID.terminalId })).toEqual([]);
    expect(b.host.state.reversed.size).toBe(1);
    noPinOnDisk(b);
  });
});
