// A power cut at every sync of a flash and of the slot switch (SimDisk keeps, drops, tears or garbles what
// was not synced), then a reboot: the launcher's decision must name a slot whose files are whole — the old
// firmware or the new, never a mix — and flashing the same bundle again resumes and completes.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import * as path from 'node:path';
import { packImage } from '../../protocol/firmware/image.js';
import { signManifest } from '../../protocol/firmware/manifest.js';
import { decideBoot } from '../../firmware-ts/firmware/boot-control.js';
import { FlashError, FlashReceiver } from '../../firmware-ts/firmware/flash-receiver.js';
import { readSlotState, writeFileDurably } from '../../firmware-ts/firmware/slot-state.js';
import type { Storage } from '../../firmware-ts/io/storage.js';
import { describeImage } from '../../host-bridge/bundle/build-bundle.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { PowerCutError, SimDisk, type CrashMode } from '../../host-bridge/terminal-sim/sim-disk.js';

const SLOTS = '/data/slots';
const keys = generateKeyPairSync('ed25519');
const target = `${process.platform}-${process.arch}`;
const OLD = { 'posj.mjs': Buffer.from('old firmware '.repeat(400)), 'native/serialport.node': Buffer.from('old native') };
const NEW = { 'posj.mjs': Buffer.from('new firmware with more to it '.repeat(3000)), 'native/serialport.node': Buffer.from('new native '.repeat(200)) };
const image = packImage(Object.entries(NEW).map(([p, bytes]) => ({ path: p, mode: 0o644, bytes })));
const manifest = Buffer.from(JSON.stringify(signManifest(describeImage(image, { version: '0.1.0', buildId: 'test', target, minVersion: '0.1.0' }), keys.privateKey)));
const compressed = deflateRawSync(image);

function read(disk: Storage, file: string): Buffer {
  const f = disk.open(file, 'r');
  const b = Buffer.alloc(f.size());
  f.read(b, 0, b.length, 0);
  f.close();
  return b;
}

function factory(): SimDisk {
  const disk = new SimDisk();
  disk.mkdirp(path.join(SLOTS, 'a', 'native'));
  for (const [p, bytes] of Object.entries(OLD)) writeFileDurably(disk, path.join(SLOTS, 'a', p), bytes);
  writeFileDurably(disk, path.join(SLOTS, 'a', 'manifest.json'), Buffer.from('{"factory":true}'));
  disk.syncDir(SLOTS);
  return disk;
}

const receiver = (disk: Storage) => new FlashReceiver({ storage: disk, slotsDir: SLOTS, trustedKeys: [keys.publicKey], freeBytes: () => 1e9, target });

/** The whole flash, 4 KiB chunks; throws PowerCutError when the disk loses power. */
function flashAll(disk: Storage): { resumedAt: number } {
  const r = receiver(disk);
  const { offset } = r.begin(manifest, compressed.length, false);
  for (let at = offset; at < compressed.length; at += 4096) r.chunk(at, compressed.subarray(at, at + 4096));
  r.commit();
  return { resumedAt: offset };
}

function bootedSlotIsWhole(disk: Storage): 'old' | 'new' {
  const d = decideBoot(disk, SLOTS, 3);
  const expect_ = d.slot === 'a' ? OLD : NEW;
  for (const [p, bytes] of Object.entries(expect_)) expect(read(disk, path.join(SLOTS, d.slot, p)).equals(bytes), `${d.slot}/${p}`).toBe(true);
  return d.slot === 'a' ? 'old' : 'new';
}

describe('flash and slot switch under power cuts', () => {
  it('a clean flash installs the new slot under test and leaves the old one confirmed', () => {
    const disk = factory();
    flashAll(disk);
    expect(readSlotState(disk, SLOTS)).toEqual({ active: 'b', confirmed: 'a', trying: { slot: 'b', boots: 0 } });
    expect(bootedSlotIsWhole(disk)).toBe('new');
  });

  it('a cut at every sync, before and after it, in every crash mode, leaves a whole slot to boot; the retry resumes and completes', () => {
    const clean = factory();
    const before = clean.stats.syncs;
    flashAll(clean);
    const syncs = clean.stats.syncs - before;
    expect(syncs).toBeGreaterThan(10);
    const outcomes = { old: 0, new: 0, resumedPastZero: 0 };
    const modes: CrashMode[] = ['drop', 'tear', 'garbage', 'keep'];
    for (let k = 1; k <= syncs; k++) {
      for (const phase of ['before', 'after'] as const) {
        for (const mode of modes) {
          const disk = factory();
          disk.crashAtSync(disk.stats.syncs + k, createRng(k * 31 + modes.indexOf(mode)), mode, phase);
          expect(() => flashAll(disk), `cut at sync ${k} ${phase} (${mode})`).toThrow(PowerCutError);
          outcomes[bootedSlotIsWhole(disk)]++;
          // Power back: the bench flashes again (a booted slot under test is confirmed first, as the daemon does).
          const state = readSlotState(disk, SLOTS);
          if (state.trying) {
            outcomes.new++;
            continue;
          }
          const again = flashAll(disk);
          if (again.resumedAt > 0) outcomes.resumedPastZero++;
          expect(bootedSlotIsWhole(disk)).toBe('new');
        }
      }
    }
    expect(outcomes.old).toBeGreaterThan(0);
    expect(outcomes.new).toBeGreaterThan(0);
    expect(outcomes.resumedPastZero).toBeGreaterThan(0);
  });

  it('refuses a bad signature, a downgrade, too little space, a wrong target and a journal it cannot read, touching nothing', () => {
    const disk = factory();
    const other = generateKeyPairSync('ed25519');
    const signedBy = (k: typeof other, o: Partial<ReturnType<typeof describeImage>> = {}) => Buffer.from(JSON.stringify(signManifest({ ...describeImage(image, { version: '0.1.0', buildId: 't', target, minVersion: '0.1.0' }), ...o }, k.privateKey)));
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as FlashError).code;
      }
      return 'accepted';
    };
    const r = receiver(disk);
    expect(code(() => r.begin(signedBy(other), compressed.length, false))).toBe('FLASH_BAD_SIGNATURE');
    const forged = JSON.parse(manifest.toString()) as { manifest: { version: string } };
    forged.manifest.version = '0.2.0';
    expect(code(() => r.begin(Buffer.from(JSON.stringify(forged)), compressed.length, false))).toBe('FLASH_BAD_SIGNATURE');
    expect(code(() => r.begin(signedBy(keys, { version: '0.0.9' }), compressed.length, false))).toBe('FLASH_DOWNGRADE');
    expect(code(() => r.begin(signedBy(keys, { version: '0.0.9' }), compressed.length, true))).toBe('accepted');
    expect(code(() => r.begin(signedBy(keys, { target: 'win32-ia32' }), compressed.length, false))).toBe('FLASH_WRONG_PRODUCT');
    expect(code(() => r.begin(signedBy(keys, { product: 'someone-elses-pos' }), compressed.length, false))).toBe('FLASH_WRONG_PRODUCT');
    expect(code(() => r.begin(signedBy(keys, { journal: { segmentFormat: 1, records: { 'auth.intent': 1 } } }), compressed.length, false))).toBe('FLASH_JOURNAL_INCOMPATIBLE');
    const small = new FlashReceiver({ storage: disk, slotsDir: SLOTS, trustedKeys: [keys.publicKey], freeBytes: () => 10_000, target });
    expect(code(() => small.begin(manifest, compressed.length, false))).toBe('FLASH_NO_SPACE');
    expect(readSlotState(disk, SLOTS)).toEqual({ active: 'a', confirmed: 'a', trying: null });
  });

  it('a corrupted image is refused at commit and the slots stay as they were', () => {
    const disk = factory();
    const r = receiver(disk);
    r.begin(manifest, compressed.length, false);
    const bad = Buffer.from(compressed);
    const mid = Math.floor(bad.length / 2);
    bad[mid] = bad[mid]! ^ 0x55;
    for (let at = 0; at < bad.length; at += 4096) r.chunk(at, bad.subarray(at, at + 4096));
    expect(() => r.commit()).toThrow(expect.objectContaining({ code: 'FLASH_BAD_IMAGE' }));
    expect(readSlotState(disk, SLOTS)).toEqual({ active: 'a', confirmed: 'a', trying: null });
    expect(bootedSlotIsWhole(disk)).toBe('old');
  });
});
