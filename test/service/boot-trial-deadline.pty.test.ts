// The launcher's deadline for a slot under test, and the bench waiting out the trial, on the real thing:
// `posj boot --confirm-within 4` runs the bundled firmware with its service port on a pty. A build that
// hangs at startup never exits, so only the deadline can roll it back; `posj-bridge flash` must then exit
// FLASH_ROLLED_BACK (19), not 0. A flash sent with --no-reboot leaves its slot under test: the next flash is
// told to reboot (18), and `posj-bridge reboot` boots the slot and waits for its confirmation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packImage, unpackImage } from '../../protocol/firmware/image.js';
import { signManifest } from '../../protocol/firmware/manifest.js';
import { readSlotState } from '../../firmware-ts/firmware/slot-state.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { describeImage } from '../../host-bridge/bundle/build-bundle.js';
import { Child, killAll } from '../helpers/kill-rig.js';
import { bridge, hello as helloOf, labTerminal, POSJ_TERMINAL, type LabTerminal } from '../helpers/lab-terminal.js';

let lab: LabTerminal;
let launcher: Child;

const hello = () => helloOf(lab, launcher);

/** A signed bundle directory whose posj.mjs is `source`, beside the real native binding. */
function bundleOf(name: string, source: string): string {
  const native = unpackImage(fs.readFileSync(lab.bundle.imagePath)).find((f) => f.path.startsWith('native/'))!;
  const img = packImage([{ path: 'posj.mjs', mode: 0o755, bytes: Buffer.from(source) }, native]);
  const d = path.join(lab.dir, name);
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'firmware.img'), img);
  fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(signManifest(describeImage(img, { version: '0.1.0', buildId: name, target: `${process.platform}-${process.arch}-glibc`, minVersion: '0.1.0' }), lab.firmwareKey.privateKey)));
  return d;
}

beforeAll(async () => {
  lab = await labTerminal('trial', 'TRIAL TEST');
  launcher = new Child(spawn(process.execPath, [POSJ_TERMINAL, 'boot', '--slots', lab.slots, '--max-boots', '3', '--confirm-within', '4', '--', 'run', '--config', lab.configFile]), 'stderr');
});

afterAll(async () => {
  launcher?.proc.kill('SIGTERM');
  await launcher?.exited;
  await killAll();
  await lab?.closePtys();
});

describe('a slot under test has a deadline, and the bench waits out its trial', () => {
  it('a build that hangs at startup is stopped at the deadline and rolled back; flash exits 19 and says so', async () => {
    expect((await hello()).firmware).toMatchObject({ activeSlot: 'a', runningSlot: 'a', confirmedSlot: 'a', trying: null });
    const hang = bundleOf('hangs', 'setInterval(() => {}, 1000);\n');
    const r = await bridge(['flash', '--port', lab.service.b, '--key', lab.benchKeyFile, '--json', '--wait-for', '60', hang]);
    expect(r.status, r.stderr + r.stdout + launcher.lines.slice(-20).join('\n')).toBe(19);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: false, slot: 'b', rebooted: true, error: { code: 'FLASH_ROLLED_BACK' } });
    expect(out.error.message).toContain('rolled back from slot b to slot a');
    expect(out.error.message).toContain("did not confirm itself within the launcher's deadline");
    expect(readSlotState(nodeStorage, lab.slots)).toEqual({ active: 'a', confirmed: 'a', trying: null, rolledBack: { from: 'b', boots: 1, reason: 'confirm-deadline' } });
    // The field engineer's log says why, in order: the deadline, the stop, the rollback.
    const deadline = launcher.lines.findIndex((l) => l.includes('trial-deadline slot=b within=4s'));
    const rollback = launcher.lines.findIndex((l) => l.includes('boot-rollback from=b boots=1 to=a reason=confirm-deadline'));
    expect(deadline, launcher.lines.join('\n')).toBeGreaterThanOrEqual(0);
    expect(rollback).toBeGreaterThan(deadline);
    // hello tells the bench the last trial rolled back.
    expect((await hello()).firmware).toMatchObject({ runningSlot: 'a', trying: null, rolledBack: { from: 'b', reason: 'confirm-deadline' } });
  }, 120_000);

  it('flash --no-reboot leaves b under test; the next flash is told to reboot (18); posj-bridge reboot boots b and waits for its confirmation', async () => {
    const first = await bridge(['flash', '--port', lab.service.b, '--key', lab.benchKeyFile, '--no-reboot', lab.bundle.outDir]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('slot b is under test');
    expect(first.stdout).toContain(`posj-bridge reboot --port ${lab.service.b}`);
    expect(readSlotState(nodeStorage, lab.slots)).toEqual({ active: 'b', confirmed: 'a', trying: { slot: 'b', boots: 0 } });
    const again = await bridge(['flash', '--port', lab.service.b, '--key', lab.benchKeyFile, '--json', lab.bundle.outDir]);
    expect(again.status, again.stdout).toBe(18);
    expect(JSON.parse(again.stdout).error).toMatchObject({ code: 'FLASH_SLOT_UNDER_TEST', message: expect.stringContaining('reboot the terminal') });
    const reboot = await bridge(['reboot', '--port', lab.service.b, '--key', lab.benchKeyFile, '--json', '--wait-for', '60']);
    expect(reboot.status, reboot.stdout + reboot.stderr + launcher.lines.slice(-20).join('\n')).toBe(0);
    expect(JSON.parse(reboot.stdout)).toMatchObject({ ok: true, rebooted: true, underTest: 'b', slot: 'b', confirmed: true });
    expect(readSlotState(nodeStorage, lab.slots)).toEqual({ active: 'b', confirmed: 'b', trying: null });
  }, 120_000);

  it('posj-bridge reboot with an unpaired key exits 17 and the terminal keeps running', async () => {
    const stranger = path.join(lab.dir, 'stranger.pem');
    const { generateKeyPairSync } = await import('node:crypto');
    fs.writeFileSync(stranger, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const r = await bridge(['reboot', '--port', lab.service.b, '--key', stranger, '--json']);
    expect(r.status).toBe(17);
    expect(JSON.parse(r.stdout).error.code).toBe('FLASH_AUTH_REFUSED');
    expect((await hello()).firmware).toMatchObject({ runningSlot: 'b', confirmedSlot: 'b' });
  }, 60_000);
});
