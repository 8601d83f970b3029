// `posj boot --slots DIR [--max-boots N] -- ARGS...`: the launcher the terminal's init runs (a systemd
// unit, firmware-ts/firmware/posj.service; or an Android service). Before each start it counts the boot
// of a slot under test and, after N boots that never confirmed, goes back to the last confirmed slot by
// itself (boot-control.ts); then it runs `node SLOT/posj.mjs ARGS` with POSJ_SLOT set. A daemon that asks
// for a reboot (exit 75) or dies is started again; a clean stop (exit 0, or SIGTERM to the launcher) ends it.
// A slot under test also has a deadline (--confirm-within): a build that hangs at startup never exits, so
// counting its boots would never roll it back; past the deadline unconfirmed, the launcher stops it and
// boots the confirmed slot, and says so in its log and in state.json (`rolledBack.reason`, read by hello).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../protocol/io/clock.js';
import { decideBoot, failTrial } from '../firmware/boot-control.js';
import { readSlotState } from '../firmware/slot-state.js';
import { nodeStorage } from '../io/node-storage.js';
import { action, ExitCode } from './exit-codes.js';
import { positiveInt } from './journal-commands.js';

/** Pause before restarting a daemon that died, so a crash loop does not spin. */
const RESTART_PAUSE_MS = 1000;

/**
 * Seconds a slot under test has to confirm itself by default. A healthy boot confirms after the journal's
 * verify, the engine's boot and the replay of owed reversals, each bounded by its own timeouts (seconds on a
 * terminal); 90 s leaves room for a slow disk and an acquirer that does not answer.
 */
export const CONFIRM_WITHIN_S = 90;

/**
 * After SIGTERM, how long a slot that missed its deadline may take to stop before SIGKILL. It has taken no
 * sale (the control socket opens only after the confirmation), and the journal survives a kill anyway.
 */
const OVERDUE_KILL_GRACE_MS = 5000;

export function registerBootCommand(program: Command): void {
  program
    .command('boot')
    .description('launcher: start the daemon from the active A/B slot, count boots of a slot under test, roll back after --max-boots')
    .requiredOption('--slots <dir>', 'the slots directory (a/, b/, state.json)')
    .option('--max-boots <n>', 'boots of a slot under test without a confirmation before rolling back', positiveInt, 3)
    .option('--confirm-within <s>', 'seconds a slot under test has to confirm itself; past that it is stopped and the confirmed slot booted', positiveInt, CONFIRM_WITHIN_S)
    .argument('[args...]', 'arguments for the slot\'s posj (e.g. run --config /etc/posj/config.json)')
    .action(
      action(async (args: string[], o: { slots: string; maxBoots: number; confirmWithin: number }) => {
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
          const exited = new Promise<number>((resolve) => child!.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1))));
          const trial = d.state.trying?.slot === d.slot ? watchTrial(o.slots, d.slot, d.state.confirmed, o.confirmWithin, child, line) : null;
          const code = await exited;
          trial?.cancel();
          child = null;
          line('daemon-exit', { slot: d.slot, code });
          if (trial?.overdue()) {
            // Written before the next decideBoot, so that boot is the confirmed slot's.
            const rb = failTrial(nodeStorage, o.slots, d.slot);
            if (rb) line('boot-rollback', { from: rb.from, boots: rb.boots, to: d.state.confirmed, reason: rb.reason });
            if (stopping) return ExitCode.ok;
            continue;
          }
          if (stopping || code === ExitCode.ok) return ExitCode.ok;
          if (code !== ExitCode.reboot) await new Promise((r) => systemClock.setTimer(RESTART_PAUSE_MS, () => r(undefined)));
          if (stopping) return ExitCode.ok;
        }
      }),
    );
}

type LogLine = (event: string, fields: Record<string, unknown>) => void;

/**
 * The deadline of one boot of a slot under test: when it passes and state.json still names the slot under
 * test, the child is stopped (SIGTERM, then SIGKILL after a grace) and `overdue()` turns true.
 */
function watchTrial(slotsDir: string, slot: string, confirmed: string, withinS: number, child: ReturnType<typeof spawn>, line: LogLine): { cancel(): void; overdue(): boolean } {
  let overdue = false;
  let kill: { cancel(): void } | null = null;
  const deadline = systemClock.setTimer(withinS * 1000, () => {
    let stillTrying: boolean;
    try {
      stillTrying = readSlotState(nodeStorage, slotsDir).trying?.slot === slot;
    } catch (e) {
      // An unreadable state.json is decideBoot's to report at the next boot; this child keeps running.
      line('trial-deadline-unchecked', { slot, error: (e as Error).message });
      return;
    }
    if (!stillTrying) return;
    overdue = true;
    line('trial-deadline', { slot, within: `${withinS}s`, action: `stopping-it-and-booting-${confirmed}`, detail: `"slot ${slot} did not confirm itself within ${withinS} s of its start (hung at startup?)"` });
    child.kill('SIGTERM');
    kill = systemClock.setTimer(OVERDUE_KILL_GRACE_MS, () => child.kill('SIGKILL'));
  });
  return {
    cancel: () => {
      deadline.cancel();
      kill?.cancel();
    },
    overdue: () => overdue,
  };
}
