// A power cut during a flash, on the real thing: `posj boot` runs the bundled terminal firmware with its
// service port on a pty, `posj-bridge flash` sends it a second build, and the launcher's whole process
// group (launcher and daemon: a power cut spares neither) is SIGKILLed when the slot directory shows the
// flash at a given step — mid-transfer, transfer done with the install under way, switched to the new slot
// before it confirmed itself. After each cut: the slot the launcher would boot holds whole files of one
// build (old or new, never a mix), the launcher comes back by itself on that slot, and flashing again
// completes. The fsync ordering under lost writes is the SimDisk test's (flash-power-cut.test.ts); this one
// shows the real process and the real filesystem keep the same promise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packImage, unpackImage } from '../../protocol/firmware/image.js';
import { signManifest } from '../../protocol/firmware/manifest.js';
import { decideBoot } from '../../firmware-ts/firmware/boot-control.js';
import { readSlotState } from '../../firmware-ts/firmware/slot-state.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { describeImage } from '../../host-bridge/bundle/build-bundle.js';
import { BenchChild, killAllGroups } from '../../host-bridge/bench/bench-children.js';
import { killAll, POSJ_BRIDGE } from '../helpers/kill-rig.js';
import { hello, labTerminal, POSJ_TERMINAL, type LabTerminal } from '../helpers/lab-terminal.js';
import { until } from '../helpers/wait.js';

let lab: LabTerminal;
let slots: string;
let oldFiles: Map<string, Buffer>;
let newFiles: Map<string, Buffer>;
let newBundle: string;

/** Each of the two builds, as a path → bytes map of what its slot must hold. */
function filesOf(image: Buffer): Map<string, Buffer> {
  return new Map(unpackImage(image).map((f) => [f.path, f.bytes]));
}

/** The launcher leads its own process group (as every bench child does), so the cut takes the daemon it started with it. */
function launch(): BenchChild {
  return new BenchChild('posj boot', process.execPath, [POSJ_TERMINAL, 'boot', '--slots', slots, '--max-boots', '3', '--', 'run', '--config', lab.configFile]);
}

function flashInBackground(): { stop(): void; done: Promise<{ status: number | null; out: string }> } {
  const child = spawn(process.execPath, [POSJ_BRIDGE, 'flash', '--port', lab.service.b, '--key', lab.benchKeyFile, '--json', newBundle]);
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  return { stop: () => child.kill('SIGKILL'), done: new Promise((resolve) => child.on('close', (status) => resolve({ status, out }))) };
}

/** Which build the launcher's next boot would run, checked file by file against both builds. */
function bootedBuild(): 'old' | 'new' {
  const d = decideBoot(nodeStorage, slots, 3);
  const holds = (want: Map<string, Buffer>) => [...want].every(([p, bytes]) => fs.existsSync(path.join(slots, d.slot, p)) && fs.readFileSync(path.join(slots, d.slot, p)).equals(bytes));
  if (holds(newFiles)) return 'new';
  if (holds(oldFiles)) return 'old';
  throw new Error(`slot ${d.slot} holds neither build whole`);
}

function progress(): { have: number; compressedSize: number } | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(slots, 'incoming', 'progress.json'), 'utf8')) as { have: number; compressedSize: number };
  } catch {
    return null;
  }
}

beforeAll(async () => {
  lab = await labTerminal('flash-kill', 'FLASH CUT TEST');
  slots = lab.slots;
  const oldImage = fs.readFileSync(lab.bundle.imagePath);
  oldFiles = filesOf(oldImage);
  // The second build: the same firmware with different bytes, so a slot shows which build it holds.
  const second = unpackImage(oldImage).map((f) => (f.path === 'posj.mjs' ? { ...f, bytes: Buffer.concat([f.bytes, Buffer.from('\n// second build\n')]) } : f));
  const newImage = packImage(second);
  newFiles = filesOf(newImage);
  newBundle = path.join(lab.dir, 'second');
  fs.mkdirSync(newBundle);
  fs.writeFileSync(path.join(newBundle, 'firmware.img'), newImage);
  fs.writeFileSync(path.join(newBundle, 'manifest.json'), JSON.stringify(signManifest(describeImage(newImage, { version: '0.1.0', buildId: 'second', target: `${process.platform}-${process.arch}-glibc`, minVersion: '0.1.0' }), lab.firmwareKey.privateKey)));
});

afterAll(async () => {
  killAllGroups();
  await killAll();
  await lab?.closePtys();
});

describe('a power cut (the whole process group SIGKILLed) during a real flash', () => {
  it('mid-transfer, during the install and after the switch: always one whole build to boot, and the flash completes', async () => {
    const landed: string[] = [];
    const cutWhen: Array<[string, () => boolean]> = [
      ['mid-transfer', () => {
        const p = progress();
        return p !== null && p.have > 0 && p.have < p.compressedSize;
      }],
      ['transfer done, install under way', () => {
        const p = progress();
        return (p !== null && p.have === p.compressedSize) || fs.existsSync(path.join(slots, 'b', 'posj.mjs'));
      }],
      ['switched, not yet confirmed', () => readSlotState(nodeStorage, slots).trying?.slot === 'b'],
    ];
    for (const [step, reached] of cutWhen) {
      const launcher = launch();
      // A cut late in the install may already have switched: then this boot is the one under test.
      const switched = readSlotState(nodeStorage, slots).trying?.slot === 'b';
      if (!switched) await hello(lab, launcher);
      const f = switched ? null : flashInBackground();
      await until(reached, `the flash to reach "${step}"\n${launcher.lines.slice(-10).join('\n')}`, 60_000, 1);
      await launcher.kill('SIGKILL');
      f?.stop();
      await f?.done;
      const s = readSlotState(nodeStorage, slots);
      landed.push(`${step}: active=${s.active} trying=${s.trying?.slot ?? '-'} slot-b-manifest=${fs.existsSync(path.join(slots, 'b', 'manifest.json'))} boots=${bootedBuild()}`);
      // What the terminal would boot now is one build, whole.
      expect(['old', 'new']).toContain(bootedBuild());
    }
    // The switched cut left b under test: the launcher's next boot runs it, and the daemon confirms it.
    const launcher = launch();
    try {
      const h = await hello(lab, launcher);
      await until(() => readSlotState(nodeStorage, slots).confirmed === 'b', `slot b confirmed\n${launcher.lines.slice(-20).join('\n')}\n${landed.join('\n')}`, 60_000, 50);
      expect(bootedBuild()).toBe('new');
      expect(h.firmware).toBeDefined();
      expect(landed).toHaveLength(3);
      expect(landed[0]).toMatch(/active=a .*boots=old/);
      expect(landed[2]).toMatch(/active=b trying=b .*boots=new/);
    } finally {
      await launcher.kill('SIGKILL');
    }
  }, 180_000);
});
