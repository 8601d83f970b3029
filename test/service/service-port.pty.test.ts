// The service port over a pty pair with real serialport on both ends: the daemon (bench build, simulated
// acquirer and devices) serves it, the bench talks to it with the real client and the real posj-bridge.
// An unauthenticated bench gets hello and status only; a flash end to end; a cable pull mid-transfer and
// the resume; a malformed image, a bad signature, a wrong product, a downgrade, an unreadable journal and no space, each with its own exit code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { systemClock } from '../../protocol/io/clock.js';
import { signManifest } from '../../protocol/firmware/manifest.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { readSlotState } from '../../firmware-ts/firmware/slot-state.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { buildBundle, describeImage, type BundleResult } from '../../host-bridge/bundle/build-bundle.js';
import { flash } from '../../host-bridge/service/flash-client.js';
import { ServiceClient, ServiceError } from '../../host-bridge/service/service-client.js';
import { embeddedConfig, startSimulatedDaemon, type SimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { createPtyPair, type PtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { posjBridge } from '../helpers/kill-rig.js';

const BRIDGE = path.resolve('dist/host-bridge/cli/posj-bridge.js');
const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString();
const firmwareKey = generateKeyPairSync('ed25519');
const benchKey = generateKeyPairSync('ed25519');

let dir: string;
let bundle: BundleResult;

interface Terminal {
  sim: SimulatedDaemon;
  pty: PtyPair;
  slotsDir: string;
  log: string[];
  stop(): Promise<void>;
}

async function terminal(name: string, extra: { quotaBytes?: number } = {}): Promise<Terminal> {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  const pty = await createPtyPair();
  const log: string[] = [];
  const slotsDir = path.join(d, 'slots');
  const config = {
    ...embeddedConfig(path.join(d, 'var')),
    servicePort: { path: pty.a, baud: 115_200, pairedKeysFile: path.join(dir, 'paired.pem') },
    firmware: { slotsDir, trustedKeysFile: path.join(dir, 'trusted.pem'), ...extra },
  };
  const sim = await startSimulatedDaemon({ config, log: lineLog((l) => log.push(l), systemClock) });
  // stop() closes the pair in use now: the cable-pull test replaces t.pty with a replugged one.
  const t: Terminal = { sim, pty, slotsDir, log, stop: async () => (await sim.daemon.stop(), await t.pty.close()) };
  return t;
}

async function bench(pathB: string, rtoMs = 400) {
  const port = new ReconnectingPort({ path: pathB, baudRate: 115_200, backoffMs: 50, maxBackoffMs: 200, log: { info: () => undefined, warn: () => undefined } });
  port.start();
  await port.waitOpen();
  const clients: ServiceClient[] = [];
  const connect = async () => {
    const client = new ServiceClient(port, systemClock, { window: 8, rtoMs, maxRetries: 5 });
    clients.push(client);
    return { client, close: async () => client.close() };
  };
  return { port, connect, close: async () => (clients.forEach((c) => c.close()), await port.close()) };
}

const bridge = posjBridge;

/** A bundle directory holding the same image with a differently signed manifest. */
function variant(name: string, manifest: Buffer): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  fs.copyFileSync(bundle.imagePath, path.join(d, 'firmware.img'));
  fs.writeFileSync(path.join(d, 'manifest.json'), manifest);
  return d;
}

beforeAll(async () => {
  dir = tmpDir('service');
  fs.writeFileSync(path.join(dir, 'trusted.pem'), pem(firmwareKey.publicKey));
  fs.writeFileSync(path.join(dir, 'paired.pem'), pem(benchKey.publicKey));
  fs.writeFileSync(path.join(dir, 'bench.pem'), benchKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  bundle = await buildBundle({ root: process.cwd(), outDir: path.join(dir, 'bundle'), signingKey: firmwareKey.privateKey, target: `${process.platform}-${process.arch}`, libc: 'glibc', minVersion: '0.1.0' });
});

describe('service port over a pty pair', () => {
  let t: Terminal;
  beforeAll(async () => {
    t = await terminal('auth');
  });
  afterAll(async () => t?.stop());

  it('an unauthenticated bench gets hello and status, and nothing that moves money or firmware', async () => {
    const b = await bench(t.pty.b);
    try {
      const { client } = await b.connect();
      const hello = (await client.request({ op: 'hello' })).head;
      expect(hello).toMatchObject({ terminalId: '12345678', authenticated: false, firmware: { version: '0.1.0', activeSlot: 'a' } });
      expect((await client.request({ op: 'status' })).head.terminalId).toBe('12345678');
      for (const head of [{ op: 'control', request: { op: 'sale', amount: 100 } }, { op: 'control', request: { op: 'void', stan: 1, password: 'x' } }, { op: 'flash-begin', manifest: '{}', compressedSize: 1 }, { op: 'reboot' }]) {
        await expect(client.request(head)).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
      }
      // A key the terminal was never paired with.
      await expect(client.authenticate(generateKeyPairSync('ed25519').privateKey)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      await expect(client.request({ op: 'control', request: { op: 'sale', amount: 100 } })).rejects.toBeInstanceOf(ServiceError);
      await client.authenticate(benchKey.privateKey);
      const sale = (await client.request({ op: 'control', request: { op: 'sale', amount: 1250 } })).head.result as { kind: string };
      expect(sale.kind).toBe('approved');
      expect(t.log.some((l) => l.includes('service-auth-refused'))).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('posj-bridge flash with an unpaired key exits 17 and the terminal keeps its firmware', async () => {
    const stranger = path.join(dir, 'stranger.pem');
    fs.writeFileSync(stranger, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const r = await bridge(['flash', '--port', t.pty.b, '--key', stranger, '--json', bundle.outDir]);
    expect(r.status).toBe(17);
    expect(JSON.parse(r.stdout).error.code).toBe('FLASH_AUTH_REFUSED');
    expect(readSlotState(nodeStorage, t.slotsDir).active).toBe('a');
  });
});

describe('flash over a pty pair', () => {
  // No launcher here (the daemon runs in this process and never restarts): the transfer and install end to
  // end, and a reboot that is asked for but never happens is "not confirmed" (20), never "flashed".
  it('posj-bridge flash end to end: installs slot b under test, reboot requested, the journal untouched', async () => {
    const t = await terminal('e2e');
    try {
      const journalDir = path.join(dir, 'e2e', 'var', 'terminal', 'journal');
      const before = fs.readdirSync(journalDir).sort();
      const r = await bridge(['flash', '--port', t.pty.b, '--key', path.join(dir, 'bench.pem'), '--json', '--wait-for', '2', bundle.outDir]);
      expect(r.status, r.stderr + r.stdout).toBe(20);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ ok: false, slot: 'b', version: '0.1.0', beganAt: [0], rebooted: true, error: { code: 'FLASH_NOT_CONFIRMED' } });
      expect(out.firmware).toMatchObject({ activeSlot: 'b', confirmedSlot: 'a', trying: { slot: 'b', boots: 0 } });
      expect(out.compressedBytes).toBeLessThan(out.imageBytes);
      expect(readSlotState(nodeStorage, t.slotsDir)).toEqual({ active: 'b', confirmed: 'a', trying: { slot: 'b', boots: 0 } });
      const installed = fs.readFileSync(path.join(t.slotsDir, 'b', 'posj.mjs'));
      expect(installed.equals(fs.readFileSync(path.join(bundle.outDir, 'posj.mjs')))).toBe(true);
      await t.sim.daemon.rebootRequested;
      expect(fs.readdirSync(journalDir).sort()).toEqual(before);
      expect(fs.readdirSync(t.slotsDir).sort()).toEqual(['b', 'state.json', 'incoming'].sort());
    } finally {
      await t.stop();
    }
  });

  it('a cable pull mid-transfer: the flash resumes from the offset the terminal has, not from zero', async () => {
    const t = await terminal('pull');
    const b = await bench(t.pty.b, 300);
    try {
      let pulled = false;
      let replug: Promise<void> | null = null;
      const r = await flash({
        connect: b.connect,
        key: benchKey.privateKey,
        manifestBytes: fs.readFileSync(bundle.manifestPath),
        image: fs.readFileSync(bundle.imagePath),
        allowDowngrade: false,
        clock: systemClock,
        retryForMs: 60_000,
        reboot: false,
        onProgress: ({ have }) => {
          if (pulled || have < 150_000) return;
          pulled = true;
          // Pull the cable: both pty ends vanish; plug it back at the same paths 3 s later.
          replug = t.pty.close().then(async () => {
            // Longer than the link's retry budget (5 × 300 ms): the session dies and the flash resumes in a new one.
            await new Promise((res) => setTimeout(res, 3000));
            t.pty = await createPtyPair({ a: t.pty.a, b: t.pty.b });
          });
        },
      });
      await replug;
      expect(pulled).toBe(true);
      expect(r.beganAt.length).toBeGreaterThan(1);
      expect(r.beganAt[1]).toBeGreaterThanOrEqual(96 * 1024);
      // Nothing re-sent beyond what was in flight and what the last durable step had not covered.
      expect(r.chunkBytesSent - r.compressedBytes).toBeLessThan(150_000 - 96 * 1024 + 8 * 2048 + 64 * 1024);
      expect(readSlotState(nodeStorage, t.slotsDir).active).toBe('b');
    } finally {
      await b.close();
      await t.stop();
    }
  });

  it('a bridge killed mid-flash and started again resumes from the terminal\'s durable offset', async () => {
    const t = await terminal('restart');
    try {
      const progress = path.join(t.slotsDir, 'incoming', 'progress.json');
      const have = () => (fs.existsSync(progress) ? (JSON.parse(fs.readFileSync(progress, 'utf8')) as { have: number }).have : 0);
      const first = spawn(process.execPath, [BRIDGE, 'flash', '--port', t.pty.b, '--key', path.join(dir, 'bench.pem'), '--json', bundle.outDir]);
      const exited = new Promise((r) => first.once('exit', r));
      for (let i = 0; have() < 96 * 1024 && i < 600; i++) await new Promise((r) => setTimeout(r, 20));
      first.kill('SIGKILL');
      await exited;
      const durable = have();
      expect(durable).toBeGreaterThanOrEqual(96 * 1024);
      const again = await bridge(['flash', '--port', t.pty.b, '--key', path.join(dir, 'bench.pem'), '--json', '--no-reboot', bundle.outDir]);
      expect(again.status, again.stderr + again.stdout).toBe(0);
      const out = JSON.parse(again.stdout);
      expect(out.beganAt[0]).toBeGreaterThanOrEqual(durable);
      expect(readSlotState(nodeStorage, t.slotsDir).active).toBe('b');
    } finally {
      await t.stop();
    }
  });

  it('malformed image, bad signature, wrong product, downgrade, unreadable journal and no space: distinct exit codes, nothing switched', async () => {
    const t = await terminal('refusals', { quotaBytes: 500_000 });
    try {
      const m = describeImage(fs.readFileSync(bundle.imagePath), { version: '0.1.0', buildId: 'x', target: `${process.platform}-${process.arch}-glibc`, minVersion: '0.1.0' });
      const forged = variant('forged', Buffer.from(JSON.stringify(signManifest(m, generateKeyPairSync('ed25519').privateKey))));
      const older = variant('older', Buffer.from(JSON.stringify(signManifest({ ...m, version: '0.0.9' }, firmwareKey.privateKey))));
      const otherBoard = variant('other-board', Buffer.from(JSON.stringify(signManifest({ ...m, target: 'linux-mips-musl' }, firmwareKey.privateKey))));
      // A build that does not read a record type this terminal's journal holds.
      const { 'reversal.not-sent': _, ...withoutNotSent } = m.journal.records;
      const oldReader = variant('old-reader', Buffer.from(JSON.stringify(signManifest({ ...m, journal: { ...m.journal, records: withoutNotSent } }, firmwareKey.privateKey))));
      // Signed, but the image inside is cut short (its manifest re-signed with the cut file's size and SHA-256).
      const img = fs.readFileSync(bundle.imagePath);
      const cut = img.subarray(0, img.readUInt32BE(8) + 12 + 4000);
      const truncated = variant('truncated', Buffer.from(JSON.stringify(signManifest(describeImage(cut, { version: '0.1.0', buildId: 'cut', target: `${process.platform}-${process.arch}-glibc`, minVersion: '0.1.0' }), firmwareKey.privateKey))));
      fs.writeFileSync(path.join(truncated, 'firmware.img'), cut);
      const key = path.join(dir, 'bench.pem');
      const codes: Record<string, [number | null, string]> = {};
      for (const [name, d, flags] of [
        ['image', truncated, []],
        ['signature', forged, []],
        ['product', otherBoard, []],
        ['downgrade', older, []],
        ['journal', oldReader, []],
        ['space', bundle.outDir, []],
      ] as const) {
        const r = await bridge(['flash', '--port', t.pty.b, '--key', key, '--json', ...flags, d]);
        codes[name] = [r.status, JSON.parse(r.stdout).error?.code];
      }
      expect(codes).toEqual({
        image: [16, 'FLASH_BAD_IMAGE'],
        signature: [10, 'FLASH_BAD_SIGNATURE'],
        product: [11, 'FLASH_WRONG_PRODUCT'],
        downgrade: [12, 'FLASH_DOWNGRADE'],
        journal: [15, 'FLASH_JOURNAL_INCOMPATIBLE'],
        space: [13, 'FLASH_NO_SPACE'],
      });
      expect(readSlotState(nodeStorage, t.slotsDir).active).toBe('a');
      // The bad image's upload was discarded: nothing of it is left to resume into the same failure.
      expect(fs.existsSync(path.join(t.slotsDir, 'incoming', 'image.z'))).toBe(false);
    } finally {
      await t.stop();
    }
  });
});
