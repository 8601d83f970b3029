// A service port path that can never be a serial line — missing (ENOENT), a plain file, /dev/null — is
// refused at once with the path and why, exit 2 (usage or I/O), by every bench command that opens one; it
// used to cost every request's timeouts and retries (flash 39 s whatever --retry-for said, hello 25 s) and
// end as "the line is down". A pty is a terminal device and passes. `--json` errors have flash's shape.
import { afterAll, describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { signManifest, FIRMWARE_PRODUCT } from '../../protocol/firmware/manifest.js';
import { serialPathProblem } from '../../host-bridge/service/serial-port-path.js';
import { posjBridge, requireDist } from '../helpers/kill-rig.js';
import { createPtyPair, type PtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';

const ptys: PtyPair[] = [];
afterAll(async () => {
  for (const p of ptys) await p.close();
});

describe('a serial port path checked before it is opened', () => {
  it('names what the path is: missing, a regular file, a directory, a character device that is no tty; a pty passes', async () => {
    const dir = tmpDir('port-path');
    const file = path.join(dir, 'ttyUSB0');
    fs.writeFileSync(file, '');
    expect(serialPathProblem(path.join(dir, 'nope'))).toMatchObject({ code: 'SERIAL_PORT_MISSING', message: `serial port ${path.join(dir, 'nope')}: does not exist (ENOENT)` });
    expect(serialPathProblem(file)).toMatchObject({ code: 'SERIAL_PORT_NOT_A_TTY', reason: 'is a regular file, not a terminal device' });
    expect(serialPathProblem(dir)).toMatchObject({ code: 'SERIAL_PORT_NOT_A_TTY', reason: 'is a directory, not a terminal device' });
    expect(serialPathProblem('/dev/null')).toMatchObject({ code: 'SERIAL_PORT_NOT_A_TTY', reason: 'is a character device but not a terminal (a tty, pty or USB serial port)' });
    const pty = await createPtyPair();
    ptys.push(pty);
    expect(serialPathProblem(pty.b)).toBeNull();
  });

  it('flash, hello, journal pull and journal export fail at once with the path, exit 2', async () => {
    requireDist();
    const dir = tmpDir('port-path-cli');
    const key = generateKeyPairSync('ed25519').privateKey;
    const keyFile = path.join(dir, 'bench.pem');
    fs.writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }));
    // A bundle that parses (the port is opened after the manifest is read); it is never sent.
    const bundle = path.join(dir, 'bundle');
    fs.mkdirSync(bundle);
    const image = Buffer.from('not really firmware');
    fs.writeFileSync(path.join(bundle, 'firmware.img'), image);
    const manifest = { product: FIRMWARE_PRODUCT, version: '9.9.9', buildId: 'test', target: 'linux-x64-glibc', size: image.length, sha256: createHash('sha256').update(image).digest('hex'), journal: { segmentFormat: 1, records: { x: 1 } }, minVersion: '0.1.0' };
    fs.writeFileSync(path.join(bundle, 'manifest.json'), JSON.stringify(signManifest(manifest, key)));
    const plain = path.join(dir, 'plain-file');
    fs.writeFileSync(plain, '');
    const missing = '/dev/posj-no-such-port';
    const cases: Array<[string[], string]> = [
      [['flash', '--port', missing, bundle, '--key', keyFile, '--retry-for', '5'], `serial port ${missing}: does not exist (ENOENT)`],
      [['flash', '--port', '/dev/null', bundle, '--key', keyFile], 'serial port /dev/null: is a character device but not a terminal'],
      [['hello', '--port', missing], `serial port ${missing}: does not exist (ENOENT)`],
      [['journal', 'pull', '--port', plain, '--out', path.join(dir, 'copy'), '--key', keyFile], `serial port ${plain}: is a regular file, not a terminal device`],
      [['journal', 'export', '--port', missing, '--stan', '1', '--key', keyFile], `serial port ${missing}: does not exist (ENOENT)`],
    ];
    for (const [args, said] of cases) {
      const t0 = Date.now();
      const r = await posjBridge(args);
      expect(r.stderr, args.join(' ')).toContain(said);
      expect(r.status, args.join(' ')).toBe(2);
      expect(Date.now() - t0, args.join(' ')).toBeLessThan(4000);
    }
    // One shape for --json errors: flash's {ok: false, error: {code, message}}, here from journal pull and flash alike.
    for (const args of [['journal', 'pull', '--port', missing, '--out', path.join(dir, 'copy'), '--key', keyFile, '--json'], ['flash', '--port', missing, bundle, '--key', keyFile, '--json']]) {
      const r = await posjBridge(args);
      expect(JSON.parse(r.stdout), args.join(' ')).toEqual({ ok: false, error: { code: 'SERIAL_PORT_MISSING', message: `serial port ${missing}: does not exist (ENOENT)` } });
      expect(r.status).toBe(2);
    }
  }, 60_000);
});
