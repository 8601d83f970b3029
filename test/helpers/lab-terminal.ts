// A lab terminal for the firmware tests: the bundled terminal firmware installed in slot a as the factory
// does (no state.json yet), the acquirer simulator in its own process, the service port, reader and printer
// on pty pairs, and the config `posj boot … -- run --config` starts it with.
import { generateKeyPairSync, type KeyPairKeyObjectResult } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unpackImage } from '../../protocol/firmware/image.js';
import { buildBundle, type BundleResult } from '../../host-bridge/bundle/build-bundle.js';
import { posjBridge, startAcquirer } from './kill-rig.js';
import { createPtyPair, type PtyPair } from './pty-pair.js';
import { tmpDir } from './tmp.js';

export const POSJ_TERMINAL = path.resolve('dist/firmware-ts/cli/posj.js');

export interface LabTerminal {
  dir: string;
  slots: string;
  configFile: string;
  /** The bench's end of the service port is `service.b`. */
  service: PtyPair;
  bundle: BundleResult;
  firmwareKey: KeyPairKeyObjectResult;
  benchKeyFile: string;
  closePtys(): Promise<void>;
}

export async function labTerminal(name: string, merchantName: string): Promise<LabTerminal> {
  const dir = tmpDir(name);
  const slots = path.join(dir, 'slots');
  const firmwareKey = generateKeyPairSync('ed25519');
  const benchKey = generateKeyPairSync('ed25519');
  const benchKeyFile = path.join(dir, 'bench.pem');
  fs.writeFileSync(path.join(dir, 'trusted.pem'), firmwareKey.publicKey.export({ format: 'pem', type: 'spki' }));
  fs.writeFileSync(path.join(dir, 'paired.pem'), benchKey.publicKey.export({ format: 'pem', type: 'spki' }));
  fs.writeFileSync(benchKeyFile, benchKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const bundle = await buildBundle({ root: process.cwd(), outDir: path.join(dir, 'bundle'), signingKey: firmwareKey.privateKey, target: `${process.platform}-${process.arch}`, libc: 'glibc', minVersion: '0.1.0' });
  for (const f of unpackImage(fs.readFileSync(bundle.imagePath))) {
    fs.mkdirSync(path.join(slots, 'a', path.dirname(f.path)), { recursive: true });
    fs.writeFileSync(path.join(slots, 'a', f.path), f.bytes);
  }
  fs.copyFileSync(bundle.manifestPath, path.join(slots, 'a', 'manifest.json'));
  const rules = path.join(dir, 'rules.json');
  fs.writeFileSync(rules, JSON.stringify({ rules: [] }));
  const acquirer = await startAcquirer({ ledger: path.join(dir, 'ledger.jsonl'), rules });
  const service = await createPtyPair();
  const reader = await createPtyPair();
  const printer = await createPtyPair();
  const configFile = path.join(dir, 'posj.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      journalDir: path.join(dir, 'journal'),
      terminalId: '12345678',
      merchantId: '898310048990001',
      merchantName,
      acquirer: { host: '127.0.0.1', port: acquirer.port, tmk: '0123456789ABCDEFFEDCBA9876543210' },
      reader: { path: reader.a, baud: 115_200 },
      printer: { path: printer.a, baud: 115_200 },
      servicePort: { path: service.a, baud: 115_200, pairedKeysFile: path.join(dir, 'paired.pem') },
      firmware: { slotsDir: slots, trustedKeysFile: path.join(dir, 'trusted.pem') },
    }),
  );
  const closePtys = async () => {
    for (const p of [service, reader, printer]) await p.close();
  };
  return { dir, slots, configFile, service, bundle, firmwareKey, benchKeyFile, closePtys };
}

export const bridge = posjBridge;

/** The terminal's hello over its service port, asked until the daemon the launcher started answers. */
export async function hello(lab: LabTerminal, launcher: { lines: readonly string[] }): Promise<Record<string, unknown>> {
  for (let i = 0; ; i++) {
    const r = await bridge(['hello', '--port', lab.service.b, '--json']);
    if (r.status === 0) return JSON.parse(r.stdout) as Record<string, unknown>;
    if (i > 30) throw new Error(`no hello: ${r.stderr}\n${launcher.lines.slice(-20).join('\n')}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}
