// What the terminal answers a flash that cannot go on, on SimDisk: a signed image that is malformed inside
// (truncated, its manifest re-signed over the cut file) is a bad image whose upload is discarded — not an
// "interrupted" flash every retry resumes into the same failure; a flash while a slot is under test is told
// to reboot the terminal; and a slot under test that missed the launcher's deadline is given up for the
// confirmed one, with the reason kept for hello.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import * as path from 'node:path';
import { packImage } from '../../protocol/firmware/image.js';
import { signManifest } from '../../protocol/firmware/manifest.js';
import { decideBoot, failTrial, confirmSlot } from '../../firmware-ts/firmware/boot-control.js';
import { FlashError, FlashReceiver } from '../../firmware-ts/firmware/flash-receiver.js';
import { readSlotState, writeFileDurably } from '../../firmware-ts/firmware/slot-state.js';
import { describeImage } from '../../host-bridge/bundle/build-bundle.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';

const SLOTS = '/data/slots';
const keys = generateKeyPairSync('ed25519');
const target = `${process.platform}-${process.arch}`;
const image = packImage([
  { path: 'posj.mjs', mode: 0o644, bytes: Buffer.from('new firmware '.repeat(2000)) },
  { path: 'native/serialport.node', mode: 0o644, bytes: Buffer.from('native') },
]);
const signed = (img: Buffer) => Buffer.from(JSON.stringify(signManifest(describeImage(img, { version: '0.1.0', buildId: 'test', target, minVersion: '0.1.0' }), keys.privateKey)));

function factory(): SimDisk {
  const disk = new SimDisk();
  disk.mkdirp(path.join(SLOTS, 'a'));
  writeFileDurably(disk, path.join(SLOTS, 'a', 'posj.mjs'), Buffer.from('old firmware'));
  writeFileDurably(disk, path.join(SLOTS, 'a', 'manifest.json'), Buffer.from('{"factory":true}'));
  return disk;
}

const receiver = (disk: SimDisk) => new FlashReceiver({ storage: disk, slotsDir: SLOTS, trustedKeys: [keys.publicKey], freeBytes: () => 1e9, target });

/** Begin, every chunk, commit: the error commit throws, or null. */
function flashImage(disk: SimDisk, img: Buffer): FlashError | null {
  const z = deflateRawSync(img);
  const r = receiver(disk);
  r.begin(signed(img), z.length, false);
  for (let at = 0; at < z.length; at += 4096) r.chunk(at, z.subarray(at, at + 4096));
  try {
    r.commit();
    return null;
  } catch (e) {
    return e as FlashError;
  }
}

describe('flash refusals that a retry cannot cure', () => {
  it('a signed but truncated image is FLASH_BAD_IMAGE, its upload discarded, no slot touched', () => {
    const disk = factory();
    // Cut inside posj.mjs's bytes, as a copy that stopped short would; the manifest signs the cut file.
    const truncated = image.subarray(0, image.length - 5000);
    const e = flashImage(disk, truncated);
    expect(e).toBeInstanceOf(FlashError);
    expect(e!.code).toBe('FLASH_BAD_IMAGE');
    expect(e!.message).toMatch(/malformed \(firmware image at byte \d+: size of posj\.mjs runs past the end\)/);
    for (const f of ['image.z', 'progress.json', 'manifest.json']) expect(disk.exists(path.join(SLOTS, 'incoming', f)), f).toBe(false);
    expect(disk.exists(path.join(SLOTS, 'b'))).toBe(false);
    expect(readSlotState(disk, SLOTS)).toEqual({ active: 'a', confirmed: 'a', trying: null });
    // A good image flashes next, from offset 0 (nothing of the bad one is resumed).
    const z = deflateRawSync(image);
    expect(receiver(disk).begin(signed(image), z.length, false).offset).toBe(0);
  });

  it('a flash while a slot is under test is FLASH_SLOT_UNDER_TEST and says to reboot the terminal', () => {
    const disk = factory();
    expect(flashImage(disk, image)).toBeNull();
    const z = deflateRawSync(image);
    let e: FlashError | null = null;
    try {
      receiver(disk).begin(signed(image), z.length, false);
    } catch (err) {
      e = err as FlashError;
    }
    expect(e?.code).toBe('FLASH_SLOT_UNDER_TEST');
    expect(e?.message).toContain('slot b holds a build still under test (boot 0 of its trial): reboot the terminal (posj-bridge reboot');
  });
});

describe('the launcher\'s deadline for a slot under test', () => {
  it('failTrial gives the unconfirmed slot up for the confirmed one and keeps the reason', () => {
    const disk = factory();
    expect(flashImage(disk, image)).toBeNull();
    expect(decideBoot(disk, SLOTS, 3).slot).toBe('b');
    expect(failTrial(disk, SLOTS, 'b')).toEqual({ from: 'b', boots: 1, reason: 'confirm-deadline' });
    expect(readSlotState(disk, SLOTS)).toEqual({ active: 'a', confirmed: 'a', trying: null, rolledBack: { from: 'b', boots: 1, reason: 'confirm-deadline' } });
    expect(decideBoot(disk, SLOTS, 3).slot).toBe('a');
    // The next install clears the old rollback, so a bench reads it as this trial's only.
    expect(flashImage(disk, image)).toBeNull();
    expect(readSlotState(disk, SLOTS).rolledBack).toBeUndefined();
  });

  it('a slot that confirmed itself before the deadline is left alone', () => {
    const disk = factory();
    expect(flashImage(disk, image)).toBeNull();
    decideBoot(disk, SLOTS, 3);
    expect(confirmSlot(disk, SLOTS, 'b')).toBe(true);
    expect(failTrial(disk, SLOTS, 'b')).toBeNull();
    expect(readSlotState(disk, SLOTS)).toEqual({ active: 'b', confirmed: 'b', trying: null });
  });

  it('boot counting names its reason too', () => {
    const disk = factory();
    expect(flashImage(disk, image)).toBeNull();
    for (let i = 0; i < 3; i++) expect(decideBoot(disk, SLOTS, 3).slot).toBe('b');
    expect(decideBoot(disk, SLOTS, 3).rolledBack).toEqual({ from: 'b', boots: 3, reason: 'max-boots' });
  });
});
