// Reading a whole segment and zero-filling one (segment-io.ts) through the Storage interface, whose reads may
// come back short: the whole image assembled however the reads are cut, a file that shrank read as far as it
// goes, a file too large to be a segment refused by name before it is read, and zeros written exactly where asked.
import { describe, expect, it } from 'vitest';
import { JournalCorruptionError } from '../../firmware-ts/journal/errors.js';
import { readWhole, writeZeros } from '../../firmware-ts/journal/segment-io.js';
import type { Storage, StorageFile } from '../../firmware-ts/io/storage.js';
import { MAX_SEGMENT_BYTES } from '../../protocol/journal/format.js';

/** A file of `data` that says it is `size` bytes and answers at most `chunk` bytes per read. */
function fakeFile(data: Buffer, size = data.length, chunk = Infinity): StorageFile & { writes: [number, number][]; closed: boolean } {
  const f = {
    path: '/j/seg-0000000000000001.wal',
    writes: [] as [number, number][],
    closed: false,
    size: () => size,
    read(buf: Buffer, offset: number, length: number, position: number): number {
      expect(offset + length).toBeLessThanOrEqual(buf.length);
      const n = Math.max(0, Math.min(length, chunk, data.length - position));
      data.copy(buf, offset, position, position + n);
      return n;
    },
    write(buf: Buffer, position: number): void {
      expect(buf.every((b) => b === 0)).toBe(true);
      f.writes.push([position, buf.length]);
      buf.copy(data, position);
    },
    datasync: () => undefined,
    sync: () => undefined,
    truncate: () => undefined,
    close: () => void (f.closed = true),
  };
  return f;
}
const storageOf = (file: StorageFile): Storage => ({ open: () => file }) as unknown as Storage;

describe('segment io', () => {
  it('reads the whole file however the reads are cut, and closes it', () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    for (const chunk of [1, 999, 4096, Infinity]) {
      const f = fakeFile(data, data.length, chunk);
      expect(readWhole(storageOf(f), f.path).equals(data), `chunk ${chunk}`).toBe(true);
      expect(f.closed).toBe(true);
    }
  });

  it('a file that shrank under the read: what is there, no more', () => {
    const data = Buffer.alloc(600, 7);
    const f = fakeFile(data, 1_000, 256);
    const got = readWhole(storageOf(f), f.path);
    expect(got.length).toBe(600);
    expect(got.equals(data)).toBe(true);
  });

  it('a file too large to be a segment is refused by name and size before a byte is read, and closed', () => {
    const f = fakeFile(Buffer.alloc(0), MAX_SEGMENT_BYTES + 1);
    f.read = () => {
      throw new Error('must not read');
    };
    expect(() => readWhole(storageOf(f), f.path)).toThrow(new JournalCorruptionError('seg-0000000000000001.wal', 0, `segment file is ${MAX_SEGMENT_BYTES + 1} bytes, over the ${MAX_SEGMENT_BYTES}-byte limit`));
    expect(f.closed).toBe(true);
    // At the limit it is read.
    const g = fakeFile(Buffer.alloc(16, 1), MAX_SEGMENT_BYTES);
    expect(readWhole(storageOf(g), g.path).length).toBe(16);
  });

  it('writes zeros exactly over [at, at + length), in pieces of at most 256 KiB', () => {
    for (const [at, length] of [[0, 0], [10, 1], [4096, 256 * 1024], [100, 256 * 1024 + 1], [7, 600_000]] as const) {
      const data = Buffer.alloc(at + length + 64, 0xaa);
      const f = fakeFile(data);
      writeZeros(f, at, length);
      expect(data.subarray(0, at).every((b) => b === 0xaa), `${at}+${length} before`).toBe(true);
      expect(data.subarray(at, at + length).every((b) => b === 0), `${at}+${length}`).toBe(true);
      expect(data.subarray(at + length).every((b) => b === 0xaa), `${at}+${length} after`).toBe(true);
      expect(f.writes.every(([, n]) => n <= 256 * 1024)).toBe(true);
      expect(f.writes.reduce((n, [, k]) => n + k, 0)).toBe(length);
    }
  });
});
