// The simulated acquirer's ledger and message handling: durability across restart, reversal at most once,
// void/refund/pre-authorization/settlement, and hostile input that must not crash or debit.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findSensitive } from '../../firmware-ts/pci/card-data.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import type { Storage } from '../../firmware-ts/io/storage.js';
import {
  batchEndRequest,
  batchUploadRequest,
  parseField48Totals,
  reversalRequest,
  settlementRequest,
  SecretKey,
  textField,
  unwrapWorkingKeys,
} from '../../protocol/iso8583/index.js';
import {
  defaultRules,
  Ledger,
  LedgerCorruptError,
  ledgerReport,
  readLedgerFile,
  type RuleAction,
} from '../../host-bridge/acquirer/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { BATCH, ID, linkTo, PAN, request, rig, startHost, TMK, type Rig } from './harness.js';
import type { ExchangeResult } from '../../firmware-ts/acquirer/index.js';

let rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs) await r.stop();
  rigs = [];
});

async function open(dir = tmpDir('host'), script: (RuleAction | null)[] = []) {
  const r = await rig(dir, { rules: { ...defaultRules(), script: [null, ...script] } });
  rigs.push(r);
  return r;
}

function code(res: ExchangeResult): string | undefined {
  if (res.kind !== 'response') throw new Error(`expected a response, got ${res.kind}`);
  return textField(res.message, 39);
}

const reversals = (r: Rig) => r.host.state.entries.filter((e) => e.kind === 'reversal');

describe('reversal (冲正)', () => {
  it('0400 then 0401 twice: one reversal in the ledger, every answer a well-formed 0410', async () => {
    const r = await open(undefined, [{ action: 'drop-reply' }]);
    const sale = request('sale', '000002', '000000050000');
    expect((await r.link.exchange(sale)).kind).toBe('timeout');
    for (const repeat of [false, true, true]) {
      const res = await r.link.exchange(reversalRequest(sale, '98', repeat));
      expect(res.kind === 'response' && res.message.mti).toBe('0410');
      expect(code(res)).toBe('00');
    }
    expect(reversals(r)).toHaveLength(1);
    const report = ledgerReport(readLedgerFile(nodeStorage, r.ledgerPath));
    expect(report.cards).toEqual([{ card: '621214*********0006', debited: 50000, reversed: 50000, voided: 0, refunded: 0, net: 0 }]);
  });

  it('a reversal of an unknown authorization is answered and blocks a late original with that STAN', async () => {
    const r = await open();
    const sale = request('sale', '000009', '000000000100');
    expect(code(await r.link.exchange(reversalRequest(sale, '98', false)))).toBe('00');
    expect(code(await r.link.exchange(reversalRequest(sale, '98', true)))).toBe('00');
    expect(code(await r.link.exchange(sale))).toBe('94');
    expect(reversals(r)).toHaveLength(1);
    expect(ledgerReport(r.host.state.entries).cards).toEqual([]);
  });

  it('touches only its own authorization: same STAN, other amount → 12 (not 25, which would clear it) and nothing reversed', async () => {
    const r = await open();
    expect(code(await r.link.exchange(request('sale', '000002', '000000000100')))).toBe('00');
    const other = request('sale', '000002', '000000000999');
    expect(code(await r.link.exchange(reversalRequest(other, '98', false)))).toBe('12');
    expect(reversals(r)).toHaveLength(0);
  });
});

describe('durable ledger', () => {
  it('survives a host restart: positions, sessions (MAC key) and duplicate detection', async () => {
    const dir = tmpDir('restart');
    const first = await open(dir, [{ action: 'drop-reply' }]);
    const lost = request('sale', '000002', '000000001000');
    expect((await first.link.exchange(lost)).kind).toBe('timeout');
    expect(code(await first.link.exchange(request('sale', '000003', '000000002000')))).toBe('00');
    await first.stop();
    rigs = [];

    const { host, server } = await startHost(first.ledgerPath);
    const link = linkTo(server.port, []);
    link.setMacKey(sessionMak(first));
    try {
      expect(host.state.entries.filter((e) => e.kind === 'authorization')).toHaveLength(2);
      // The terminal reverses the lost sale against the restarted host, with the key from before.
      expect(code(await link.exchange(reversalRequest(lost, '98', false)))).toBe('00');
      expect(code(await link.exchange(request('sale', '000003', '000000002000')))).toBe('94');
    } finally {
      link.close();
      await server.close();
      host.close();
    }
    const report = ledgerReport(readLedgerFile(nodeStorage, first.ledgerPath));
    expect(report.terminals).toEqual([{ terminalId: ID.terminalId, debited: 3000, reversed: 1000, voided: 0, refunded: 0, net: 2000 }]);
  });

  it('stores no full PAN or track data, and keys only wrapped', async () => {
    const r = await open();
    await r.link.exchange(request('sale', '000002', '000000000100', { card: { track2: `${PAN}=28122010000000000`, entryMode: '021' } }));
    const text = fs.readFileSync(r.ledgerPath, 'utf8');
    expect(text).not.toContain(PAN);
    for (const line of text.trim().split('\n')) expect(findSensitive(JSON.parse(line))).toBeNull();
  });

  it('cuts a torn last line on reopen and refuses a corrupt middle line', () => {
    const dir = tmpDir('torn');
    const file = path.join(dir, 'l.jsonl');
    const l = Ledger.open(nodeStorage, file);
    l.append({ kind: 'batch-end', terminalId: 'T', batch: '000001', records: 0 }, new Date(0));
    l.close();
    fs.appendFileSync(file, '{"seq":2,"kind":"batch-e');
    const reopened = Ledger.open(nodeStorage, file);
    expect(reopened.entries).toHaveLength(1);
    reopened.append({ kind: 'batch-end', terminalId: 'T', batch: '000002', records: 0 }, new Date(0));
    reopened.close();
    expect(readLedgerFile(nodeStorage, file).map((e) => e.seq)).toEqual([1, 2]);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"seq":1', '"seq":7'));
    expect(() => Ledger.open(nodeStorage, file)).toThrow(LedgerCorruptError);
  });
});

describe('void, refund, pre-authorization, balance', () => {
  it('void (撤销) credits the sale once; refund (退货) up to the amount; balance follows', async () => {
    const r = await open();
    const sale1 = await r.link.exchange(request('sale', '000002', '000000010000'));
    const sale2 = await r.link.exchange(request('sale', '000003', '000000020000'));
    const rrn2 = sale2.kind === 'response' ? textField(sale2.message, 37)! : '';
    expect(code(sale1)).toBe('00');
    const voidIt = (stan: string) =>
      r.link.exchange(request('void', stan, '000000010000', { original: { batch: BATCH, stan: '000002' }, originalRrn: '000000000000' }));
    expect(code(await voidIt('000004'))).toBe('00');
    expect(code(await voidIt('000005'))).toBe('25');
    const refund = (stan: string, amount: string) =>
      r.link.exchange(request('refund', stan, amount, { originalRrn: rrn2, original: { batch: '000000', stan: '000000', date: '0315' } }));
    expect(code(await refund('000006', '000000015000'))).toBe('00');
    expect(code(await refund('000007', '000000006000'))).toBe('13');
    const balance = await r.link.exchange(request('balance', '000008', undefined));
    expect(balance.kind === 'response' && textField(balance.message, 54)).toBe('1002156C000009995000');
    expect(ledgerReport(r.host.state.entries).cards[0]).toMatchObject({ debited: 30000, voided: 10000, refunded: 15000, net: 5000 });
  });

  it('pre-authorization holds, completion debits, preauth void after completion is refused', async () => {
    const r = await open();
    expect(code(await r.link.exchange(request('preauth', '000002', '000000030000')))).toBe('00');
    const completion = request('preauth-completion', '000003', '000000025000', { original: { batch: BATCH, stan: '000002', date: '0315' }, originalAuthCode: '000002' });
    expect(code(await r.link.exchange(completion))).toBe('00');
    const pvoid = request('preauth-void', '000004', '000000030000', { original: { batch: BATCH, stan: '000002' } });
    expect(code(await r.link.exchange(pvoid))).toBe('25');
    expect(ledgerReport(r.host.state.entries).cards[0]).toMatchObject({ debited: 25000, net: 25000 });
  });
});

describe('settlement (结算)', () => {
  const totals = (debitAmount: bigint, debitCount: number) => ({ debitAmount, debitCount, creditAmount: 0n, creditCount: 0 });
  const result = (res: ExchangeResult) => (res.kind === 'response' ? parseField48Totals(res.message).result : undefined);

  it('balanced totals answer 1; unbalanced answer 2, then batch upload and batch end are recorded', async () => {
    const r = await open();
    await r.link.exchange(request('sale', '000002', '000000001000'));
    await r.link.exchange(request('sale', '000003', '000000002000'));
    expect(result(await r.link.exchange(settlementRequest(ID, '000004', BATCH, totals(3000n, 2))))).toBe('1');
    expect(result(await r.link.exchange(settlementRequest(ID, '000005', BATCH, totals(1000n, 1))))).toBe('2');
    const upload = batchUploadRequest(ID, '000006', BATCH, {
      pan: PAN,
      processingCode: '000000',
      amount: '000000001000',
      rrn: '000000000002',
      original: { batch: BATCH, stan: '000002' },
    });
    expect(code(await r.link.exchange(upload))).toBe('00');
    expect(code(await r.link.exchange(batchEndRequest(ID, '000007', BATCH, 1)))).toBe('00');
    expect(r.host.state.entries.map((e) => e.kind).slice(-4)).toEqual(['settlement', 'settlement', 'batch-upload', 'batch-end']);
  });
});

describe('hostile input', () => {
  it('a request with a bad MAC is answered A0 and debits nothing', async () => {
    const r = await open();
    r.link.setMacKey(SecretKey.fromHex('00112233445566778899AABBCCDDEEFF'));
    const res = await r.link.exchange(request('sale', '000002', '000000000100'));
    expect(res.kind === 'response' && textField(res.message, 39)).toBe('A0');
    expect(r.host.state.entries.filter((e) => e.kind === 'authorization')).toHaveLength(0);
  });

  it('an oversized frame closes only that connection; the host keeps serving', async () => {
    const r = await open();
    const raw = net.connect(r.server.port, '127.0.0.1');
    const closed = new Promise<void>((ok) => raw.on('close', () => ok()));
    raw.on('error', () => undefined);
    raw.write(Buffer.from([0xff, 0xf0, 0x60, 0, 0]));
    await closed;
    expect(code(await r.link.exchange(request('sale', '000002', '000000000100')))).toBe('00');
  });
});

/** The MAC key the rig's link signed on with, recovered the way the host does: from the ledger. */
function sessionMak(r: Rig): SecretKey {
  const signOn = readLedgerFile(nodeStorage, r.ledgerPath).find((e) => e.kind === 'sign-on');
  if (signOn?.kind !== 'sign-on') throw new Error('no sign-on in ledger');
  return unwrapWorkingKeys(TMK, Buffer.from(signOn.wrappedKeys, 'base64')).mac;
}

describe('fsync failure', () => {
  it('is fatal: the host answers nothing and the ledger refuses every later append', async () => {
    const dir = tmpDir('fsync');
    let failSync = false;
    const storage: Storage = {
      ...nodeStorage,
      open(p, mode) {
        const f = nodeStorage.open(p, mode);
        return {
          path: f.path,
          size: () => f.size(),
          read: (buf, offset, length, position) => f.read(buf, offset, length, position),
          write: (buf, position) => f.write(buf, position),
          datasync() {
            if (failSync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
            f.datasync();
          },
          sync: () => f.sync(),
          truncate: (n) => f.truncate(n),
          close: () => f.close(),
        };
      },
    };
    const ledger = Ledger.open(storage, path.join(dir, 'l.jsonl'));
    ledger.append({ kind: 'batch-end', terminalId: 'T', batch: '000001', records: 0 }, new Date(0));
    failSync = true;
    expect(() => ledger.append({ kind: 'batch-end', terminalId: 'T', batch: '000002', records: 0 }, new Date(0))).toThrow(/EIO/);
    failSync = false;
    expect(() => ledger.append({ kind: 'batch-end', terminalId: 'T', batch: '000003', records: 0 }, new Date(0))).toThrow(/EIO/);
    ledger.close();
  });
});
