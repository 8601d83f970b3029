// Journal segments (segment-scan): any image scans to records of complete batches in sequence, each of
// which re-encodes to exactly its bytes in the image, with an end offset inside the image and a tail
// verdict — or fails with JournalCorruptionError for a bad header. Structure-aware: images built from a
// header and records with their CRCs computed (MACs are the verifier's business, not the scanner's), then
// damaged: a record changed and re-CRC'd, a batch flag moved, a sequence skipped, the tail cut or zeroed.
import { JournalCorruptionError } from '../../../firmware-ts/journal/errors.js';
import { scanSegment } from '../../../firmware-ts/journal/segment-scan.js';
import {
  encodeRecord,
  encodeSegmentHeader,
  encodeSegmentHeaderBody,
  FLAG_LAST_IN_BATCH,
  FORMAT_VERSION,
  MAC_BYTES,
  RECORD_HEADER_BYTES,
  recordSpan,
  SEGMENT_DATA_START,
  SECTOR_BYTES,
} from '../../../protocol/journal/format.js';
import { FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';
import type { Rng } from '../mutate.js';

const IMAGE_BYTES = 4 * SECTOR_BYTES;

function image(rng: Rng | null, firstSeq: number, records: { payload: Buffer; last: boolean; seq?: number }[]): Buffer {
  const img = Buffer.alloc(IMAGE_BYTES);
  encodeSegmentHeader(encodeSegmentHeaderBody({ formatVersion: FORMAT_VERSION, segmentBytes: IMAGE_BYTES, firstSeq, prevMac: Buffer.alloc(MAC_BYTES) }), Buffer.alloc(MAC_BYTES, 7)).copy(img, 0);
  let at = SEGMENT_DATA_START;
  let seq = firstSeq;
  for (const r of records) {
    if (at + recordSpan(r.payload.length) > IMAGE_BYTES) break;
    at += encodeRecord(img, at, { typeCode: 1 + (rng ? rng.int(4) : 0), version: 1, flags: r.last ? FLAG_LAST_IN_BATCH : 0, seq: r.seq ?? seq, durableThrough: Math.max(0, seq - 1), mac: Buffer.alloc(MAC_BYTES, 9) }, r.payload);
    seq++;
    if (r.last && rng?.chance(0.3)) at = Math.ceil(at / SECTOR_BYTES) * SECTOR_BYTES;
  }
  return img;
}

export const journalSegment: FuzzTarget = {
  name: 'journal-segment',
  covers: ['/firmware-ts/journal/segment-scan', '/protocol/journal/format'],
  maxLen: IMAGE_BYTES + 64,
  seeds: () => [
    Buffer.concat([Buffer.from([1]), image(null, 1, [{ payload: Buffer.from('{"stan":1}'), last: false }, { payload: Buffer.from('{"stan":1,"ok":true}'), last: true }])]),
    Buffer.concat([Buffer.from([0]), image(null, 41, [{ payload: Buffer.from('x'.repeat(300)), last: true }, { payload: Buffer.from('{}'), last: false }])]),
  ],
  structured(input, rng) {
    const firstSeq = rng.chance(0.8) ? 1 + rng.int(100) : rng.int(2 ** 53);
    const records = Array.from({ length: 1 + rng.int(8) }, (_, i) => ({
      payload: rng.bytes(rng.int(rng.chance(0.1) ? 900 : 60)),
      last: rng.chance(0.6),
      ...(rng.chance(0.05) ? { seq: firstSeq + i + rng.int(3) - 1 } : {}),
    }));
    const img = image(rng, firstSeq, records);
    const cut = rng.chance(0.3) ? SEGMENT_DATA_START + rng.int(IMAGE_BYTES - SEGMENT_DATA_START) : IMAGE_BYTES;
    if (rng.chance(0.3)) img.fill(0, cut);
    return Buffer.concat([Buffer.from([rng.int(2)]), rng.chance(0.2) ? img.subarray(0, cut) : img]);
  },
  run(input) {
    if (input.length === 0) return;
    const isLast = (input[0]! & 1) === 1;
    const img = input.subarray(1);
    refusedWith([JournalCorruptionError], () => {
      const scan = scanSegment('00000001.seg', img, isLast);
      // A record's alignment padding may run past the end of a short image (it is not read); nothing else may.
      if (scan.endOffset > recordSpan(img.length - RECORD_HEADER_BYTES) || scan.endOffset < SEGMENT_DATA_START) throw new FuzzFinding(`endOffset ${scan.endOffset} outside the image`);
      let seq = scan.header.firstSeq;
      for (const r of scan.records) {
        if (r.seq !== seq++) throw new FuzzFinding(`record seq ${r.seq}, expected ${seq - 1}`);
        const span = recordSpan(r.length);
        if (r.offset + RECORD_HEADER_BYTES + r.length > img.length) throw new FuzzFinding('record past the image');
        const again = Buffer.alloc(span);
        encodeRecord(again, 0, { typeCode: r.typeCode, version: r.version, flags: r.flags, seq: r.seq, durableThrough: r.durableThrough, mac: r.mac }, r.payload);
        // Header and payload; the alignment padding is outside the CRC and not the reader's business (JOURNAL_FORMAT.md).
        const covered = RECORD_HEADER_BYTES + r.length;
        if (!again.subarray(0, covered).equals(img.subarray(r.offset, r.offset + covered))) throw new FuzzFinding(`record ${r.seq} does not re-encode to its bytes`);
      }
      if (scan.nextSeq !== seq) throw new FuzzFinding(`nextSeq ${scan.nextSeq} after records ending at ${seq - 1}`);
    });
  },
};
