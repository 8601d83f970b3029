// The suite's on-disk PIN block scan: what a simulated PIN pad notes (keyed fingerprints, never the block)
// is enough to find each block afterwards in any file, in every form it could take, at its byte offset —
// and the notes themselves hold no block in any form.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEY_ENV, notePinBlock, REGISTRY_ENV, scanForPinBlocks } from '../../host-bridge/sim/pin-block-registry.js';
import { tmpDir } from '../helpers/tmp.js';

describe('PIN block fingerprints and the scan', () => {
  it('finds each noted block raw, as hex in either case and as base64, at its offset; nothing else', () => {
    const dir = tmpDir('pin-scan');
    const files = path.join(dir, 'files');
    fs.mkdirSync(files);
    const registry = path.join(dir, 'registry');
    const key = randomBytes(32).toString('hex');
    const env = { [REGISTRY_ENV]: registry, [KEY_ENV]: key };
    const a = Buffer.from('5CB134481FA2130D', 'hex');
    const b = Buffer.from('8AF0C3E19B27D4A6', 'hex');
    const never = Buffer.from('0123456789ABCDEF', 'hex');
    // Mostly zero bytes, in a file of long zero runs (the scan skips those): found where it starts, 4 KiB
    // aligned, and where it straddles a 4 KiB boundary.
    const z = Buffer.from('00AB000000CD0000', 'hex');
    notePinBlock(a, env);
    notePinBlock(b, env);
    notePinBlock(z, env);
    const noise = (n: number) => Buffer.alloc(n, 0x20);
    fs.writeFileSync(path.join(files, 'raw.bin'), Buffer.concat([randomBytes(100).fill(0x41), a, noise(30)]));
    fs.writeFileSync(path.join(files, 'log.bin'), Buffer.concat([Buffer.from('{"note":"'), b, Buffer.from('"}')]));
    fs.writeFileSync(path.join(files, 'hex.txt'), `pinBlock=${b.toString('hex')} and ${a.toString('hex').toUpperCase()}`);
    fs.mkdirSync(path.join(files, 'deep'));
    fs.writeFileSync(path.join(files, 'deep', 'b64.txt'), `${'-'.repeat(7)}${a.toString('base64')}`);
    const zeros = Buffer.alloc(3 * 4096);
    z.copy(zeros, 4096);
    z.copy(zeros, 2 * 4096 - 3);
    fs.writeFileSync(path.join(files, 'segment.wal'), zeros);
    fs.writeFileSync(path.join(files, 'clean.bin'), Buffer.concat([never, Buffer.from(never.toString('hex')), noise(5000)]));

    const r = scanForPinBlocks(files, registry, key);
    expect(r.blocks).toBe(3);
    expect(r.files).toBe(6);
    const rel = r.hits.map((h) => path.relative(files, h.split(' at ')[0]!) + ' at' + h.split(' at')[1]).sort();
    expect(rel).toEqual([
      'deep/b64.txt at byte 7 (base64)',
      `hex.txt at byte ${9 + 16 + 5} (hex)`,
      'hex.txt at byte 9 (hex-lower)',
      `log.bin at byte ${'{"note":"'.length} (raw)`,
      'raw.bin at byte 100 (raw)',
      'segment.wal at byte 4096 (raw)',
      `segment.wal at byte ${2 * 4096 - 3} (raw)`,
    ]);
    // The notes name no block in any form, not even to this scan.
    expect(scanForPinBlocks(registry, registry, key).hits).toEqual([]);
    // Without the run's key the notes find nothing.
    expect(scanForPinBlocks(files, registry, randomBytes(32).toString('hex')).hits).toEqual([]);
  });

  it('notes nothing without both the directory and a key in the environment', () => {
    const registry = path.join(tmpDir('pin-scan'), 'registry');
    notePinBlock(randomBytes(8), { [REGISTRY_ENV]: registry });
    notePinBlock(randomBytes(8), { [KEY_ENV]: randomBytes(32).toString('hex') });
    expect(fs.existsSync(registry)).toBe(false);
  });
});
