// Firmware slots for the simulated terminal, as a lab terminal leaves the factory: this checkout's bundled
// firmware installed in slot a (labelled `BUILD.factory` in its manifest, so a flash of the same build
// shows in hello as a different build), the firmware signing key the terminal trusts, and the bench's
// paired service-port key. `posj boot` then starts the daemon from the active slot, a flash reboots it
// into the other, and it confirms itself after a healthy boot. Kept under the bench directory: a reused
// `--dir` carries on with the slots, keys and state it has.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unpackImage } from '../../protocol/firmware/image.js';
import { signManifest } from '../../protocol/firmware/manifest.js';
import type { BenchBundles } from './bench-bundles.js';

export interface SimFirmware {
  slotsDir: string;
  trustedKeysFile: string;
  pairedKeysFile: string;
  /** The firmware signing key the terminal trusts. */
  signingKey: KeyObject;
  /** The bench's paired service-port key. */
  benchKey: KeyObject;
}

function keyPair(file: string): KeyObject {
  if (fs.existsSync(file)) return createPrivateKey(fs.readFileSync(file));
  const { privateKey } = generateKeyPairSync('ed25519');
  fs.writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  return privateKey;
}

const publicPem = (k: KeyObject) => createPublicKey(k).export({ format: 'pem', type: 'spki' });

/** The keys, under `dir`; made on first use. */
export function simFirmwareKeys(dir: string): SimFirmware {
  fs.mkdirSync(dir, { recursive: true });
  const signingKey = keyPair(path.join(dir, 'firmware-signing.pem'));
  const benchKey = keyPair(path.join(dir, 'bench-paired.pem'));
  const trustedKeysFile = path.join(dir, 'trusted.pem');
  const pairedKeysFile = path.join(dir, 'paired.pem');
  fs.writeFileSync(trustedKeysFile, publicPem(signingKey));
  fs.writeFileSync(pairedKeysFile, publicPem(benchKey));
  return { slotsDir: path.join(dir, 'slots'), trustedKeysFile, pairedKeysFile, signingKey, benchKey };
}

/** Installs the factory slot once (a slots directory that already has a state or a slot a is left as it is). */
export async function installFactorySlot(fw: SimFirmware, bundles: BenchBundles): Promise<boolean> {
  const a = path.join(fw.slotsDir, 'a');
  if (fs.existsSync(path.join(a, 'manifest.json')) || fs.existsSync(path.join(fw.slotsDir, 'state.json'))) return false;
  const b = await bundles.build();
  for (const f of unpackImage(b.image)) {
    fs.mkdirSync(path.join(a, path.dirname(f.path)), { recursive: true });
    fs.writeFileSync(path.join(a, f.path), f.bytes, { mode: f.mode });
  }
  const factory = { ...b.manifest, buildId: `${b.manifest.buildId}.factory` };
  fs.writeFileSync(path.join(a, 'manifest.json'), JSON.stringify(signManifest(factory, fw.signingKey)));
  return true;
}
