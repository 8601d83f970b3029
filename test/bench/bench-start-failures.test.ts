// `posj-bridge bench run` that cannot start its bench ends at once with a usage error (exit 2) naming what is
// wrong, and never hangs: a directory with no scenarios is refused before anything is built (a wrong path in
// CI must not pass as "0 scenarios"), a bench file's reader or printer port that is missing or no terminal
// device is refused with its key and line before any simulator starts, and a service port that never
// answers (a pty with nothing behind it, a path that never appears) fails after the boot timeout with the
// process exiting: the service port it opened is closed on that failure path too.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { requireDist } from '../helpers/kill-rig.js';
import { createPtyPair, type PtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';

const BRIDGE = path.resolve('dist/host-bridge/cli/posj-bridge.js');
const ptys: PtyPair[] = [];

afterAll(async () => {
  for (const p of ptys) await p.close();
});

/** Runs `posj-bridge bench run ARGS`, SIGTERMed after `ms` (the old runner hung here for ever). */
function benchRun(args: string[], ms: number): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BRIDGE, 'bench', 'run', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGTERM'), ms);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A lab bench file whose power relay does nothing; ports as given. */
async function benchFile(lab: string, ports: { service: string; reader: string; printer: string }): Promise<string> {
  fs.writeFileSync(path.join(lab, 'bench.pem'), generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const f = path.join(lab, 'bench.yaml');
  fs.writeFileSync(
    f,
    [
      'terminal:',
      `  service-port: ${ports.service}`,
      '  key: bench.pem',
      'power:',
      '  on: "true"',
      '  off: "true"',
      '  boot-timeout: 2 s',
      'acquirer:',
      `  listen: 127.0.0.1:${await freePort()}`,
      '  ledger: acquirer/ledger.jsonl',
      'reader:',
      `  port: ${ports.reader}`,
      'printer:',
      `  port: ${ports.printer}`,
      '  receipts: receipts',
    ].join('\n') + '\n',
  );
  return f;
}

function scenario(dir: string): string {
  const f = path.join(dir, 'one-sale.yaml');
  fs.writeFileSync(f, 'steps:\n  - sale: 1.00\n');
  return f;
}

describe('bench run that cannot start its bench', () => {
  it('a directory with no scenario files is bad usage, refused before a bench is built', async () => {
    requireDist();
    const empty = tmpDir('no-scenarios');
    const dir = path.join(tmpDir('bench-dir'), 'run');
    const r = await benchRun([empty, '--dir', dir], 20_000);
    expect(r.stderr).toContain(`${empty}: a directory with no scenario files (*.yaml, *.yml) in it`);
    expect(r.stdout).not.toMatch(/0 scenarios/);
    expect(r.status).toBe(2);
    expect(fs.existsSync(dir)).toBe(false);
  }, 30_000);

  it('a missing reader port or a printer port that is no tty: the bench-file key, line and path, before anything starts', async () => {
    requireDist();
    const lab = tmpDir('lab-ports');
    const service = await createPtyPair();
    ptys.push(service);
    const missing = path.join(lab, 'usb-FTDI_reader-if00-port0');
    const f = await benchFile(lab, { service: service.b, reader: missing, printer: '/dev/null' });
    const r = await benchRun([scenario(lab), '--bench', f, '--dir', path.join(lab, 'run')], 20_000);
    expect(r.stderr).toContain(`${f}:12: reader.port: ${missing} does not exist (ENOENT)`);
    expect(r.status).toBe(2);
    expect(r.ms).toBeLessThan(5000);
    // Nothing was started: no simulator waited 10 s to attach.
    expect(fs.existsSync(path.join(lab, 'run', 'logs', 'acquirer.log'))).toBe(false);

    fs.writeFileSync(missing, 'a plain file, not the adapter');
    const r2 = await benchRun([scenario(lab), '--bench', f, '--dir', path.join(lab, 'run')], 20_000);
    expect(r2.stderr).toContain(`${f}:12: reader.port: ${missing} is a regular file, not a terminal device`);
    expect(r2.status).toBe(2);
    const reader = await createPtyPair();
    ptys.push(reader);
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(missing, reader.b));
    const r3 = await benchRun([scenario(lab), '--bench', f, '--dir', path.join(lab, 'run')], 20_000);
    expect(r3.stderr).toContain(`${f}:14: printer.port: /dev/null is a character device but not a terminal`);
    expect(r3.status).toBe(2);
  }, 60_000);

  it('a service port with nothing behind it, or one that never appears: the boot timeout, then exit 2 (no hang)', async () => {
    requireDist();
    const lab = tmpDir('lab-silent');
    const [service, reader, printer] = [await createPtyPair(), await createPtyPair(), await createPtyPair()];
    ptys.push(service, reader, printer);
    const f = await benchFile(lab, { service: service.b, reader: reader.b, printer: printer.b });
    const r = await benchRun([scenario(lab), '--bench', f, '--dir', path.join(lab, 'run')], 40_000);
    expect(r.stderr, r.stdout + r.stderr).toContain(`the terminal did not answer on its service port ${service.b} within 2000 ms of power on`);
    expect(r.status, `exited ${r.status} after ${r.ms} ms`).toBe(2);

    const never = path.join(lab, 'usb-posj_terminal_0042-if00');
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(service.b, never));
    const r2 = await benchRun([scenario(lab), '--bench', f, '--dir', path.join(lab, 'run')], 40_000);
    expect(r2.stderr, r2.stdout + r2.stderr).toContain(`within 2000 ms of power on (the path does not exist (ENOENT): check terminal.service-port in the bench file)`);
    expect(r2.status, `exited ${r2.status} after ${r2.ms} ms`).toBe(2);
  }, 120_000);
});
