// Dispute evidence from the journal: an approved sale, a sale whose reply was lost and was reversed, and
// one whose reversal is stuck — each with its messages, response codes, reversal attempts and receipts,
// in NDJSON, CSV and a bilingual HTML 交易凭证; never a full PAN. Then the CLI on a real journal, and the
// same export from the terminal over its service port.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { systemClock } from '../../protocol/io/clock.js';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { buildEvidence, renderPrintedCopies, selectEvidence } from '../../firmware-ts/evidence/evidence.js';
import { jobPaperText } from '../../protocol/escpos/page-text.js';
import { toCsv, toHtml, toNdjson } from '../../firmware-ts/evidence/evidence-format.js';
import { findPanLikeRun } from '../../firmware-ts/pci/card-data.js';
import { embeddedConfig, SIMULATED_PAN, startSimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { JournalService } from '../../firmware-ts/service/journal-service.js';
import { EngineRig, JOURNAL_DIR } from '../txn/engine-rig.js';
import { ID, PAN } from '../acquirer/harness.js';
import { createPtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const BRIDGE = path.resolve('dist/host-bridge/cli/posj-bridge.js');

const stanOf = (r: { kind: string }) => ('stan' in r ? (r.stan as number) : -1);

async function threeOutcomes() {
  const rig = new EngineRig({ rules: [{ when: { amount: 6_660, mti: '0200' }, then: { action: 'drop-reply' } }] });
  const engine = await rig.start({ attemptsPerRound: 2 });
  await rig.run(engine.boot());
  const approved = await rig.run(engine.sale(1_250));
  const reversed = await rig.run(engine.sale(6_660));
  // The host debits and the reply is lost, then it answers every reversal 96 (did not act): stuck.
  rig.loseReplyAndIgnoreReversals(4_200);
  const stuck = await rig.run(engine.sale(4_200));
  return { rig, engine, approved, reversed, stuck };
}

describe('evidence from the journal', () => {
  it('approved, reversed and stuck: messages, response codes, reversal attempts and receipts', async () => {
    const { rig, approved, reversed, stuck } = await threeOutcomes();
    expect([approved.kind, reversed.kind, stuck.kind]).toEqual(['approved', 'reversed', 'reversed']);
    const all = buildEvidence(rig.records());
    const one = (stan: number) => selectEvidence(all, { stan })[0]!;
    const a = one(stanOf(approved));
    expect(a).toMatchObject({ status: 'approved', amount: 1_250, kind: 'sale', reversal: null });
    expect(a.messages.map((m) => [m.mti, m.responseCode])).toEqual([['0200', undefined], ['0210', '00']]);
    expect(a.receipts.length).toBeGreaterThan(0);
    expect(selectEvidence(all, { rrn: a.rrn! })).toEqual([a]);

    const r = one(stanOf(reversed));
    expect(r.status).toBe('reversed');
    expect(r.reversal).toMatchObject({ reason: 'no reply (98)', result: 'cleared', attempts: 1 });
    expect(r.messages.map((m) => m.mti)).toEqual(['0200', '0400', '0410']);
    expect(r.messages[2]!.responseCode).toBe('00');
    expect(r.receipts).toEqual([]);

    const s = one(stanOf(stuck));
    expect(s.status).toBe('reversal-stuck');
    expect(s.reversal).toMatchObject({ result: 'stuck', attempts: 2 });
    expect(s.messages.map((m) => m.mti)).toEqual(['0200', '0400', '0401']);

    const outputs = [toNdjson(all, 'ok'), toCsv(all, 'ok'), toHtml(all, { exportedAt: '2026-12-01T10:00:00Z', journalCheck: 'ok', terminalId: '12345678' })];
    for (const text of outputs) {
      expect(findPanLikeRun(text)).toBe(-1);
      expect(text).not.toContain(PAN);
      expect(text).toContain(a.maskedPan);
    }
    expect(toNdjson(all, 'ok').trim().split('\n')).toHaveLength(3);
    expect(toCsv(all, 'ok').split('\r\n')[0]).toBe('batch,stan,kind,amount,currency,maskedPan,entryMode,requestedAt,rrn,authCode,status,reversal,reversalAttempts,messages,journalCheck');
    const html = outputs[2]!;
    for (const words of ['交易凭证', 'Transaction record', '已冲正 Reversed', '冲正失败 Reversal stuck', '参考号', 'RRN', '应答码 Response', '@media print']) expect(html).toContain(words);
    // Without the merchant identity the receipts are listed but not re-rendered, and the page says why.
    expect(a.receipts.every((c) => c.paper === null)).toBe(true);
    expect(html).toContain('The receipts are not re-rendered');
  });

  it('each receipt re-rendered exactly as it came out of the printer, the reprint with its 重打印 mark', async () => {
    const { rig, engine, approved } = await threeOutcomes();
    const stan = stanOf(approved);
    const reprint = await rig.run(engine.reprint({ stan }));
    expect(reprint.kind).toBe('printed');
    const [first, again] = rig.printer.jobs.flatMap((id, i) => (new RegExp(`^slip-\\d+-${stan}(-dup)?$`).test(id) ? [rig.printer.printedBytes[i]!] : []));
    expect(again).toBeDefined();

    const all = buildEvidence(rig.records());
    renderPrintedCopies(all, { name: 'Test Shop', ...ID });
    const e = selectEvidence(all, { stan })[0]!;
    expect(e.receipts.map((c) => c.duplicate === true)).toEqual([false, true]);
    // The paper the evidence shows is the paper the printer got: the same job through the same decoder.
    expect(e.receipts[0]!.paper).toEqual(jobPaperText(first!));
    expect(e.receipts[1]!.paper).toEqual(jobPaperText(again!));
    const [merchantCopy, customerCopy] = e.receipts[0]!.paper!;
    for (const want of ['Test Shop', ID.merchantId, ID.terminalId, e.maskedPan, e.rrn!, '12.50']) expect(merchantCopy).toContain(want);
    expect(customerCopy).not.toContain('重打印');
    expect(e.receipts[1]!.paper![0]).toContain('重打印');
    const html = toHtml(all, { exportedAt: '2026-12-01T10:00:00Z', journalCheck: 'ok' });
    expect(html).toContain('Receipts as printed');
    expect(html).toContain(`<pre class="paper">`);
    // The paper carries the merchant ID (15 digits, which may pass Luhn) as the printed slip does; no card number.
    expect(html).not.toContain(PAN);
    expect(findPanLikeRun(html.replaceAll(ID.merchantId, ''))).toBe(-1);
  });

  it('over the service port an export comes in parts of one export: a later part of an older one is refused', async () => {
    const { rig } = await threeOutcomes();
    const service = new JournalService({ storage: rig.disk, journalDir: JOURNAL_DIR, deviceKeyFile: '/nonexistent.key', merchant: { terminalId: ID.terminalId, merchantId: ID.merchantId, merchantName: 'Test Shop' } });
    const now = new Date('2026-12-01T10:00:00Z');
    const query = { format: 'html', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
    const first = service.export(query, now);
    const parts = Number(first.head.parts);
    const pieces = [first.body];
    for (let part = 1; part < parts; part++) pieces.push(service.export({ ...query, part, exportId: first.head.exportId }, now).body);
    const joined = Buffer.concat(pieces);
    expect(createHash('sha256').update(joined).digest('hex')).toBe(first.head.sha256);
    expect(inflateRawSync(joined).toString()).toContain('Receipts as printed');
    expect(first.head).toMatchObject({ transactions: 3, part: 0 });
    expect(() => service.export({ ...query, part: parts, exportId: first.head.exportId }, now)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    const again = service.export(query, now);
    expect(again.head.exportId).not.toBe(first.head.exportId);
    expect(() => service.export({ ...query, part: 1, exportId: first.head.exportId }, now)).toThrow(expect.objectContaining({ code: 'EXPORT_EXPIRED' }));
  });

  it('posj journal export on a real journal, and the same from the terminal over its service port', async () => {
    const dir = tmpDir('export');
    const pty = await createPtyPair();
    const bench = generateKeyPairSync('ed25519');
    fs.writeFileSync(path.join(dir, 'paired.pem'), bench.publicKey.export({ format: 'pem', type: 'spki' }));
    fs.writeFileSync(path.join(dir, 'bench.pem'), bench.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const config = { ...embeddedConfig(path.join(dir, 'var')), servicePort: { path: pty.a, baud: 115_200, pairedKeysFile: path.join(dir, 'paired.pem') } };
    const sim = await startSimulatedDaemon({ config, log: lineLog(() => undefined, systemClock) });
    try {
      const sale = await controlCall(sim.daemon.socketPath, { op: 'sale', amount: 1_250 });
      sim.host!.rules = { ...sim.host!.rules, rules: [{ when: { amount: 6_660, mti: '0200' }, then: { action: 'drop-reply' } }] };
      const lost = await controlCall(sim.daemon.socketPath, { op: 'sale', amount: 6_660 });
      expect(sale.ok && lost.ok).toBe(true);
      const stan = (lost as { result: { stan: number } }).result.stan;
      const html = path.join(dir, 'evidence.html');
      const r = spawnSync(process.execPath, [POSJ, 'journal', 'export', config.journalDir, '--stan', String(stan), '--format', 'html', '--out', html, '--terminal-id', '12345678'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const page = fs.readFileSync(html, 'utf8');
      // The example config names another shop: its identity, not the journal's, heads the receipt.
      const configFile = path.resolve('docs/posj.example.jsonc');
      const saleStan = (sale as { result: { stan: number } }).result.stan;
      const withConfig = spawnSync(process.execPath, [POSJ, 'journal', 'export', config.journalDir, '--stan', String(saleStan), '--config', configFile], { encoding: 'utf8' });
      expect(withConfig.status, withConfig.stderr).toBe(0);
      const printed = JSON.parse(withConfig.stdout.trim()).receipts[0].paper[0] as string;
      for (const want of ['EXAMPLE SHOP', '12.50']) expect(printed).toContain(want);
      const badConfig = spawnSync(process.execPath, [POSJ, 'journal', 'export', config.journalDir, '--stan', String(saleStan), '--config', path.join(dir, 'missing.json')], { encoding: 'utf8' });
      expect(badConfig.status).toBe(2);
      expect(badConfig.stderr).toContain('missing.json');
      expect(page).toContain('已冲正 Reversed');
      expect(page).toContain('MAC chain verified under the device key');
      expect(page).not.toContain(SIMULATED_PAN);
      const csv = spawnSync(process.execPath, [POSJ, 'journal', 'export', config.journalDir, '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z', '--format', 'csv'], { encoding: 'utf8' });
      expect(csv.status).toBe(0);
      expect(csv.stdout.trim().split('\r\n')).toHaveLength(3);
      const none = spawnSync(process.execPath, [POSJ, 'journal', 'export', config.journalDir, '--rrn', '000000000000'], { encoding: 'utf8' });
      expect(none.status).toBe(1);
      const both = spawnSync(process.execPath, [POSJ, 'journal', 'export', config.journalDir, '--rrn', '1', '--stan', '1'], { encoding: 'utf8' });
      expect(both.status).toBe(2);

      const remote = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BRIDGE, 'journal', 'export', '--port', pty.b, '--key', path.join(dir, 'bench.pem'), '--stan', String(stan), '--format', 'ndjson']);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      expect(remote.status, remote.stderr).toBe(0);
      const ev = JSON.parse(remote.stdout.trim());
      expect(ev).toMatchObject({ stan, status: 'reversed', amount: 6_660 });
      const remoteSale = await new Promise<string>((resolve) => {
        const child = spawn(process.execPath, [BRIDGE, 'journal', 'export', '--port', pty.b, '--key', path.join(dir, 'bench.pem'), '--stan', String(saleStan), '--format', 'ndjson']);
        let stdout = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.on('close', () => resolve(stdout));
      });
      // The terminal knows its own identity: over the service port the receipt comes back as printed.
      expect(JSON.parse(remoteSale.trim()).receipts[0].paper[0]).toContain(config.merchantName);

      // A day's evidence is larger than one service-port answer: it comes in parts, joined and checked.
      for (let i = 0; i < 60; i++) expect((await controlCall(sim.daemon.socketPath, { op: 'sale', amount: 100 + i })).ok).toBe(true);
      const range = ['--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z', '--format', 'ndjson'];
      const day = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BRIDGE, 'journal', 'export', '--port', pty.b, '--key', path.join(dir, 'bench.pem'), ...range]);
        child.stdout.setEncoding('utf8'); // a CJK character may straddle two chunks
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      expect(day.status, day.stderr).toBe(0);
      const local = spawnSync(process.execPath, [POSJ, 'journal', 'export', config.journalDir, ...range, '--merchant-name', config.merchantName, '--merchant-id', config.merchantId, '--terminal-id', config.terminalId], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect(local.status).toBe(0);
      expect(day.stdout.trim().split('\n')).toHaveLength(62);
      expect(day.stdout).toBe(local.stdout);
      expect(deflateRawSync(Buffer.from(day.stdout)).length).toBeGreaterThan(3840); // more than one part
    } finally {
      await sim.daemon.stop();
      await pty.close();
    }
  });
});
