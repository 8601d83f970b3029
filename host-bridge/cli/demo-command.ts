// `posj demo` — what `npm start` runs until the terminal daemon lands: a power-cut drill on a real journal
// under ./var. A child process appends realistic sales and is SIGKILLed at random moments; after each kill
// the journal is read back and every promise it made is checked; then it is verified and summarised.
import * as path from 'node:path';
import { Command } from 'commander';
import { action, ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { positiveInt } from '../../firmware-ts/cli/journal-commands.js';
import { loadOrCreateDeviceKey } from '../../firmware-ts/journal/device-key.js';
import { killDrill } from '../../firmware-ts/journal/kill-drill.js';
import { verifyJournal } from '../../firmware-ts/journal/verify.js';
import { createRng } from '../terminal-sim/rng.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('power-cut drill on a real journal: append sales in a child, SIGKILL it, check every acknowledged record survived')
    .option('--dir <path>', 'where to keep the journal and its device key', './var')
    .option('--kills <n>', 'how many times to kill the writer', positiveInt, 12)
    .option('--seed <n>', 'seed for the kill moments', positiveInt, 1)
    .option('--json', 'print one JSON object')
    .action(
      action(async (o: { dir: string; kills: number; seed: number; json?: boolean }) => {
        const dir = path.resolve(o.dir, 'journal');
        const keyPath = path.resolve(o.dir, 'journal.key');
        loadOrCreateDeviceKey(keyPath, dir);
        const rng = createRng(o.seed);
        const log = (line: string) => !o.json && process.stdout.write(line + '\n');
        log(`journal ${dir} (device key ${keyPath})`);
        let survived = 0;
        let lost = 0;
        const violations: string[] = [];
        for (let k = 1; k <= o.kills; k++) {
          const r = await killDrill({ dir, keyPath, afterBatches: 20 + rng.int(400), seed: rng.u32(), segmentBytes: 1 << 20 });
          survived += r.survivedAcked;
          lost += r.lostUnacked;
          violations.push(...r.violations);
          log(
            `kill ${String(k).padStart(2)}: ${r.begun} batches begun, ${r.survivedAcked} acknowledged and intact, unacknowledged: ${r.keptUnacked} kept whole, ${r.lostUnacked} lost whole` +
              (r.tornTailBytesAtOpen ? `, ${r.tornTailBytesAtOpen} torn bytes cut at open` : '') +
              (r.violations.length ? `  VIOLATION: ${r.violations.join('; ')}` : ''),
          );
        }
        const v = verifyJournal(dir, { deviceKey: loadOrCreateDeviceKey(keyPath, dir) });
        const ok = violations.length === 0 && !v.corrupt && !v.tampered;
        const summary = { dir, kills: o.kills, acknowledgedIntact: survived, unacknowledgedLost: lost, violations, records: v.records, segments: v.segments, corrupt: v.corrupt, tampered: v.tampered, ok };
        if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else {
          log(`journal: ${v.records} records in ${v.segments} segments, chain ${v.chainChecked ? 'checked' : 'not checked'}, ${v.corrupt || v.tampered ? 'DAMAGED' : 'clean'}`);
          log(ok ? 'ok: every acknowledged record survived every kill' : `FAILED: ${violations.length} violations`);
          log(`inspect it: node dist/firmware-ts/cli/posj.js journal stat ${path.relative(process.cwd(), dir)}`);
        }
        return ok ? ExitCode.ok : ExitCode.failed;
      }),
    );
}
