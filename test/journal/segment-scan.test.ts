// The segment scanner on images cut short (fuzz finding of issue 14's long run: a valid header in a 499-byte
// file scanned to an end offset of 512, past the end of the file, and recovery would have written there), and
// on hand-built images: each kind of bad record named in its own words at its own offset, a torn tail told
// from corruption by a later record that vouches for the damaged batch (and only by such a record), an
// incomplete batch at the end, sector padding, and the zero-run search the tail's size comes from.
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JournalCorruptionError } from '../../firmware-ts/journal/errors.js';
import { endOfNonZero, scanSegment } from '../../firmware-ts/journal/segment-scan.js';
import { crc32, encodeRecord, encodeSegmentHeader, encodeSegmentHeaderBody, FLAG_LAST_IN_BATCH, FORMAT_VERSION, MAC_BYTES, MAX_PAYLOAD_BYTES, recordSpan, SEGMENT_DATA_START, SECTOR_BYTES } from '../../protocol/journal/format.js';

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

const NAME = 'seg-0000000000000064.wal';
const FIRST = 100;

/** A segment of `sectors` sectors starting at seq 100, with these batches written one after another (each batch sector-aligned when `sync`). */
function image(batches: { seqs?: number[]; count: number; durableThrough?: number; sync?: boolean }[], sectors = 16): { img: Buffer; offsets: number[]; ends: number[] } {
  const img = Buffer.alloc(sectors * SECTOR_BYTES);
  encodeSegmentHeader(encodeSegmentHeaderBody({ formatVersion: FORMAT_VERSION, segmentBytes: img.length, firstSeq: FIRST, prevMac: Buffer.alloc(MAC_BYTES) }), Buffer.alloc(MAC_BYTES, 7)).copy(img, 0);
  let at = SEGMENT_DATA_START;
  let seq = FIRST;
  const offsets: number[] = [];
  const ends: number[] = [];
  for (const b of batches) {
    // What a writer knows synced when it writes a batch: everything before the batch (at most).
    const synced = b.durableThrough ?? seq - 1;
    for (let i = 0; i < b.count; i++) {
      const payload = Buffer.from(JSON.stringify({ n: seq, pad: 'x'.repeat(40) }));
      offsets.push(at);
      at += encodeRecord(img, at, { typeCode: 300, version: 1, flags: i === b.count - 1 ? FLAG_LAST_IN_BATCH : 0, seq: b.seqs?.[i] ?? seq, durableThrough: synced, mac: Buffer.alloc(MAC_BYTES, 1) }, payload);
      seq++;
    }
    ends.push(at);
    if (b.sync) at = Math.ceil(at / SECTOR_BYTES) * SECTOR_BYTES;
  }
  return { img, offsets, ends };
}

/** One past the last non-zero byte before `to` (a record's zero padding is not torn data). */
const dirtyTo = (img: Buffer, to: number) => {
  let i = to;
  while (i > 0 && img[i - 1] === 0) i--;
  return i;
};

const refix = (img: Buffer, at: number) => img.writeUInt32LE(crc32(img.subarray(at + 4, at + 48 + img.readUInt32LE(at + 4))), at);

describe('scanSegment on hand-built images', () => {
  it('a clean segment: every record, the end after the last batch, sector padding after a sync skipped', () => {
    const { img, ends } = image([{ count: 2, sync: true }, { count: 3, sync: true }, { count: 1 }]);
    const scan = scanSegment(NAME, img, false);
    expect(scan.records.map((r) => r.seq)).toEqual([100, 101, 102, 103, 104, 105]);
    expect([scan.endOffset, scan.nextSeq, scan.tail]).toEqual([ends[2], 106, { kind: 'clean' }]);
    expect(JSON.parse(scan.records[3]!.payloadText())).toEqual({ n: 103, pad: 'x'.repeat(40) });
    expect(scan.records[3]!.mac).toEqual(Buffer.alloc(MAC_BYTES, 1));
  });

  it('each bad record is named in its own words, at its offset: torn in the newest segment, corrupt in an older one', () => {
    const cases: [string, (img: Buffer, at: number) => void][] = [
      ['record checksum mismatch', (img, at) => void (img[at + 60] = img[at + 60]! ^ 1)],
      [`record length over the ${MAX_PAYLOAD_BYTES}-byte limit`, (img, at) => img.writeUInt32LE(MAX_PAYLOAD_BYTES + 1, at + 4)],
      ['record runs past the end of the segment', (img, at) => (img.writeUInt32LE(img.length, at + 4), refix(img, at))],
      ['expected seq 102, found 107', (img, at) => (img.writeUInt32LE(107, at + 16), refix(img, at))],
      ['zeroed record header', (img, at) => img.fill(0, at, at + 8)],
    ];
    for (const [reason, damage] of cases) {
      const { img, offsets, ends } = image([{ count: 2, sync: true }, { count: 2 }]);
      damage(img, offsets[2]!);
      const newest = scanSegment(NAME, img, true);
      // The tail starts at its first non-zero byte (a zeroed header's first 8 bytes are not part of it).
      const from = offsets[2]! + (reason === 'zeroed record header' ? 8 : 0);
      expect(newest.tail, reason).toEqual({ kind: 'torn', offset: from, bytes: dirtyTo(img, ends[1]!) - from, reason });
      expect(newest.records.map((r) => r.seq), reason).toEqual([100, 101]);
      expect(newest.nextSeq).toBe(102);
      const older = scanSegment(NAME, img, false);
      expect(older.tail, reason).toEqual({ kind: 'corrupt', offset: offsets[2], reason: `${reason} (in an older segment)` });
    }
  });

  it('a later record written when the damaged batch was durable makes it corruption, naming the voucher; one that was not, or a copy of the same seq, does not', () => {
    for (const [durableThrough, seqs, vouches] of [
      [102, undefined, true],
      [101, undefined, false],
      [102, [102, 102], false],
      [102, [102 + 0x8000_0000, 102 + 0x8000_0001], false],
    ] as const) {
      // Batch 2 (seqs 102, 103) damaged; batch 3 (104, 105) written after a sync that covered it, or not.
      const { img, offsets } = image([{ count: 2, sync: true }, { count: 2, sync: true }, { count: 2, durableThrough, ...(seqs ? { seqs: [...seqs] } : {}) }]);
      img[offsets[2]! + 60] = img[offsets[2]! + 60]! ^ 1;
      const tail = scanSegment(NAME, img, true).tail;
      if (vouches) expect(tail, `${durableThrough}`).toEqual({ kind: 'corrupt', offset: offsets[2], reason: `record checksum mismatch, yet a later record at offset ${offsets[4]} was written after it was durable` });
      else expect(tail.kind, `${durableThrough} ${seqs}`).toBe('torn');
    }
  });

  it('a torn record whose CRC begins with zero bytes is still torn from its own offset (CI: 74 bytes reported for a 75-byte cut)', () => {
    for (let zeros = 1; zeros <= 4; zeros++) {
      const { img, offsets, ends } = image([{ count: 2, sync: true }, { count: 2 }]);
      img.fill(0, offsets[2]!, offsets[2]! + zeros);
      const tail = scanSegment(NAME, img, true).tail;
      expect(tail, `${zeros}`).toEqual({ kind: 'torn', offset: offsets[2], bytes: dirtyTo(img, ends[1]!) - offsets[2]!, reason: 'record checksum mismatch' });
    }
  });

  it('a zeroed header in the middle of a batch is damage, not sector padding', () => {
    const { img, offsets } = image([{ count: 1, sync: true }, { count: 3 }]);
    img.fill(0, offsets[2]!, offsets[2]! + 8);
    expect(offsets[2]! % SECTOR_BYTES).not.toBe(0);
    const scan = scanSegment(NAME, img, true);
    expect(scan.records.map((r) => r.seq)).toEqual([100]);
    expect(scan.tail).toMatchObject({ kind: 'torn', offset: offsets[1], reason: 'zeroed record header' });
  });

  it('a segment image that ends inside a batch: an incomplete batch at the end, torn in the newest, corrupt in an older one', () => {
    const { img, offsets } = image([{ count: 1, sync: true }, { count: 3 }]);
    const cut = img.subarray(0, offsets[3]);
    expect(scanSegment(NAME, cut, true).tail).toEqual({ kind: 'torn', offset: offsets[1], bytes: dirtyTo(cut, cut.length) - offsets[1]!, reason: 'incomplete batch at end of segment' });
    const { ends } = image([{ count: 1, sync: true }, { count: 3 }]);
    expect(scanSegment(NAME, cut, false).tail).toEqual({ kind: 'corrupt', offset: ends[0], reason: 'incomplete batch at end of segment (in an older segment)' });
  });

  it('a bad header is refused by what is wrong with it', () => {
    const { img } = image([{ count: 1 }]);
    for (const [edit, what] of [
      [(b: Buffer) => void (b[0] = 0x41), 'magic'],
      [(b: Buffer) => void (b[20] = b[20]! ^ 1), 'checksum'],
    ] as const) {
      const b = Buffer.from(img);
      edit(b);
      expect(() => scanSegment(NAME, b, true)).toThrow(new JournalCorruptionError(NAME, 0, `segment header: ${what}`));
    }
  });
});

describe('endOfNonZero', () => {
  it('is one past the last non-zero byte in the range, or its start, across 64 KiB chunks', () => {
    const naive = (b: Buffer, from: number, to: number) => {
      for (let i = to - 1; i >= from; i--) if (b[i] !== 0) return i + 1;
      return from;
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), fc.array(fc.integer({ min: 0, max: 199_999 }), { maxLength: 3 }), fc.integer({ min: 0, max: 200_000 }), (len, marks, fromRaw) => {
        const b = Buffer.alloc(len);
        for (const m of marks) if (m < len) b[m] = 1 + (m % 255);
        const from = Math.min(fromRaw, len);
        expect(endOfNonZero(b, from, len)).toBe(naive(b, from, len));
      }),
      { numRuns: 200 },
    );
    // Exactly on a chunk's first byte, counted from the end.
    const b = Buffer.alloc(3 * 65_536);
    b[65_536] = 9;
    expect(endOfNonZero(b, 0, b.length)).toBe(65_537);
    b[65_536] = 0;
    b[0] = 1;
    expect(endOfNonZero(b, 0, b.length)).toBe(1);
    expect(endOfNonZero(b, 1, b.length)).toBe(1);
  });
});
