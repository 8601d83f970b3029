// The simulator's card-data scan of the disk after every reboot looks again only where a file changed since
// its last clean scan (DiskScan). It must answer exactly what a whole scan answers: a PAN or a PIN block
// written across the edge of a changed sector, a PIN block formed after the last scan, a file that shrank
// or grew, a file under a new name.
import { describe, expect, it } from 'vitest';
import { DiskScan } from '../../host-bridge/terminal-sim/sim-checks.js';
import { createRng } from '../../host-bridge/terminal-sim/rng.js';
import { pinBlockForms } from '../../firmware-ts/pci/pin-blocks-in-flight.js';

const PAN = '4111111111111111';
const whole = (path: string, bytes: Buffer, blocks: Buffer[]) => new DiskScan().file(path, bytes, blocks);

describe('incremental disk scan', () => {
  it('finds a PAN written in a changed sector next to unchanged digits, at the offset a whole scan reports', () => {
    const scan = new DiskScan();
    const a = Buffer.alloc(2048, 0x20);
    a.write(PAN.slice(0, 8), 512 - 8, 'latin1'); // the first half ends sector 0
    expect(scan.file('/f', Buffer.from(a), [])).toEqual({ panAt: -1, pinAt: -1 });
    const b = Buffer.from(a);
    b.write(PAN.slice(8), 512, 'latin1'); // the second half starts sector 1: only sector 1 changed
    expect(scan.file('/f', b, [])).toEqual({ panAt: 504, pinAt: -1 });
    expect(whole('/f', b, [])).toEqual({ panAt: 504, pinAt: -1 });
  });

  it('finds a PIN block formed after the last scan in bytes that did not change, and one in a changed sector', () => {
    const block = Buffer.from('5CB134481FA2130D', 'hex');
    const scan = new DiskScan();
    const a = Buffer.alloc(4096);
    Buffer.from(block.toString('hex')).copy(a, 3000);
    // The block was not formed yet: the file is clean.
    expect(scan.file('/f', Buffer.from(a), [])).toEqual({ panAt: -1, pinAt: -1 });
    expect(scan.file('/f', Buffer.from(a), [block])).toEqual({ panAt: -1, pinAt: 3000 });

    const scan2 = new DiskScan();
    const c = Buffer.alloc(4096);
    expect(scan2.file('/g', Buffer.from(c), [block])).toEqual({ panAt: -1, pinAt: -1 });
    const b64 = Buffer.from(block.toString('base64').replace(/=+$/, ''));
    b64.copy(c, 1024 - 5); // across the edge of sectors 1 and 2
    expect(scan2.file('/g', c, [block])).toEqual(whole('/g', c, [block]));
    expect(scan2.file('/g', c, [block]).pinAt).toBe(1024 - 5);

    // Its first bytes were on disk already at the last scan; only the sector of its last bytes changed.
    const scan3 = new DiskScan();
    const d = Buffer.alloc(4096);
    b64.copy(d, 1024 - 5, 0, 5);
    expect(scan3.file('/h', Buffer.from(d), [block])).toEqual({ panAt: -1, pinAt: -1 });
    b64.copy(d, 1024, 5);
    expect(scan3.file('/h', d, [block])).toEqual({ panAt: -1, pinAt: 1024 - 5 });
  });

  it('agrees with a whole scan over random files changed at random (writes, garbage, growth, truncation)', () => {
    const rng = createRng(1234);
    const blocks = Array.from({ length: 4 }, () => Buffer.from(rng.fill(new Uint8Array(8))));
    const plant = (bytes: Buffer) => {
      const what = rng.int(4);
      const at = rng.int(Math.max(1, bytes.length - 40));
      if (what === 0) bytes.write(PAN, at, 'latin1');
      else if (what === 1) {
        const forms = pinBlockForms(blocks[rng.int(blocks.length)]!);
        forms[rng.int(forms.length)]!.copy(bytes, at);
      } else if (what === 2) bytes.write('12345678901234567890'.slice(0, 10 + rng.int(10)), at, 'latin1');
      else rng.fill(bytes.subarray(at, at + 1 + rng.int(600)));
    };
    let found = 0;
    for (let round = 0; round < 200; round++) {
      const scan = new DiskScan();
      let bytes = Buffer.alloc(512 * (1 + rng.int(12)), 0x20);
      for (let step = 0; step < 12; step++) {
        bytes = Buffer.from(bytes);
        const change = rng.int(10);
        if (change === 0) bytes = bytes.subarray(0, rng.int(bytes.length + 1));
        else if (change === 1) bytes = Buffer.concat([bytes, Buffer.alloc(rng.int(2000), 0x31)]);
        else if (change < 4) plant(bytes);
        else if (bytes.length > 0) bytes[rng.int(bytes.length)] = 0x30 + rng.int(10);
        const known = blocks.slice(0, 1 + rng.int(blocks.length));
        const got = scan.file('/seg', Buffer.from(bytes), known);
        expect(got, `round ${round} step ${step}`).toEqual(whole('/seg', bytes, known));
        if (got.panAt >= 0 || got.pinAt >= 0) {
          found++;
          break;
        }
      }
    }
    expect(found).toBeGreaterThan(50);
  });
});
