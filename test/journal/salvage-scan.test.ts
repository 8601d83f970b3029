// salvageScan and completeBatches on their own, on segment images built record by record: what repair
// salvages (every CRC-good record in the seq window, found again past garbage in 8-byte steps), what it
// counts as lost (non-zero bytes no good record accounts for), and which salvaged records form whole batches.
import { describe, expect, it } from 'vitest';
import { FLAG_LAST_IN_BATCH, RECORD_ALIGN, SEGMENT_DATA_START, encodeRecord, recordSpan } from '../../protocol/journal/format.js';
import { completeBatches, salvageScan, type SalvagedRecord } from '../../firmware-ts/journal/salvage-scan.js';

interface Placed {
  seq: number;
  offset: number;
  payload: Buffer;
  mac: Buffer;
  flags: number;
}

/** An image with records at SEGMENT_DATA_START on, each followed by `gapAfter[seq]` bytes (filled with `fill`). */
function image(seqs: number[], opts: { gapAfter?: Record<number, number>; fill?: number; size?: number } = {}): { img: Buffer; placed: Placed[] } {
  const img = Buffer.alloc(opts.size ?? 8192);
  img.fill(0x77, 0, SEGMENT_DATA_START); // the header area is not scanned
  const placed: Placed[] = [];
  let at = SEGMENT_DATA_START;
  for (const [i, seq] of seqs.entries()) {
    const payload = Buffer.from(JSON.stringify({ n: seq, pad: 'x'.repeat(i % 5) }));
    const mac = Buffer.alloc(16, seq & 0xff);
    const flags = seq % 3 === 0 ? FLAG_LAST_IN_BATCH : 0;
    const span = encodeRecord(img, at, { typeCode: 16 + (seq % 4), version: 1 + (seq % 2), flags, seq, durableThrough: seq - 1, mac }, payload);
    placed.push({ seq, offset: at, payload, mac, flags });
    at += span;
    const gap = opts.gapAfter?.[seq] ?? 0;
    img.fill(opts.fill ?? 0, at, at + gap);
    at += gap;
  }
  return { img, placed };
}

const summary = (r: SalvagedRecord) => ({ seq: r.seq, offset: r.offset, payload: r.payload.toString(), mac: r.mac.toString('hex'), flags: r.flags });
const expected = (p: Placed) => ({ seq: p.seq, offset: p.offset, payload: p.payload.toString(), mac: p.mac.toString('hex'), flags: p.flags });

describe('salvageScan', () => {
  it('reads every record of a clean image with its header fields, payload, MAC and the 28 bytes the MAC covers', () => {
    const { img, placed } = image([5, 6, 7, 8, 9]);
    const s = salvageScan('seg-5', img, SEGMENT_DATA_START, 1, 100);
    expect(s.unreadableBytes).toBe(0);
    expect(s.records.map(summary)).toEqual(placed.map(expected));
    for (const [i, r] of s.records.entries()) {
      const p = placed[i]!;
      expect(r).toMatchObject({ segment: 'seg-5', typeCode: 16 + (p.seq % 4), version: 1 + (p.seq % 2), durableThrough: p.seq - 1 });
      expect(r.macHeader.equals(img.subarray(p.offset + 4, p.offset + 32))).toBe(true);
      // Copies, not views: the image may be reused after the scan.
      expect(r.payload.buffer).not.toBe(img.buffer);
    }
  });

  it('finds the records after garbage in 8-byte steps, and counts each non-zero word of it as lost', () => {
    const { img, placed } = image([10, 11, 12, 13], { gapAfter: { 11: 5 * RECORD_ALIGN }, fill: 0xa5 });
    const s = salvageScan('seg', img, SEGMENT_DATA_START, 1, 100);
    expect(s.records.map((r) => r.seq)).toEqual([10, 11, 12, 13]);
    expect(s.records.map(summary)).toEqual(placed.map(expected));
    expect(s.unreadableBytes).toBe(5 * RECORD_ALIGN);
  });

  it('zero words between records are not lost bytes', () => {
    const { img } = image([10, 11, 12], { gapAfter: { 10: 4 * RECORD_ALIGN } });
    const s = salvageScan('seg', img, SEGMENT_DATA_START, 1, 100);
    expect(s.records.map((r) => r.seq)).toEqual([10, 11, 12]);
    expect(s.unreadableBytes).toBe(0);
  });

  it('a record with a broken CRC is lost, with every non-zero word of it, and the scan goes on after it', () => {
    const { img, placed } = image([20, 21, 22]);
    const victim = placed[1]!;
    img[victim.offset + 50] = img[victim.offset + 50]! ^ 0x01;
    const s = salvageScan('seg', img, SEGMENT_DATA_START, 1, 100);
    expect(s.records.map((r) => r.seq)).toEqual([20, 22]);
    const span = recordSpan(victim.payload.length);
    let nonZeroWords = 0;
    for (let at = victim.offset; at < victim.offset + span; at += RECORD_ALIGN) if (img.readBigUInt64LE(at) !== 0n) nonZeroWords++;
    expect(s.unreadableBytes).toBe(nonZeroWords * RECORD_ALIGN);
  });

  it('only seqs in [minSeq, maxSeq] are taken; a good record outside the window counts as unreadable', () => {
    const { img, placed } = image([30, 31, 32, 33, 34]);
    const s = salvageScan('seg', img, SEGMENT_DATA_START, 31, 33);
    expect(s.records.map((r) => r.seq)).toEqual([31, 32, 33]);
    const outside = [placed[0]!, placed[4]!];
    let words = 0;
    for (const p of outside) for (let at = p.offset; at < p.offset + recordSpan(p.payload.length); at += RECORD_ALIGN) if (img.readBigUInt64LE(at) !== 0n) words++;
    expect(s.unreadableBytes).toBe(words * RECORD_ALIGN);
    // The bounds themselves are in the window.
    expect(salvageScan('seg', img, SEGMENT_DATA_START, 30, 30).records.map((r) => r.seq)).toEqual([30]);
    expect(salvageScan('seg', img, SEGMENT_DATA_START, 34, 34).records.map((r) => r.seq)).toEqual([34]);
  });

  it('a seq above 2^32 is read whole (both halves of the 64-bit field)', () => {
    const big = 0x1_0000_0005;
    const { img } = image([big, big + 1]);
    expect(salvageScan('seg', img, SEGMENT_DATA_START, big, big + 1).records.map((r) => r.seq)).toEqual([big, big + 1]);
    expect(salvageScan('seg', img, SEGMENT_DATA_START, 1, 0xffff_ffff).records).toEqual([]);
  });

  it('starts at `from` rounded down to the 8-byte grid, never before the data area', () => {
    const { img, placed } = image([40, 41, 42]);
    const second = placed[1]!.offset;
    expect(salvageScan('seg', img, second + 3, 1, 100).records.map((r) => r.seq)).toEqual([41, 42]);
    expect(salvageScan('seg', img, second + RECORD_ALIGN, 1, 100).records.map((r) => r.seq)).toEqual([42]);
    // A `from` inside the header area starts at the data area (the header's non-zero bytes are not scanned).
    const s = salvageScan('seg', img, 0, 1, 100);
    expect(s.records.map((r) => r.seq)).toEqual([40, 41, 42]);
    expect(s.unreadableBytes).toBe(0);
  });

  it('a record ending exactly at the end of the image is read; a torn last one is lost', () => {
    const { img, placed } = image([50, 51]);
    const last = placed[1]!;
    const end = last.offset + recordSpan(last.payload.length);
    expect(salvageScan('seg', img.subarray(0, end), SEGMENT_DATA_START, 1, 100).records.map((r) => r.seq)).toEqual([50, 51]);
    const torn = salvageScan('seg', img.subarray(0, end - RECORD_ALIGN), SEGMENT_DATA_START, 1, 100);
    expect(torn.records.map((r) => r.seq)).toEqual([50]);
    expect(torn.unreadableBytes).toBeGreaterThan(0);
  });

  it('non-zero bytes past the last whole 8-byte word are counted one by one', () => {
    const { img } = image([60], { size: 4096 + 5 });
    img[4096] = 1;
    img[4098] = 2;
    img[4100] = 3;
    const s = salvageScan('seg', img, SEGMENT_DATA_START, 1, 100);
    expect(s.records.map((r) => r.seq)).toEqual([60]);
    expect(s.unreadableBytes).toBe(3);
  });
});

describe('completeBatches', () => {
  const rec = (seq: number, last: boolean) => ({ seq, flags: last ? FLAG_LAST_IN_BATCH : 0 }) as SalvagedRecord;

  it('a run of consecutive seqs up to one flagged last-in-batch is whole; an unfinished tail is not', () => {
    const done = completeBatches([rec(1, false), rec(2, false), rec(3, true), rec(4, true), rec(5, false), rec(6, false)]);
    expect([...done].sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
  });

  it('a hole starts a new run: what came before it is not part of the batch that ends after it', () => {
    const done = completeBatches([rec(1, false), rec(2, false), rec(4, false), rec(5, true), rec(7, true)]);
    expect([...done].sort((a, b) => a - b)).toEqual([4, 5, 7]);
  });

  it('nothing salvaged, nothing whole; a first record at seq 1 after the -2 start is a run of its own', () => {
    expect(completeBatches([]).size).toBe(0);
    expect([...completeBatches([rec(1, true)])]).toEqual([1]);
    expect([...completeBatches([rec(0, false), rec(1, true)])].sort()).toEqual([0, 1]);
  });
});
