// The segment scanner on images cut short (fuzz finding of issue 14's long run: a valid header in a 499-byte
// file scanned to an end offset of 512, past the end of the file, and recovery would have written there).
import { describe, expect, it } from 'vitest';
import { JournalCorruptionError } from '../../firmware-ts/journal/errors.js';
import { scanSegment } from '../../firmware-ts/journal/segment-scan.js';
import { encodeSegmentHeader, encodeSegmentHeaderBody, FORMAT_VERSION, MAC_BYTES, SEGMENT_DATA_START, SECTOR_BYTES } from '../../protocol/journal/format.js';

const segment = (bytes: number) => {
  const img = Buffer.alloc(bytes);
  encodeSegmentHeader(encodeSegmentHeaderBody({ formatVersion: FORMAT_VERSION, segmentBytes: 4 * SECTOR_BYTES, firstSeq: 1, prevMac: Buffer.alloc(MAC_BYTES) }), Buffer.alloc(MAC_BYTES, 7)).copy(img, 0);
  return img;
};

describe('scanSegment on a file cut inside its header area', () => {
  it('is refused, naming the size, whatever the cut', () => {
    for (const bytes of [100, 499, SEGMENT_DATA_START - 1]) {
      const scan = () => scanSegment('seg-0000000000000001.wal', segment(bytes), true);
      expect(scan).toThrow(JournalCorruptionError);
      expect(scan).toThrow(`segment file is ${bytes} bytes, shorter than its ${SEGMENT_DATA_START}-byte header area: truncated`);
    }
  });

  it('one that ends where the records begin holds none, and ends inside the file', () => {
    const scan = scanSegment('seg-0000000000000001.wal', segment(SEGMENT_DATA_START), true);
    expect(scan.records).toEqual([]);
    expect(scan.endOffset).toBe(SEGMENT_DATA_START);
    expect(scan.nextSeq).toBe(1);
  });
});
