// A journal whose open work was sent as one terminal, booted under a config naming another (a journal copied
// between terminals, a typo, a terminalId given twice in the config): the tester's run sent the owed
// reversal as the new terminal, the acquirer answered 00 for a sale it could not find, and the debit stood
// while the terminal said the reversal was done. Now posj run refuses that config, naming the terminal and
// the STANs, and leaves the reversal owed; under its own terminalId it boots as before.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { tmpDir } from '../helpers/tmp.js';
import { Child, POSJ, journalRecords, killAll, posj, requireDist, startAcquirer, startDaemon, writeDaemonConfig } from '../helpers/kill-rig.js';

afterAll(killAll);

describe('posj run and a journal of another terminal', () => {
  it('refuses a terminalId other than the one its owed reversal was sent as, and changes nothing', async () => {
    requireDist();
    const dir = tmpDir('terminal-id');
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, JSON.stringify({ rules: [{ when: { mti: '0200' }, then: { action: 'drop-reply' } }, { when: { mti: '0400' }, then: { action: 'decline', code: '96' } }, { when: { mti: '0401' }, then: { action: 'decline', code: '96' } }] }));
    const acquirer = await startAcquirer({ ledger: path.join(dir, 'ledger.jsonl'), rules });
    const cfg = writeDaemonConfig({ dir, acquirerPort: acquirer.port });
    const daemon = await startDaemon(cfg.file);
    const sale = await posj(['sale', '44.44', '--socket', cfg.socketPath]);
    expect(sale.status, sale.stdout + sale.stderr).toBe(5);
    daemon.proc.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    const intent = journalRecords(cfg.journalDir).find((r) => r.type === 'auth.intent')!;
    expect((intent.payload as { reversalImage: Record<string, string> }).reversalImage['41']).toBe('87654321');
    const before = journalRecords(cfg.journalDir).length;

    const other = JSON.parse(fs.readFileSync(cfg.file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(cfg.file, JSON.stringify({ ...other, terminalId: '22222222' }));
    const refused = new Child(spawn(process.execPath, [POSJ, 'run', '--config', cfg.file]), 'stderr');
    const exit = await refused.exited;
    const said = refused.lines.join('\n');
    expect(exit.code, said).toBe(2);
    expect(said).toContain('config key "terminalId": 22222222 is not the terminal this journal\'s owed reversals were sent as (terminal 87654321: STAN 000002');
    expect(journalRecords(cfg.journalDir).length).toBe(before);
    const owed = await posj(['journal', 'stat', cfg.journalDir, '--json']);
    expect(JSON.parse(owed.stdout).state.stuckReversals + JSON.parse(owed.stdout).state.pendingReversals).toBe(1);

    // Its own terminalId again: it boots, and the reversal is still owed.
    fs.writeFileSync(cfg.file, JSON.stringify(other));
    const back = await startDaemon(cfg.file);
    const reversals = await posj(['reversals', '--json', '--socket', cfg.socketPath]);
    expect(reversals.stdout).toContain('"stan":2');
    back.proc.kill('SIGTERM');
    await back.exited;
    acquirer.child.proc.kill('SIGTERM');
  }, 90_000);
});
