// `posj-bridge bench run --bench BENCH.yaml`: a lab bench as the runner sees one — a terminal it reaches only
// over its service port (control requests after proving the bench's paired key, the journal pulled for the
// checks), a power relay that is two shell commands, the acquirer address the terminal dials, and the
// reader and printer simulators on the serial ports wired to the terminal. Here the "lab" is made of socat
// ptys and a terminal on firmware slots (this checkout's bundle in slot a, `posj boot … -- run --config`)
// that the relay's commands start (setsid) and SIGKILL as a process group by its pid file, so the runner
// drives it — flashes over the service port included — exactly as it would drive hardware. A cable unplug
// step fails with its reason: the runner does not own the cables of a real bench.
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { posjBridge, requireDist } from '../helpers/kill-rig.js';
import { createPtyPair, type PtyPair } from '../helpers/pty-pair.js';
import { tmpDir } from '../helpers/tmp.js';
import { loadBenchFile } from '../../host-bridge/bench/bench-file.js';
import { buildBundle } from '../../host-bridge/bundle/build-bundle.js';
import { unpackImage } from '../../protocol/firmware/image.js';
import { BenchFileError } from '../../host-bridge/bench/yaml-reader.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const ptys: PtyPair[] = [];
let pidFile = '';

afterAll(async () => {
  if (pidFile && fs.existsSync(pidFile)) {
    try {
      process.kill(-Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // already off
    }
  }
  for (const p of ptys) await p.close();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const benchRun = (args: string[]) => posjBridge(['bench', 'run', ...args]);

describe('bench run on a bench file', () => {
  it('drives the terminal over its service port, cuts its power with the relay commands, and judges the pulled journal', async () => {
    requireDist();
    const lab = tmpDir('lab');
    const [service, reader, printer] = [await createPtyPair(), await createPtyPair(), await createPtyPair()];
    ptys.push(service, reader, printer);
    const key = generateKeyPairSync('ed25519');
    fs.writeFileSync(path.join(lab, 'paired.pem'), key.publicKey.export({ format: 'pem', type: 'spki' }));
    fs.writeFileSync(path.join(lab, 'bench.pem'), key.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    // The lab terminal as it left the factory: this checkout's firmware in slot a, trusting the lab's firmware key.
    const firmwareKey = generateKeyPairSync('ed25519');
    fs.writeFileSync(path.join(lab, 'firmware.pem'), firmwareKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    fs.writeFileSync(path.join(lab, 'trusted.pem'), firmwareKey.publicKey.export({ format: 'pem', type: 'spki' }));
    const factory = await buildBundle({ root: process.cwd(), outDir: path.join(lab, 'factory'), signingKey: firmwareKey.privateKey, target: `${process.platform}-${process.arch}`, libc: 'glibc', minVersion: '0.1.0' });
    const slots = path.join(lab, 'slots');
    for (const f of unpackImage(fs.readFileSync(factory.imagePath))) {
      fs.mkdirSync(path.join(slots, 'a', path.dirname(f.path)), { recursive: true });
      fs.writeFileSync(path.join(slots, 'a', f.path), f.bytes);
    }
    fs.copyFileSync(factory.manifestPath, path.join(slots, 'a', 'manifest.json'));
    const port = await freePort();
    const config = {
      journalDir: 'journal',
      terminalId: '87654321',
      merchantId: '898310048990002',
      merchantName: 'LAB TERMINAL',
      acquirer: { host: '127.0.0.1', port, tmk: '0123456789ABCDEFFEDCBA9876543210' },
      reader: { path: reader.a, baud: 115200 },
      printer: { path: printer.a, baud: 115200 },
      servicePort: { path: service.a, baud: 115200, pairedKeysFile: 'paired.pem' },
      firmware: { slotsDir: slots, trustedKeysFile: path.join(lab, 'trusted.pem') },
      timeouts: { connectMs: 2000, responseMs: 1500, cardMs: 5000 },
      reversal: { attemptSpacingMs: 300, backoffMs: 1000 },
    };
    fs.writeFileSync(path.join(lab, 'posj.json'), JSON.stringify(config));
    pidFile = path.join(lab, 'terminal.pid');
    const on = `setsid ${process.execPath} ${POSJ} boot --slots ${slots} -- run --config ${path.join(lab, 'posj.json')} >> ${path.join(lab, 'terminal.log')} 2>&1 < /dev/null & echo $! > ${pidFile}`;
    // The launcher leads its own process group (setsid): the cut takes the daemon with it.
    const off = `kill -9 -$(cat ${pidFile}); while kill -0 -$(cat ${pidFile}) 2>/dev/null; do sleep 0.05; done`;
    const benchFile = path.join(lab, 'bench.yaml');
    fs.writeFileSync(
      benchFile,
      [
        'terminal:',
        `  service-port: ${service.b}`,
        '  key: bench.pem',
        'power:',
        `  on: ${JSON.stringify(on)}`,
        `  off: ${JSON.stringify(off)}`,
        '  boot-timeout: 30 s',
        'acquirer:',
        `  listen: 127.0.0.1:${port}`,
        '  ledger: acquirer/ledger.jsonl',
        'reader:',
        `  port: ${reader.b}`,
        'printer:',
        `  port: ${printer.b}`,
        '  receipts: receipts',
        'firmware:',
        '  signing-key: firmware.pem',
      ].join('\n') + '\n',
    );
    const junit = path.join(lab, 'junit.xml');
    const r = await benchRun([path.resolve('test/bench/scenarios/lab-power-cut.yaml'), '--bench', benchFile, '--junit', junit, '--dir', path.join(lab, 'run')]);
    const out = r.stdout + r.stderr;
    expect(r.stdout.split('\n')[0], out.slice(-5000)).toBe(`real bench from ${benchFile}: terminal 87654321 on its service port ${service.b}`);
    // Everything up to the unplug held, on the terminal's own answers and its pulled journal.
    expect(out, out.slice(-5000)).toMatch(/ok {3}line \d+ +sale 66\.60 \[[\d.]+ s\] → FAILED sale stan=\d+: no reply from the acquirer in time; reversed at the acquirer/);
    expect(out, out.slice(-5000)).toMatch(/ok {3}line \d+ +sale 300\.01, power cut after-debit( \[[\d.]+ s\])? → nothing: the terminal lost power with STAN \d+ in flight/);
    expect(out).toMatch(/ok {3}line \d+ +power restored( \[[\d.]+ s\])? → booted: answering on .*reversals owed \[\]/);
    expect(out).toMatch(/✓ power cut after-debit \(line 16\): intent of STAN \d+ durable, no outcome/);
    expect(out).toMatch(/✓ ledger cut: STAN \d+ batch 000001 at the acquirer: reversed/);
    expect(out).toMatch(/✓ receipts: 2 printed/);
    // A flash over the service port cut by the relay mid-upload, the terminal back on the firmware it ran, the same flash resumed.
    expect(out).toMatch(/✓ power cut mid-upload: cut at \d+ of \d+ bytes/);
    expect(out).toMatch(/✓ after the cut flash, the terminal boots the firmware it ran before: slot a running \(active a, confirmed a\)/);
    expect(out).toMatch(/✓ the terminal runs the new firmware from the new slot, confirmed: slot b running \(active b, confirmed b\)/);
    expect(out).toMatch(/✓ the flash report: resumed: true/);
    expect(out).toMatch(/✓ the journal is untouched by the flash: the \d+ records from before the flash unchanged/);
    // The cable step is refused with its reason, and the testcase fails on it.
    expect(out).toMatch(/error: unplug of the reader needs a pty line this bench controls/);
    // The money is still judged after the refused step, on the journal pulled over the service port.
    expect(out).toMatch(/✓ invariant no-phantom-debit: held over \d+ journal records/);
    expect(out).toMatch(/✓ invariant no-failed-debit: 1 answer told "failed", none live at the acquirer/);
    expect(out).toMatch(/✓ journal verify: journal pulled over the service port: terminal's check \d+ records, MAC chain checked/);
    expect(r.status).toBe(1);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(fs.readFileSync(junit, 'utf8')) as { testsuites: { testsuite: { testcase: { name: string; failure: { message: string } } } } };
    expect(doc.testsuites.testsuite.testcase.name).toBe('lab-power-cut');
    expect(doc.testsuites.testsuite.testcase.failure.message).toMatch(/^line 27: reader unplug: unplug of the reader needs a pty line/);
    // The power relay's commands and the flash's reboot were what restarted it: power on, two restores, the reboot into slot b.
    const log = fs.readFileSync(path.join(lab, 'terminal.log'), 'utf8');
    expect(log.match(/ listening /g)).toHaveLength(4);
    expect(log).toMatch(/daemon-exit slot=a code=75\n.* boot slot=b /);

    // A relay whose off command exits 0 but cuts nothing: the cut step fails, it is not judged as a cut.
    const broken = path.join(lab, 'bench-broken-relay.yaml');
    fs.writeFileSync(broken, fs.readFileSync(benchFile, 'utf8').replace(`  off: ${JSON.stringify(off)}`, '  off: "true"'));
    const scenario = path.join(lab, 'relay-does-not-cut.yaml');
    fs.writeFileSync(scenario, 'name: relay-does-not-cut\nsteps:\n  - sale: 1.00\n    expect: {kind: approved}\n  - power-cut:\n  - power-restore:\n');
    const noCut = await benchRun([scenario, '--bench', broken, '--dir', path.join(lab, 'run-broken')]);
    const said = noCut.stdout + noCut.stderr;
    expect(said, said.slice(-3000)).toMatch(/power off: "true" exited 0, but the terminal still answers on its service port .*: the power was not cut/);
    expect(noCut.status).toBe(1);
  }, 150_000);

  it('a bench file is checked strictly: file:line and the key', () => {
    const dir = tmpDir('bench-file');
    const f = path.join(dir, 'bench.yaml');
    fs.writeFileSync(f, 'terminal:\n  service-port: /dev/serial/by-id/usb-posj\n  key: k.pem\npower:\n  on: relay 1\n  off: relay 0\n  boot-timout: 30 s\n');
    expect(() => loadBenchFile(f)).toThrow(BenchFileError);
    expect(() => loadBenchFile(f)).toThrow(`${f}:7: power.boot-timout: unknown key (did you mean "boot-timeout"?)`);
  });
});
