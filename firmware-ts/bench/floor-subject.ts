// The physical floor: what any design must at least do per sale on this disk. A preallocated, zero-filled
// file (written and fsynced before the clock starts, so appends never change file metadata), then per sale
// pwrite + fdatasync of the intent record, the same for the outcome, and a pwrite alone for the printed
// record. No framing, checksums or encoding: only the bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchPlan, BenchSubject } from './subject.js';
import { jsonSaleRecordSizes, type SaleRecordSizes } from './record-sizes.js';

const PREALLOC_CHUNK = 1 << 20;

export function floorSubject(recordSizes: SaleRecordSizes = jsonSaleRecordSizes): BenchSubject {
  let fd = -1;
  let offset = 0;
  let sizes: (readonly [number, number, number])[] = [];
  let record = Buffer.alloc(0);
  let syncs = 0;

  const put = (length: number) => {
    fs.writeSync(fd, record, 0, length, offset);
    offset += length;
  };

  return {
    name: 'floor',
    detail: 'preallocated zero-filled file; per sale pwrite+fdatasync (intent), pwrite+fdatasync (outcome), pwrite (printed)',
    async open(dir: string, plan: BenchPlan) {
      sizes = Array.from({ length: plan.sales }, (_, i) => recordSizes(i));
      const total = sizes.reduce((sum, [a, b, c]) => sum + a + b + c, 0);
      record = Buffer.alloc(Math.max(...sizes.flat(), 1), 0x5a);
      const file = path.join(dir, 'floor.bin');
      fd = fs.openSync(file, 'wx+', 0o600);
      const zeros = Buffer.alloc(PREALLOC_CHUNK);
      for (let at = 0; at < total; at += PREALLOC_CHUNK) fs.writeSync(fd, zeros, 0, PREALLOC_CHUNK, at);
      fs.fsyncSync(fd);
      const dirFd = fs.openSync(dir, 'r');
      fs.fsyncSync(dirFd);
      fs.closeSync(dirFd);
      offset = 0;
      syncs = 0;
    },
    async sale(i: number) {
      const s = sizes[i];
      if (!s) throw new RangeError(`floor: sale ${i} is beyond the ${sizes.length} sales this round planned`);
      put(s[0]);
      fs.fdatasyncSync(fd);
      put(s[1]);
      fs.fdatasyncSync(fd);
      put(s[2]);
      syncs += 2;
    },
    syncs: () => syncs,
    async close() {
      fs.closeSync(fd);
      fd = -1;
    },
  };
}
