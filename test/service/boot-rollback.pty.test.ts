// The launcher with real firmware: `posj boot` runs the bundled posj.mjs from slot a (the terminal build,
// its native serial binding beside it) against the acquirer simulator in its own process, with its service
// port, reader and printer on pty pairs. A good flash reboots into slot b, which confirms itself after a
// healthy boot; then a flash whose firmware dies at start reboots into it, fails N boots, and the launcher
// goes back to the confirmed slot by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packImage, unpackImage } from '../../protocol/firmware/image.js';
import { signManifest } from '../../protocol/firmware/manifest.js';
import { readSlotState } from '../../firmware-ts/firmware/slot-state.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { buildBundle, describeImage, type BundleResult } from '../../host-bridge/bundle/build-bundle.js';
import { Child, killAll, POSJ_BRIDGE, startAcquirer } from '../helpers/kill-rig.js';
import { createPtyPair, type PtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const POSJ_TERMINAL = path.resolve('dist/firmware-ts/cli/posj.js');
const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString();
const firmwareKey = generateKeyPairSync('ed25519');
const benchKey = generateKeyPairSync('ed25519');

let dir: string;
let slots: string;
let bundle: BundleResult;
let launcher: Child;
const ptys: PtyPair[] = [];
let service: PtyPair;

function bridge(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [POSJ_BRIDGE, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function hello(): Promise<Record<string, unknown>> {
  for (let i = 0; ; i++) {
    const r = await bridge(['hello', '--port', service.b, '--json']);
    if (r.status === 0) return JSON.parse(r.stdout) as Record<string, unknown>;
    if (i > 20) throw new Error(`no hello: ${r.stderr}\n${launcher.lines.slice(-20).join('\n')}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

beforeAll(async () => {
  dir = tmpDir('boot');
  slots = path.join(dir, 'slots');
  fs.writeFileSync(path.join(dir, 'trusted.pem'), pem(firmwareKey.publicKey));
  fs.writeFileSync(path.join(dir, 'paired.pem'), pem(benchKey.publicKey));
  fs.writeFileSync(path.join(dir, 'bench.pem'), benchKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  bundle = await buildBundle({ root: process.cwd(), outDir: path.join(dir, 'bundle'), signingKey: firmwareKey.privateKey, target: `${process.platform}-${process.arch}`, libc: 'glibc', minVersion: '0.1.0' });
  // The factory install: slot a holds the bundle, no state.json yet.
  for (const f of unpackImage(fs.readFileSync(bundle.imagePath))) {
    fs.mkdirSync(path.join(slots, 'a', path.dirname(f.path)), { recursive: true });
    fs.writeFileSync(path.join(slots, 'a', f.path), f.bytes);
  }
  fs.copyFileSync(bundle.manifestPath, path.join(slots, 'a', 'manifest.json'));
  const rules = path.join(dir, 'rules.json');
  fs.writeFileSync(rules, JSON.stringify({ rules: [] }));
  const acquirer = await startAcquirer({ ledger: path.join(dir, 'ledger.jsonl'), rules });
  service = await createPtyPair();
  const reader = await createPtyPair();
  const printer = await createPtyPair();
  ptys.push(service, reader, printer);
  const config = {
    journalDir: path.join(dir, 'journal'),
    terminalId: '12345678',
    merchantId: '898310048990001',
    merchantName: 'BOOT TEST',
    acquirer: { host: '127.0.0.1', port: acquirer.port, tmk: '0123456789ABCDEFFEDCBA9876543210' },
    reader: { path: reader.a, baud: 115_200 },
    printer: { path: printer.a, baud: 115_200 },
    servicePort: { path: service.a, baud: 115_200, pairedKeysFile: path.join(dir, 'paired.pem') },
    firmware: { slotsDir: slots, trustedKeysFile: path.join(dir, 'trusted.pem') },
  };
  fs.writeFileSync(path.join(dir, 'posj.json'), JSON.stringify(config));
  launcher = new Child(spawn(process.execPath, [POSJ_TERMINAL, 'boot', '--slots', slots, '--max-boots', '2', '--', 'run', '--config', path.join(dir, 'posj.json')]), 'stderr');
});

afterAll(async () => {
  launcher?.proc.kill('SIGTERM');
  await launcher?.exited;
  await killAll();
  for (const p of ptys) await p.close();
});

describe('posj boot: A/B slots with confirmation and rollback', () => {
  it('boots the bundled firmware from slot a; a flash reboots into b, which confirms itself', async () => {
    const first = await hello();
    expect(first.firmware).toMatchObject({ activeSlot: 'a', runningSlot: 'a', version: '0.1.0' });
    const r = await bridge(['flash', '--port', service.b, '--key', path.join(dir, 'bench.pem'), '--json', bundle.outDir]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    await until(() => readSlotState(nodeStorage, slots).confirmed === 'b', `slot b confirmed\n${launcher.lines.slice(-20).join('\n')}`, 30_000, 50);
    expect(readSlotState(nodeStorage, slots)).toEqual({ active: 'b', confirmed: 'b', trying: null });
    expect((await hello()).firmware).toMatchObject({ activeSlot: 'b', runningSlot: 'b' });
    expect(launcher.lines.some((l) => l.includes('daemon-exit slot=a code=75'))).toBe(true);
  });

  it('firmware that dies at start fails its boots and the launcher rolls back to the confirmed slot', async () => {
    const native = unpackImage(fs.readFileSync(bundle.imagePath)).find((f) => f.path.startsWith('native/'))!;
    const broken = packImage([{ path: 'posj.mjs', mode: 0o755, bytes: Buffer.from("process.stderr.write('broken build\\n'); process.exit(3);\n") }, native]);
    const d = path.join(dir, 'broken');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'firmware.img'), broken);
    fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(signManifest(describeImage(broken, { version: '0.1.0', buildId: 'broken', target: `${process.platform}-${process.arch}-glibc`, minVersion: '0.1.0' }), firmwareKey.privateKey)));
    const r = await bridge(['flash', '--port', service.b, '--key', path.join(dir, 'bench.pem'), '--json', d]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    await until(() => readSlotState(nodeStorage, slots).rolledBack !== undefined, `rollback\n${launcher.lines.slice(-20).join('\n')}`, 30_000, 50);
    expect(readSlotState(nodeStorage, slots)).toEqual({ active: 'b', confirmed: 'b', trying: null, rolledBack: { from: 'a', boots: 2 } });
    expect(launcher.lines.filter((l) => l.includes('daemon-exit slot=a code=3'))).toHaveLength(2);
    expect(launcher.lines.some((l) => l.includes('boot-rollback from=a boots=2 to=b'))).toBe(true);
    expect((await hello()).firmware).toMatchObject({ activeSlot: 'b', runningSlot: 'b' });
  });
});
