// `posj-bridge flash --port PATH BUNDLE [--json] [--allow-downgrade]`: flash a terminal over its service
// port. BUNDLE is the directory `npm run bundle` wrote (firmware.img + manifest.json). Each way a flash
// can fail has its own exit code, so a lab script can tell them apart. After the reboot it waits for the
// terminal's hello until the new slot confirmed itself or rolled back (boot-wait.ts): exit 0 means the new
// build runs and is confirmed, not merely installed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { systemClock } from '../../protocol/io/clock.js';
import { parseSignedManifest } from '../../protocol/firmware/manifest.js';
import { action, ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { positiveInt } from '../../firmware-ts/cli/journal-commands.js';
import { serviceRtoMs, SERVICE_WINDOW } from '../../firmware-ts/service/service-port.js';
import { loadOrCreateSigningKey } from '../bundle/signing-key.js';
import { afterWords, bootFailure, helloOnce, WAIT_FOR_S } from './boot-outcome.js';
import { waitForBoot } from '../service/boot-wait.js';
import { flash, FlashFailed } from '../service/flash-client.js';
import { ServiceClient } from '../service/service-client.js';
import { openServicePort } from '../service/serial-port-path.js';

export const DEV_BENCH_KEY = path.join('var', 'bench-keys', 'bench-ed25519.pem');

/** One exit code per way a flash fails (0 ok, 2 usage or I/O as everywhere). */
export const FLASH_EXIT: Record<FlashFailed['code'], number> = {
  FLASH_BAD_SIGNATURE: 10,
  FLASH_WRONG_PRODUCT: 11,
  FLASH_DOWNGRADE: 12,
  FLASH_NO_SPACE: 13,
  FLASH_INTERRUPTED: 14,
  FLASH_JOURNAL_INCOMPATIBLE: 15,
  FLASH_BAD_IMAGE: 16,
  FLASH_AUTH_REFUSED: 17,
  /** A slot holds a build still under test (flashed with --no-reboot): reboot the terminal first. */
  FLASH_SLOT_UNDER_TEST: 18,
  /** Installed and rebooted into, but the new build failed its trial: the terminal went back to the old slot. */
  FLASH_ROLLED_BACK: 19,
  /** Rebooted, but within --wait-for the terminal neither confirmed the new slot nor rolled back (or never answered). */
  FLASH_NOT_CONFIRMED: 20,
};

export { untilOpen } from '../service/serial-port-path.js';

export function registerHelloCommand(program: Command): void {
  program
    .command('hello')
    .description("ask a terminal over its service port who it is: terminal ID, firmware version and slot, journal summary (no key needed)")
    .requiredOption('--port <path>', "the terminal's service port")
    .option('--baud <n>', 'line speed', positiveInt, 115_200)
    .option('--json', 'print one JSON object')
    .action(
      action(async (o: { port: string; baud: number; json?: boolean }) => {
        const port = await openServicePort({ path: o.port, baud: o.baud });
        try {
          const hello = await helloOnce(port, o.baud, 30_000);
          process.stdout.write((o.json ? JSON.stringify(hello) : Object.entries(hello).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n')) + '\n');
        } finally {
          await port.close();
        }
      }),
    );
}

interface FlashCliOptions {
  port: string;
  baud: number;
  key?: string;
  json?: boolean;
  allowDowngrade?: boolean;
  retryFor: number;
  reboot: boolean;
  waitFor: number;
}

export function registerFlashCommand(program: Command): void {
  program
    .command('flash')
    .description('flash a terminal over its service port: compressed, windowed, resumable; the terminal verifies size, SHA-256 and signature, then switches slots')
    .argument('<bundle>', 'bundle directory (firmware.img + manifest.json), as npm run bundle writes it')
    .requiredOption('--port <path>', "the terminal's service port (e.g. /dev/serial/by-id/...)")
    .option('--baud <n>', 'line speed', positiveInt, 115_200)
    .option('--key <file>', `the bench's paired Ed25519 key (default ${DEV_BENCH_KEY}, created on first use)`)
    .option('--allow-downgrade', 'flash a version older than the running one')
    .option('--retry-for <s>', 'keep resuming after a lost line for this many seconds', positiveInt, 60)
    .option('--no-reboot', 'install and switch, but do not reboot the terminal (the slot stays under test until posj-bridge reboot)')
    .option('--wait-for <s>', 'after the reboot, wait this long for the new slot to confirm itself or roll back', positiveInt, WAIT_FOR_S)
    .option('--json', 'print one JSON object')
    .action(
      action(async (bundle: string, o: FlashCliOptions) => {
        const manifestBytes = fs.readFileSync(path.join(bundle, 'manifest.json'));
        const image = fs.readFileSync(path.join(bundle, 'firmware.img'));
        const m = parseSignedManifest(manifestBytes).manifest;
        const keyFile = o.key ?? DEV_BENCH_KEY;
        const key = o.key ? createPrivateKey(fs.readFileSync(o.key)) : loadOrCreateSigningKey(keyFile, true).privateKey;
        const port = await openServicePort({ path: o.port, baud: o.baud, log: { info: () => undefined, warn: (msg) => !o.json && process.stderr.write(`\n${msg}\n`) } });
        const bar = o.json ? null : new cliProgress.SingleBar({ format: 'flash {bar} {percentage}% | {value}/{total} bytes | {rate} KB/s | ETA {eta}s', stream: process.stderr }, cliProgress.Presets.shades_classic);
        const started = systemClock.now();
        let barStarted = false;
        const refused = (e: FlashFailed, extra: Record<string, unknown>): number => {
          if (o.json) process.stdout.write(JSON.stringify({ ok: false, ...extra, error: { code: e.code, message: e.message } }) + '\n');
          else process.stderr.write(`posj-bridge flash: ${e.code}: ${e.message}\n${afterWords(e.code, o.port)}\n`);
          return FLASH_EXIT[e.code];
        };
        try {
          const r = await flash({
            connect: async () => {
              const client = new ServiceClient(port, systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(o.baud) });
              return { client, close: async () => client.close() };
            },
            key,
            manifestBytes,
            image,
            allowDowngrade: o.allowDowngrade === true,
            clock: systemClock,
            retryForMs: o.retryFor * 1000,
            reboot: o.reboot,
            onProgress: ({ have, total }) => {
              if (!bar) return;
              if (!barStarted) bar.start(total, have, { rate: '0.0' });
              barStarted = true;
              const s = Math.max(0.001, (systemClock.now() - started) / 1000);
              bar.update(have, { rate: (have / 1024 / s).toFixed(1) });
            },
            onRetry: (e, n) => !o.json && process.stderr.write(`\nline lost (${e.message}); resuming, try ${n + 1}\n`),
          });
          bar?.stop();
          const seconds = (systemClock.now() - started) / 1000;
          const sent = `${r.compressedBytes} bytes on the line for a ${r.imageBytes}-byte image${r.beganAt.length > 1 ? `, resumed at ${r.beganAt.slice(1).join(', ')}` : ''}`;
          const summary = { version: r.version, buildId: m.buildId, slot: r.slot, imageBytes: r.imageBytes, compressedBytes: r.compressedBytes, beganAt: r.beganAt, seconds, rebooted: o.reboot };
          if (!o.reboot) {
            // Installed and switched, not booted: the slot is under test, and only a reboot ends its trial.
            const next = `posj-bridge reboot --port ${o.port}`;
            if (o.json) process.stdout.write(JSON.stringify({ ok: true, ...summary, confirmed: false, underTest: true, next }) + '\n');
            else process.stdout.write(`flashed ${m.version} (${m.buildId}) into slot ${r.slot} in ${seconds.toFixed(1)} s (${sent}); not rebooted (--no-reboot): slot ${r.slot} is under test and the terminal runs its old slot until it reboots. Finish with \`${next}\` (it waits for slot ${r.slot} to confirm itself or roll back); another flash is refused until then\n`);
            return ExitCode.ok;
          }
          if (!o.json) process.stderr.write(`flashed ${m.version} (${m.buildId}) into slot ${r.slot} in ${seconds.toFixed(1)} s (${sent}); rebooting, waiting up to ${o.waitFor} s for slot ${r.slot} to confirm itself\n`);
          const booted = await waitForBoot({
            hello: () => helloOnce(port, o.baud, 5000),
            clock: systemClock,
            waitForMs: o.waitFor * 1000,
            slot: r.slot,
            rebootedFrom: null,
            onProgress: (words) => !o.json && process.stderr.write(`  ${words}\n`),
          });
          const failed = bootFailure(booted, m.version);
          if (failed) return refused(failed, { ...summary, waitedSeconds: booted.waitedMs / 1000, firmware: booted.hello?.firmware ?? null });
          const total = (systemClock.now() - started) / 1000;
          if (o.json) process.stdout.write(JSON.stringify({ ok: true, ...summary, confirmed: true, waitedSeconds: booted.waitedMs / 1000 }) + '\n');
          else process.stdout.write(`flashed ${m.version} (${m.buildId}) into slot ${r.slot}: rebooted, running and confirmed after ${total.toFixed(1)} s\n`);
          return ExitCode.ok;
        } catch (e) {
          bar?.stop();
          if (!(e instanceof FlashFailed)) throw e;
          return refused(e, {});
        } finally {
          await port.close();
        }
      }),
    );
}
