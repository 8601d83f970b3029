// `posj-bridge flash --port PATH BUNDLE [--json] [--allow-downgrade]`: flash a terminal over its service
// port. BUNDLE is the directory `npm run bundle` wrote (firmware.img + manifest.json). Each way a flash
// can fail has its own exit code, so a lab script can tell them apart.
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
        const client = new ServiceClient(port, systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(o.baud), maxRetries: 3 });
        try {
          const { ok: _ok, ...hello } = (await client.request({ op: 'hello' }, Buffer.alloc(0), 30_000)).head;
          process.stdout.write((o.json ? JSON.stringify(hello) : Object.entries(hello).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n')) + '\n');
        } finally {
          client.close();
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
    .option('--no-reboot', 'install and switch, but do not reboot the terminal')
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
          if (o.json) process.stdout.write(JSON.stringify({ ok: true, version: r.version, buildId: m.buildId, slot: r.slot, imageBytes: r.imageBytes, compressedBytes: r.compressedBytes, beganAt: r.beganAt, seconds, rebooted: o.reboot }) + '\n');
          else process.stdout.write(`flashed ${m.version} (${m.buildId}) into slot ${r.slot} in ${seconds.toFixed(1)} s (${r.compressedBytes} bytes on the line for a ${r.imageBytes}-byte image${r.beganAt.length > 1 ? `, resumed at ${r.beganAt.slice(1).join(', ')}` : ''}); ${o.reboot ? 'the terminal reboots into it and confirms it after a healthy boot, or rolls back by itself' : 'not rebooted (--no-reboot)'}\n`);
          return ExitCode.ok;
        } catch (e) {
          bar?.stop();
          if (!(e instanceof FlashFailed)) throw e;
          if (o.json) process.stdout.write(JSON.stringify({ ok: false, error: { code: e.code, message: e.message } }) + '\n');
          else process.stderr.write(`posj-bridge flash: ${e.code}: ${e.message}\nthe terminal keeps running its current firmware.\n`);
          return FLASH_EXIT[e.code];
        } finally {
          await port.close();
        }
      }),
    );
}
