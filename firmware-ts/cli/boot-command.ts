// `posj boot --slots DIR [--max-boots N] -- ARGS...`: the launcher the terminal's init runs (a systemd
// unit, firmware-ts/firmware/posj.service; or an Android service). Before each start it counts the boot
// of a slot under test and, after N boots that never confirmed, goes back to the last confirmed slot by
// itself (boot-control.ts); then it runs `node SLOT/posj.mjs ARGS` with POSJ_SLOT set. A daemon that asks
// for a reboot (exit 75) or dies is started again; a clean stop (exit 0, or SIGTERM to the launcher) ends it.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../protocol/io/clock.js';
import { decideBoot } from '../firmware/boot-control.js';
import { nodeStorage } from '../io/node-storage.js';
import { action, ExitCode } from './exit-codes.js';
import { positiveInt } from './journal-commands.js';

/** Pause before restarting a daemon that died, so a crash loop does not spin. */
const RESTART_PAUSE_MS = 1000;

export function registerBootCommand(program: Command): void {
  program
    .command('boot')
    .description('launcher: start the daemon from the active A/B slot, count boots of a slot under test, roll back after --max-boots')
    .requiredOption('--slots <dir>', 'the slots directory (a/, b/, state.json)')
    .option('--max-boots <n>', 'boots of a slot under test without a confirmation before rolling back', positiveInt, 3)
    .argument('[args...]', 'arguments for the slot\'s posj (e.g. run --config /etc/posj/config.json)')
    .action(
      action(async (args: string[], o: { slots: string; maxBoots: number }) => {
        let stopping = false;
        let child: ReturnType<typeof spawn> | null = null;
        const stop = () => {
          stopping = true;
          child?.kill('SIGTERM');
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        for (;;) {
          const d = decideBoot(nodeStorage, o.slots, o.maxBoots);
          const line = (event: string, fields: Record<string, unknown>) => process.stderr.write(`${new Date(systemClock.now()).toISOString()} ${event} ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
          if (d.rolledBack) line('boot-rollback', { from: d.rolledBack.from, boots: d.rolledBack.boots, to: d.slot });
          line('boot', { slot: d.slot, trying: d.state.trying ? `boot ${d.state.trying.boots} of ${o.maxBoots}` : 'confirmed' });
          child = spawn(process.execPath, [path.join(o.slots, d.slot, 'posj.mjs'), ...args], { stdio: 'inherit', env: { ...process.env, POSJ_SLOT: d.slot } });
          const code = await new Promise<number>((resolve) => child!.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1))));
          child = null;
          line('daemon-exit', { slot: d.slot, code });
          if (stopping || code === ExitCode.ok) return ExitCode.ok;
          if (code !== ExitCode.reboot) await new Promise((r) => systemClock.setTimer(RESTART_PAUSE_MS, () => r(undefined)));
          if (stopping) return ExitCode.ok;
        }
      }),
    );
}
