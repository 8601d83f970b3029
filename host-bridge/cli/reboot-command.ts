// `posj-bridge reboot --port PATH [--key FILE] [--wait-for S] [--json]`: ask a terminal to reboot over its
// service port (the `reboot` op; a paired bench key) and wait, bounded, for the daemon started after it. A
// slot left under test (`flash --no-reboot`) is booted by that reboot, so the wait goes on until it
// confirmed itself or rolled back — the way to finish a flash sent without a reboot. Exit codes are
// `posj-bridge flash`'s: 0 back (and confirmed), 17 bench not paired, 19 rolled back, 20 not known in time.
import * as fs from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { Command } from 'commander';
import { systemClock } from '../../protocol/io/clock.js';
import { action, ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { positiveInt } from '../../firmware-ts/cli/journal-commands.js';
import { serviceRtoMs, SERVICE_WINDOW } from '../../firmware-ts/service/service-port.js';
import { loadOrCreateSigningKey } from '../bundle/signing-key.js';
import { waitForBoot } from '../service/boot-wait.js';
import { FlashFailed } from '../service/flash-client.js';
import { ServiceClient, ServiceError } from '../service/service-client.js';
import { openServicePort } from '../service/serial-port-path.js';
import { afterWords, bootFailure, helloOnce, WAIT_FOR_S } from './boot-outcome.js';
import { DEV_BENCH_KEY, FLASH_EXIT } from './flash-command.js';

interface RebootCliOptions {
  port: string;
  baud: number;
  key?: string;
  waitFor: number;
  json?: boolean;
}

export function registerRebootCommand(program: Command): void {
  program
    .command('reboot')
    .description('reboot a terminal over its service port and wait for it to come back; a slot under test (flash --no-reboot) is booted and must confirm itself')
    .requiredOption('--port <path>', "the terminal's service port")
    .option('--baud <n>', 'line speed', positiveInt, 115_200)
    .option('--key <file>', `the bench's paired Ed25519 key (default ${DEV_BENCH_KEY})`)
    .option('--wait-for <s>', 'wait this long for the terminal to come back (and a slot under test to confirm itself or roll back)', positiveInt, WAIT_FOR_S)
    .option('--json', 'print one JSON object')
    .action(
      action(async (o: RebootCliOptions) => {
        const key = o.key ? createPrivateKey(fs.readFileSync(o.key)) : loadOrCreateSigningKey(DEV_BENCH_KEY, true).privateKey;
        const port = await openServicePort({ path: o.port, baud: o.baud });
        const say = (words: string) => !o.json && process.stderr.write(`  ${words}\n`);
        const refused = (e: FlashFailed, extra: Record<string, unknown>): number => {
          if (o.json) process.stdout.write(JSON.stringify({ ok: false, ...extra, error: { code: e.code, message: e.message } }) + '\n');
          else process.stderr.write(`posj-bridge reboot: ${e.code}: ${e.message}\n${afterWords(e.code, o.port)}\n`);
          return FLASH_EXIT[e.code];
        };
        try {
          // Who answers before the reboot: its bootId tells its answers from the next daemon's, and a slot
          // it names under test is the one this reboot boots.
          const before = await helloOnce(port, o.baud, 15_000);
          const underTest = before.firmware.trying?.slot ?? null;
          const client = new ServiceClient(port, systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(o.baud) });
          try {
            await client.authenticate(key);
            await client.request({ op: 'reboot' });
          } catch (e) {
            if (e instanceof ServiceError && e.code === 'AUTH_FAILED') return refused(new FlashFailed('FLASH_AUTH_REFUSED', `the terminal refused this bench: ${e.message}`), {});
            throw e;
          } finally {
            client.close();
          }
          say(underTest ? `rebooting; slot ${underTest} is under test: waiting up to ${o.waitFor} s for it to confirm itself` : `rebooting; waiting up to ${o.waitFor} s for the terminal to come back`);
          const booted = await waitForBoot({ hello: () => helloOnce(port, o.baud, 5000), clock: systemClock, waitForMs: o.waitFor * 1000, slot: underTest, rebootedFrom: typeof before.bootId === 'string' ? before.bootId : null, onProgress: say });
          const summary = { rebooted: true, underTest, waitedSeconds: booted.waitedMs / 1000, firmware: booted.hello?.firmware ?? null };
          const failed = bootFailure(booted, underTest ? (booted.hello?.firmware.version ?? null) : null);
          if (failed) return refused(failed, summary);
          const slot = booted.hello?.firmware.runningSlot ?? '?';
          if (o.json) process.stdout.write(JSON.stringify({ ok: true, ...summary, slot, confirmed: true }) + '\n');
          else process.stdout.write(`rebooted in ${(booted.waitedMs / 1000).toFixed(1)} s: the terminal runs slot ${slot}${underTest ? `, which confirmed itself` : ''}\n`);
          return ExitCode.ok;
        } finally {
          await port.close();
        }
      }),
    );
}
