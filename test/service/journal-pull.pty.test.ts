// Journal pull over a pty pair with real serialport on both ends, while the daemon runs: refused without
// a paired key; a pull whose copy is byte-identical to the terminal's segments, with the terminal's chain
// check and the bench's posj journal verify; a pull interrupted by a cable pull and resumed (the bytes
// already copied are kept once the terminal's hash of them matches); a second pull after more sales.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { systemClock } from '../../protocol/io/clock.js';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { pullJournal } from '../../host-bridge/service/journal-pull.js';
import { ServiceClient } from '../../host-bridge/service/service-client.js';
import { embeddedConfig, startSimulatedDaemon, type SimulatedDaemon } from '../../host-bridge/terminal/simulated-parts.js';
import { createPtyPair, type PtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { posjBridge } from '../helpers/kill-rig.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString();
const benchKey = generateKeyPairSync('ed25519');

let dir: string;
let journalDir: string;
let sim: SimulatedDaemon;
let pty: PtyPair;

const bridge = posjBridge;

const segments = (d: string) => fs.readdirSync(d).filter((f) => f.endsWith('.wal')).sort();
const sameFiles = (a: string, b: string) => segments(a).every((f) => fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))));

async function sales(n: number) {
  for (let i = 0; i < n; i++) {
    const r = await controlCall(sim.daemon.socketPath, { op: 'sale', amount: 100 + i });
    expect(r.ok).toBe(true);
  }
}

beforeAll(async () => {
  dir = tmpDir('pull');
  fs.writeFileSync(path.join(dir, 'paired.pem'), pem(benchKey.publicKey));
  fs.writeFileSync(path.join(dir, 'bench.pem'), benchKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  fs.writeFileSync(path.join(dir, 'stranger.pem'), generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
  pty = await createPtyPair();
  const config = { ...embeddedConfig(path.join(dir, 'var')), servicePort: { path: pty.a, baud: 115_200, pairedKeysFile: path.join(dir, 'paired.pem') } };
  journalDir = config.journalDir;
  sim = await startSimulatedDaemon({ config, log: lineLog(() => undefined, systemClock) });
  await sales(3);
});

afterAll(async () => {
  await sim?.daemon.stop();
  await pty?.close();
});

describe('posj-bridge journal pull', () => {
  it('refuses a bench whose key is not paired', async () => {
    const r = await bridge(['journal', 'pull', '--port', pty.b, '--out', path.join(dir, 'refused'), '--key', path.join(dir, 'stranger.pem'), '--json']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('AUTH_FAILED');
    expect(segments(path.join(dir, 'refused'))).toEqual([]);
  });

  it('copies the journal while the daemon runs; the terminal checks the chain, the bench the copy', async () => {
    const out = path.join(dir, 'copy');
    const r = await bridge(['journal', 'pull', '--port', pty.b, '--out', out, '--key', path.join(dir, 'bench.pem'), '--json']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.terminal).toMatchObject({ chainChecked: true, corrupt: null, tampered: null });
    expect(rep.bench).toMatchObject({ chainChecked: false, corrupt: null, records: rep.terminal.records });
    expect(segments(out)).toEqual(segments(journalDir));
    expect(sameFiles(journalDir, out)).toBe(true);
    const v = spawnSync(process.execPath, [POSJ, 'journal', 'verify', out, '--json'], { encoding: 'utf8' });
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout).records).toBe(rep.terminal.records);
  });

  it('on a stderr that is no terminal (a CI log) the pull draws no \\r progress line: the summary alone', async () => {
    const r = await bridge(['journal', 'pull', '--port', pty.b, '--out', path.join(dir, 'logged'), '--key', path.join(dir, 'bench.pem')]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^pulled \d+ segments into /);
  });

  it('journal export that matches nothing says so in words (exit 1)', async () => {
    const r = await bridge(['journal', 'export', '--port', pty.b, '--stan', '9999', '--key', path.join(dir, 'bench.pem')]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('journal export: no transaction with STAN 9999 in the journal\n');
    expect(r.status).toBe(1);
  });

  it('a pull interrupted by a cable pull resumes in a new session; a later pull brings the copy up to date', async () => {
    const out = path.join(dir, 'resumed');
    const port = new ReconnectingPort({ path: pty.b, baudRate: 115_200, backoffMs: 50, maxBackoffMs: 200, log: { info: () => undefined, warn: () => undefined } });
    port.start();
    await port.waitOpen();
    const clients: ServiceClient[] = [];
    const connect = async () => {
      const client = new ServiceClient(port, systemClock, { window: 8, rtoMs: 300, maxRetries: 5 });
      clients.push(client);
      return { client, close: async () => client.close() };
    };
    try {
      let pulled = false;
      let replug: Promise<void> | null = null;
      const first = await pullJournal({
        connect,
        key: benchKey.privateKey,
        outDir: out,
        clock: systemClock,
        retryForMs: 60_000,
        onProgress: ({ have }) => {
          if (pulled || have < 200_000) return;
          pulled = true;
          replug = pty.close().then(async () => {
            await new Promise((res) => setTimeout(res, 3000));
            pty = await createPtyPair({ a: pty.a, b: pty.b });
          });
        },
      });
      await replug;
      expect(first.attempts).toBeGreaterThan(1);
      expect(first.segments[0]!.keptFromEarlierPull).toBeGreaterThan(0);
      expect(sameFiles(journalDir, out)).toBe(true);

      await sales(2);
      const second = await pullJournal({ connect, key: benchKey.privateKey, outDir: out, clock: systemClock, retryForMs: 0 });
      expect(second.bench.records).toBe(second.terminal.records);
      expect(second.bench.records).toBeGreaterThan(first.bench.records);
      const seg = second.segments[second.segments.length - 1]!;
      // The grown segment keeps the records copied before and takes only what follows them.
      expect(seg.keptFromEarlierPull).toBeGreaterThan(0);
      expect(seg.keptFromEarlierPull).toBeLessThan(seg.size);
      expect(second.bytesCopied).toBe(second.segments.reduce((n, s) => n + s.size - s.keptFromEarlierPull, 0));
      expect(sameFiles(journalDir, out)).toBe(true);
    } finally {
      clients.forEach((c) => c.close());
      await port.close();
    }
  });
});
