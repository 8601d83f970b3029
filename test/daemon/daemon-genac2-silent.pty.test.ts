// GEN AC2 left unanswered after the host approved, over real serial lines through `posj run`: the daemon
// is its own process with the real card-reader driver on a socat pty, the reader simulator
// (`posj-bridge sim reader`, its own process) on the other end told to ACK the second GENERATE AC and never
// answer it, the acquirer simulator its own process on loopback TCP. The acquirer approved and debited; the
// card never completed the transaction, so the terminal must reverse it with reason 06, tell the cashier it
// failed (`posj sale` exits 1: failed, not debited once the reversal cleared) and print no sales slip.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { Child, killAll, ledgerEntries, posj, POSJ_BRIDGE, requireDist, startAcquirer, startDaemon, writeDaemonConfig } from '../helpers/kill-rig.js';
import { createPtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

afterAll(killAll);

describe('posj run with the real reader driver on a pty', () => {
  it('the card silent at GEN AC2 after approval: reversal 06 at the acquirer, posj sale exits 1, no slip', async () => {
    requireDist();
    const dir = tmpDir('genac2');
    const ledger = path.join(dir, 'acquirer-ledger.jsonl');
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, JSON.stringify({ rules: [] }));
    const acquirer = await startAcquirer({ ledger, rules });
    const pty = await createPtyPair({ dir });
    const reader = new Child(spawn(process.execPath, [POSJ_BRIDGE, 'sim', 'reader', '--port', pty.b]), 'stderr');
    await reader.waitLine(/attaching to/, 'the reader simulator to attach');
    const cfg = writeDaemonConfig({ dir, acquirerPort: acquirer.port });
    const file = JSON.parse(fs.readFileSync(cfg.file, 'utf8')) as Record<string, unknown>;
    file.reader = { path: pty.a, baud: 115200 };
    fs.writeFileSync(cfg.file, JSON.stringify(file));
    const daemon = await startDaemon(cfg.file);
    try {
      // A chip card with no PIN; the card ACKs every try of the second GENERATE AC and answers none.
      reader.proc.stdin!.write('card mastercard-chip-bypass\n');
      for (let i = 0; i < 3; i++) reader.proc.stdin!.write('on GEN_AC2 no-reply\n');
      const sale = await posj(['sale', '12.50', '--socket', cfg.socketPath, '--json']);
      expect(sale.status, sale.stdout + sale.stderr).toBe(1);
      const told = JSON.parse(sale.stdout) as { kind: string; stan: number; reason: string; reversal: string };
      expect(told).toMatchObject({ kind: 'reversed', reason: '06', reversal: 'cleared' });

      const stan = String(told.stan).padStart(6, '0');
      const entries = ledgerEntries(ledger);
      // The host approved (debited) it, and took its reversal with reason 06.
      expect(entries.filter((e) => e.kind === 'authorization' && (e as { stan: string }).stan === stan)).toHaveLength(1);
      expect(entries.filter((e) => e.kind === 'reversal' && (e as { stan: string }).stan === stan).map((e) => (e as { reason: string }).reason)).toEqual(['06']);

      const status = (await controlCall(cfg.socketPath, { op: 'status' })) as { result: { devices: { printer: { jobsPrinted: number } }; pendingReceipts: number[] } };
      expect(status.result.devices.printer.jobsPrinted).toBe(0);
      expect(status.result.pendingReceipts).toEqual([]);
      // The reader line is sane again: the next sale with the same card completes.
      const next = await posj(['sale', '12.60', '--socket', cfg.socketPath, '--json']);
      expect(next.status, next.stdout + next.stderr).toBe(0);
      await until(() => ((ledgerEntries(ledger).filter((e) => e.kind === 'authorization').length === 2)), 'the second sale at the acquirer', 5000, 20);
    } finally {
      daemon.proc.kill('SIGKILL');
      reader.proc.kill('SIGKILL');
      await pty.close();
    }
  }, 90_000);
});
