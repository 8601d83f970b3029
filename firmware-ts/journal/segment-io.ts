import * as path from 'node:path';
import { MAX_SEGMENT_BYTES } from '../../protocol/journal/format.js';
import type { Storage, StorageFile } from '../io/storage.js';
import { JournalCorruptionError } from './errors.js';

/** The preallocated segment-to-be; a leftover one after a crash is never referenced and is removed. */
export const SPARE_NAME = 'spare.tmp';

const ZEROS = Buffer.alloc(256 * 1024);

export function writeZeros(file: StorageFile, at: number, length: number): void {
  let done = 0;
  while (done < length) {
    const n = Math.min(ZEROS.length, length - done);
    file.write(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n), at + done);
    done += n;
  }
}

export function readWhole(storage: Storage, filePath: string): Buffer {
  const f = storage.open(filePath, 'r');
  try {
    const size = f.size();
    if (size > MAX_SEGMENT_BYTES) throw new JournalCorruptionError(path.basename(filePath), 0, `segment file is ${size} bytes, over the ${MAX_SEGMENT_BYTES}-byte limit`);
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = f.read(buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    f.close();
  }
}
