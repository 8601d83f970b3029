// npm run bundle: one JavaScript file from firmware-ts + protocol + npm packages, the native serial binding
// beside it, both packed into an image whose signed manifest a terminal can check.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildBundle, type BundleResult } from '../../host-bridge/bundle/build-bundle.js';
import { ImageError, packImage, unpackImage } from '../../protocol/firmware/image.js';
import { ManifestError, parseSignedManifest, verifyManifest } from '../../protocol/firmware/manifest.js';
import { FORMAT_VERSION } from '../../protocol/journal/format.js';
import { tmpDir } from '../helpers/tmp.js';

const keys = generateKeyPairSync('ed25519');
let r: BundleResult;

beforeAll(async () => {
  r = await buildBundle({ root: process.cwd(), outDir: tmpDir('bundle'), signingKey: keys.privateKey, target: `${process.platform}-${process.arch}`, libc: 'glibc', minVersion: '0.1.0' });
});

describe('npm run bundle', () => {
  it('bundles only firmware-ts/, protocol/ and npm packages', () => {
    expect(Object.keys(r.inputs)).toContain('firmware-ts');
    expect(Object.keys(r.inputs)).toContain('protocol');
    expect(Object.keys(r.inputs)).not.toContain('host-bridge');
    expect(Object.keys(r.inputs)).not.toContain('better-sqlite3');
  });

  it('refuses an entry that reaches into host-bridge/', async () => {
    await expect(buildBundle({ root: process.cwd(), outDir: tmpDir('bundle-bad'), signingKey: keys.privateKey, target: `${process.platform}-${process.arch}`, libc: 'glibc', minVersion: '0.1.0', entry: 'test/bundle/fixtures/wrong-way-entry.ts' })).rejects.toThrow(/only firmware-ts\/, protocol\/ and npm packages/);
  });

  it('writes an image whose size and SHA-256 the signed manifest states, with journal formats it reads', () => {
    const image = fs.readFileSync(r.imagePath);
    const signed = parseSignedManifest(fs.readFileSync(r.manifestPath));
    verifyManifest(signed, [keys.publicKey]);
    expect(signed.manifest.size).toBe(image.length);
    expect(signed.manifest.sha256).toBe(createHash('sha256').update(image).digest('hex'));
    expect(signed.manifest.journal.segmentFormat).toBe(FORMAT_VERSION);
    expect(signed.manifest.journal.records['auth.intent'] ?? Object.values(signed.manifest.journal.records)[0]).toBeGreaterThanOrEqual(1);
    expect(unpackImage(image).map((f) => f.path)).toEqual(['posj.mjs', 'native/serialport.node']);
  });

  it('a changed manifest or another key does not verify', () => {
    const signed = parseSignedManifest(fs.readFileSync(r.manifestPath));
    const other = generateKeyPairSync('ed25519');
    expect(() => verifyManifest(signed, [other.publicKey])).toThrow(expect.objectContaining({ problem: 'unknown-key' }));
    const forged = { ...signed, manifest: { ...signed.manifest, version: '9.9.9' } };
    expect(() => verifyManifest(forged, [keys.publicKey])).toThrow(ManifestError);
    expect(() => verifyManifest(forged, [keys.publicKey])).toThrow(expect.objectContaining({ problem: 'bad-signature' }));
    expect(() => parseSignedManifest(Buffer.from('{"manifest":{}}'))).toThrow(expect.objectContaining({ problem: 'malformed' }));
  });

  it('runs from a bare directory with the native binding beside it, and not without it', () => {
    const slot = tmpDir('slot');
    for (const f of unpackImage(fs.readFileSync(r.imagePath))) {
      fs.mkdirSync(path.join(slot, path.dirname(f.path)), { recursive: true });
      fs.writeFileSync(path.join(slot, f.path), f.bytes, { mode: f.mode });
    }
    const run = (...args: string[]) => spawnSync(process.execPath, [path.join(slot, 'posj.mjs'), ...args], { cwd: slot, encoding: 'utf8' });
    expect(run('--version').stdout.trim()).toBe(r.signed.manifest.version);
    const j = path.join(slot, 'journal');
    expect(run('journal', 'fill', j, '--records', '50').status).toBe(0);
    expect(run('journal', 'verify', j).status).toBe(0);
    expect(run('--help').stdout).not.toContain('sim ');
    fs.rmSync(path.join(slot, 'native'), { recursive: true });
    const bare = run('--version');
    expect(bare.status).not.toBe(0);
    expect(bare.stderr).toContain('native/serialport.node');
  });

  it('the image parser refuses bad magic, a path out of the slot, and a truncated file', () => {
    const good = packImage([{ path: 'a.txt', mode: 0o644, bytes: Buffer.from('hello') }]);
    expect(unpackImage(good)[0]!.bytes.toString()).toBe('hello');
    expect(() => unpackImage(Buffer.concat([Buffer.from('XXXXXXXX'), good.subarray(8)]))).toThrow(ImageError);
    expect(() => packImage([{ path: '../etc/passwd', mode: 0o644, bytes: Buffer.alloc(1) }])).toThrow(/bad path/);
    const evil = Buffer.from(good.toString('latin1').replace('"a.txt"', '"../ab"'), 'latin1');
    expect(() => unpackImage(evil)).toThrow(/bad path/);
    expect(() => unpackImage(good.subarray(0, good.length - 1))).toThrow(/runs past the end/);
  });
});
