// What a script reads from the client when it cannot be told the outcome: a daemon killed after it took a
// sale is not "no daemon" (exit 2, which a script may retry into a second charge) but "outcome unknown"
// (exit 5, ask status); and `reversals --send` that leaves a reversal stuck is a failure (exit 1).
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/tmp.js';
import { killAll, ledgerEntries, posj, requireDist, startAcquirer, startDaemon, writeDaemonConfig } from '../helpers/kill-rig.js';
import { until } from '../helpers/wait.js';

afterAll(killAll);

describe('the client when the answer cannot come', () => {
  it('a daemon killed mid-sale: exit 5 and ANSWER_LOST, naming status --last; no daemon at all stays exit 2', async () => {
    requireDist();
    const dir = tmpDir('answer-lost');
    const rules = path.join(dir, 'rules.json');
    const ledger = path.join(dir, 'ledger.jsonl');
    fs.writeFileSync(rules, JSON.stringify({ rules: [{ when: { mti: '0200' }, then: { action: 'approve', delayMs: 3000 } }] }));
    const acquirer = await startAcquirer({ ledger, rules });
    const cfg = writeDaemonConfig({ dir, acquirerPort: acquirer.port });
    const daemon = await startDaemon(cfg.file);
    const sale = posj(['sale', '55.55', '--socket', cfg.socketPath, '--json']);
    await until(() => fs.existsSync(ledger) && ledgerEntries(ledger).some((e) => e.kind === 'authorization'), 'the debit at the acquirer', 10_000);
    daemon.proc.kill('SIGKILL');
    const r = await sale;
    expect(r.status, r.stdout + r.stderr).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'ANSWER_LOST' } });
    expect(JSON.parse(r.stdout).error.message).toContain('posj status --last');

    const noDaemon = await posj(['sale', '1.00', '--socket', cfg.socketPath]);
    // Nobody took this one: that is "no daemon", exit 2, as before.
    expect(noDaemon.status).toBe(2);
    expect(noDaemon.stderr).toContain('no posj daemon answering');
    acquirer.child.proc.kill('SIGTERM');
  }, 60_000);

  it('reversals --send leaving a reversal stuck exits 1', async () => {
    requireDist();
    const dir = tmpDir('send-stuck');
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, JSON.stringify({ rules: [{ when: { mti: '0200' }, then: { action: 'drop-reply' } }, { when: { mti: '0400' }, then: { action: 'decline', code: '96' } }, { when: { mti: '0401' }, then: { action: 'decline', code: '96' } }] }));
    const acquirer = await startAcquirer({ ledger: path.join(dir, 'ledger.jsonl'), rules });
    const cfg = writeDaemonConfig({ dir, acquirerPort: acquirer.port });
    const daemon = await startDaemon(cfg.file);
    expect((await posj(['sale', '44.44', '--socket', cfg.socketPath])).status).toBe(5);
    const sent = await posj(['reversals', '--send', '--json', '--socket', cfg.socketPath]);
    expect(JSON.parse(sent.stdout).stuck).toEqual([2]);
    expect(sent.status).toBe(1);
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    acquirer.child.proc.kill('SIGTERM');
  }, 60_000);
});
