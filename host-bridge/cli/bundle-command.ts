// `posj-bridge bundle` (what `npm run bundle` runs): the signed firmware bundle. esbuild is a dev
// dependency, so the builder is imported only when this command runs.
import * as path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../firmware-ts/cli/exit-codes.js';
import { DEV_SIGNING_KEY, loadOrCreateSigningKey } from '../bundle/signing-key.js';

interface BundleCliOptions {
  out: string;
  key?: string;
  target: string;
  libc: 'glibc' | 'musl';
  minVersion: string;
  json?: boolean;
}

export function registerBundleCommand(program: Command): void {
  program
    .command('bundle')
    .description('build the terminal firmware (firmware-ts + protocol only) as one file plus the native serial binding, packed into firmware.img with a signed manifest.json')
    .option('--out <dir>', 'output directory', path.join('dist', 'bundle'))
    .option('--key <file>', `Ed25519 private key (PKCS#8 PEM); default: a development key created at ${DEV_SIGNING_KEY}`)
    .option('--target <platform-arch>', 'the terminal platform (a @serialport/bindings-cpp prebuild: linux-arm64, linux-x64, android-arm64, ...)', `${process.platform}-${process.arch}`)
    .option('--libc <libc>', 'glibc or musl (linux targets)', 'glibc')
    .option('--min-version <v>', 'oldest running version this bundle may replace', '0.1.0')
    .option('--json', 'print one JSON object')
    .action(
      action(async (o: BundleCliOptions) => {
        if (o.libc !== 'glibc' && o.libc !== 'musl') throw Object.assign(new Error('--libc: glibc or musl'), { code: 'USAGE' });
        const key = loadOrCreateSigningKey(o.key ?? DEV_SIGNING_KEY, o.key === undefined);
        const { buildBundle } = await import('../bundle/build-bundle.js');
        const r = await buildBundle({ root: process.cwd(), outDir: path.resolve(o.out), signingKey: key.privateKey, target: o.target, libc: o.libc, minVersion: o.minVersion });
        const m = r.signed.manifest;
        if (o.json) {
          process.stdout.write(JSON.stringify({ image: r.imagePath, manifest: r.manifestPath, publicKey: key.publicKeyFile, keyId: r.signed.keyId, ...m, firmwareBytes: r.firmwareBytes, nativeBytes: r.nativeBytes, inputs: r.inputs }) + '\n');
        } else {
          if (key.created) process.stderr.write(`created a DEVELOPMENT signing key ${o.key ?? DEV_SIGNING_KEY} (public half ${key.publicKeyFile}); sign field firmware with --key\n`);
          process.stdout.write(
            [
              `${m.product} ${m.version} (${m.buildId}) for ${m.target}`,
              `  ${r.outDir}/posj.mjs ${r.firmwareBytes} bytes, native/serialport.node ${r.nativeBytes} bytes`,
              `  ${r.imagePath} ${m.size} bytes sha256 ${m.sha256}`,
              `  ${r.manifestPath} signed by key ${r.signed.keyId} (${key.publicKeyFile}); replaces >= ${m.minVersion}`,
            ].join('\n') + '\n',
          );
        }
      }),
    );
}
