// The launcher with real firmware: `posj boot` runs the bundled posj.mjs from slot a (the terminal build,
// its native serial binding beside it) against the acquirer simulator in its own process, with its service
// port, reader and printer on pty pairs. A good flash reboots into slot b, which confirms itself after a
// healthy boot; then a flash whose firmware dies at start reboots into it, fails N boots, and the launcher
// goes back to the confirmed slot by itself — and posj-bridge flash, waiting out the trial, says so (19).
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
import { until } from '../helpers/wait.js';

let lab: LabTerminal;
let launcher: Child;

const hello = () => helloOf(lab, launcher);

beforeAll(async () => {
  lab = await labTerminal('boot', 'BOOT TEST');
  launcher = new Child(spawn(process.execPath, [POSJ_TERMINAL, 'boot', '--slots', lab.slots, '--max-boots', '2', '--', 'run', '--config', lab.configFile]), 'stderr');
});

afterAll(async () => {
  launcher?.proc.kill('SIGTERM');
  await launcher?.exited;
  await killAll();
  await lab?.closePtys();
});

describe('posj boot: A/B slots with confirmation and rollback', () => {
  it('boots the bundled firmware from slot a; a flash reboots into b, which confirms itself', async () => {
    const first = await hello();
    expect(first.firmware).toMatchObject({ activeSlot: 'a', runningSlot: 'a', version: '0.1.0' });
    const r = await bridge(['flash', '--port', lab.service.b, '--key', lab.benchKeyFile, '--json', lab.bundle.outDir]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    // Exit 0 now means the bridge saw the new slot running and confirmed, not merely installed.
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, slot: 'b', confirmed: true });
    await until(() => readSlotState(nodeStorage, lab.slots).confirmed === 'b', `slot b confirmed\n${launcher.lines.slice(-20).join('\n')}`, 30_000, 50);
    expect(readSlotState(nodeStorage, lab.slots)).toEqual({ active: 'b', confirmed: 'b', trying: null });
    expect((await hello()).firmware).toMatchObject({ activeSlot: 'b', runningSlot: 'b' });
    expect(launcher.lines.some((l) => l.includes('daemon-exit slot=a code=75'))).toBe(true);
  });

  it('firmware that dies at start fails its boots and the launcher rolls back to the confirmed slot', async () => {
    const native = unpackImage(fs.readFileSync(lab.bundle.imagePath)).find((f) => f.path.startsWith('native/'))!;
    const broken = packImage([{ path: 'posj.mjs', mode: 0o755, bytes: Buffer.from("process.stderr.write('broken build\\n'); process.exit(3);\n") }, native]);
    const d = path.join(lab.dir, 'broken');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'firmware.img'), broken);
    fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(signManifest(describeImage(broken, { version: '0.1.0', buildId: 'broken', target: `${process.platform}-${process.arch}-glibc`, minVersion: '0.1.0' }), lab.firmwareKey.privateKey)));
    const r = await bridge(['flash', '--port', lab.service.b, '--key', lab.benchKeyFile, '--json', d]);
    // The bridge waits out the trial: a build that rolled back is not "flashed" (exit 19, FLASH_ROLLED_BACK).
    expect(r.status, r.stderr + r.stdout).toBe(19);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, slot: 'a', error: { code: 'FLASH_ROLLED_BACK', message: expect.stringContaining('failed 2 boots without confirming itself') } });
    // The launcher writes the rollback into state.json before it logs it: wait for the log line (read from a
    // pipe, it can trail the file by a scheduling slice on a loaded machine), then both must say it.
    await until(() => launcher.lines.some((l) => l.includes('boot-rollback ')), `rollback\n${launcher.lines.slice(-20).join('\n')}`, 30_000, 50);
    expect(launcher.lines.some((l) => l.includes('boot-rollback from=a boots=2 to=b'))).toBe(true);
    expect(readSlotState(nodeStorage, lab.slots)).toEqual({ active: 'b', confirmed: 'b', trying: null, rolledBack: { from: 'a', boots: 2, reason: 'max-boots' } });
    expect(launcher.lines.filter((l) => l.includes('daemon-exit slot=a code=3'))).toHaveLength(2);
    expect((await hello()).firmware).toMatchObject({ activeSlot: 'b', runningSlot: 'b' });
  });
});
