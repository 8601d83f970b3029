// The posj-bridge acquirer and ledger commands, run in-process through commander with captured stdout.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signOn } from '../../firmware-ts/acquirer/index.js';
import { reversalRequest, textField } from '../../protocol/iso8583/index.js';
import { registerAcquirerCommand } from '../../host-bridge/cli/acquirer-command.js';
import { registerLedgerCommand } from '../../host-bridge/cli/ledger-command.js';
import { tmpDir } from '../helpers/tmp.js';
import { BATCH, ID, linkTo, request, TMK } from './harness.js';

function program(): Command {
  const p = new Command('posj-bridge').exitOverride();
  registerAcquirerCommand(p);
  registerLedgerCommand(p);
  return p;
}

function captureStdout(): { lines: () => string[]; restore: () => void } {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  return { lines: () => out.split('\n').filter(Boolean), restore: () => spy.mockRestore() };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('posj-bridge acquirer + ledger', () => {
  it('serves over TCP with rules from a file, then the ledger command reports the net position', async () => {
    const dir = tmpDir('cli');
    const ledger = path.join(dir, 'acq.jsonl');
    const rules = path.join(dir, 'rules.json');
    // Step 0 is the sign-on, step 1 the first sale: its reply is dropped after the debit.
    fs.writeFileSync(rules, JSON.stringify({ script: [null, { action: 'drop-reply' }], rules: [{ when: { amount: 777 }, then: { action: 'decline', code: '51' } }] }));
    const out = captureStdout();
    try {
      const running = program().parseAsync(['acquirer', '--port', '0', '--ledger', ledger, '--rules', rules, '--json'], { from: 'user' });
      await vi.waitFor(() => expect(out.lines()[0]).toContain('listening'));
      const port = (JSON.parse(out.lines()[0]!) as { port: number }).port;

      const link = linkTo(port, []);
      expect((await signOn(link, TMK, ID, '000001', BATCH)).kind).toBe('signed-on');
      const lost = request('sale', '000002', '000000004000');
      expect((await link.exchange(lost)).kind).toBe('timeout');
      expect((await link.exchange(reversalRequest(lost, '98', false))).kind).toBe('response');
      const kept = await link.exchange(request('sale', '000003', '000000001500'));
      expect(kept.kind === 'response' && textField(kept.message, 39)).toBe('00');
      const declined = await link.exchange(request('sale', '000004', '000000000777'));
      expect(declined.kind === 'response' && textField(declined.message, 39)).toBe('51');
      link.close();

      process.emit('SIGINT');
      await running;
      expect(process.exitCode).toBe(0);
      const events = out.lines().map((l) => JSON.parse(l) as { event: string; action?: string });
      expect(events.filter((e) => e.event === 'request').map((e) => e.action)).toEqual(['approve', 'drop-reply', 'approve', 'approve', 'decline']);
    } finally {
      out.restore();
    }

    const report = captureStdout();
    try {
      await program().parseAsync(['ledger', ledger, '--json'], { from: 'user' });
      await program().parseAsync(['ledger', ledger], { from: 'user' });
    } finally {
      report.restore();
    }
    const [json, ...table] = report.lines();
    expect(JSON.parse(json!).cards).toEqual([{ card: '621214*********0006', debited: 5500, reversed: 4000, voided: 0, refunded: 0, net: 1500 }]);
    expect(table.join('\n')).toMatch(/621214\*{9}0006\s+55\.00\s+40\.00\s+0\.00\s+0\.00\s+15\.00/);
  });

  it('rejects a rules file with an unknown action, naming where', async () => {
    const dir = tmpDir('cli-rules');
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, JSON.stringify({ rules: [{ when: {}, then: { action: 'explode' } }] }));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program().parseAsync(['acquirer', '--port', '0', '--ledger', path.join(dir, 'l.jsonl'), '--rules', rules], { from: 'user' });
      expect(process.exitCode).toBe(2);
      expect(String(err.mock.calls[0]?.[0])).toMatch(/\$\.rules\[0\]\.then: action must be one of/);
    } finally {
      err.mockRestore();
    }
  });
});
