// Keeps protocol/JOURNAL_FORMAT.md honest: the hex blocks of its worked example must be exactly what the
// real journal writes, and what format.ts encodes field by field, so the spec cannot drift from the code.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { Journal } from '../../firmware-ts/journal/journal.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { noState } from '../../firmware-ts/journal/state-machine.js';
import { RecordChain, ZERO_MAC } from '../../firmware-ts/journal/chain.js';
import {
  FLAG_LAST_IN_BATCH,
  decodeRecordAt,
  decodeSegmentHeader,
  encodeRecord,
  encodeSegmentHeader,
  encodeSegmentHeaderBody,
  macHeaderBytes,
  recordSpan,
} from '../../protocol/journal/format.js';

const SPEC = path.resolve('protocol/JOURNAL_FORMAT.md');
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const NOTE = { name: 'test.note', code: 100, version: 1 };

/** Every ```hex block of the spec as (file offset, bytes) lines, in the `xxd`-like form the spec uses. */
function specHexLines(): { offset: number; bytes: Buffer }[] {
  const md = fs.readFileSync(SPEC, 'utf8');
  const blocks = [...md.matchAll(/```hex\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const lines: { offset: number; bytes: Buffer }[] = [];
  for (const block of blocks) {
    for (const line of block.split('\n').filter((l) => l.trim())) {
      const m = /^([0-9a-f]{8}):((?: [0-9a-f]{2}){1,16})\s*$/.exec(line);
      if (!m) throw new Error(`unparsable hex line in ${SPEC}: ${line}`);
      lines.push({ offset: Number.parseInt(m[1]!, 16), bytes: Buffer.from(m[2]!.replace(/ /g, ''), 'hex') });
    }
  }
  return lines;
}

async function exampleSegment(): Promise<Buffer> {
  const disk = new SimDisk();
  const j = await Journal.open({ dir: '/j', deviceKey: KEY, storage: disk, segmentBytes: 65536, fold: noState, types: new RecordTypes([NOTE]) });
  await j.append([{ type: NOTE.name, payload: { n: 1 } }, { type: NOTE.name, payload: { n: 2 } }], { durable: true });
  await j.close();
  return disk.readFile('/j/seg-0000000000000001.wal');
}

describe('JOURNAL_FORMAT.md worked example', () => {
  const lines = specHexLines();

  it('has the three hex blocks (header, checkpoint, batch)', () => {
    expect(lines.length).toBeGreaterThanOrEqual(4 + 7 + 7);
    expect(lines.map((l) => l.offset)).toEqual(expect.arrayContaining([0, 0x200, 0x400, 0x460]));
  });

  it('matches, byte for byte, what the real journal writes', async () => {
    const img = await exampleSegment();
    for (const { offset, bytes } of lines) {
      const actual = img.subarray(offset, offset + bytes.length).toString('hex');
      expect(actual, `spec hex at offset 0x${offset.toString(16)}`).toBe(bytes.toString('hex'));
    }
    // "Everything else is zero": the spec lists every non-zero byte of the first two sectors and more.
    const listed = Buffer.alloc(img.length);
    for (const { offset, bytes } of lines) bytes.copy(listed, offset);
    expect(img.equals(listed)).toBe(true);
  });

  it('is what format.ts encodes from the documented field values', () => {
    const at = (off: number, n: number) => {
      const out = Buffer.alloc(n);
      for (const l of lines) if (l.offset >= off && l.offset < off + n) l.bytes.copy(out, l.offset - off);
      return out;
    };
    const chain = new RecordChain(KEY);
    const body = encodeSegmentHeaderBody({ formatVersion: 1, segmentBytes: 65536, firstSeq: 1, prevMac: ZERO_MAC });
    expect(encodeSegmentHeader(body, chain.headerMac(body)).equals(at(0, 64))).toBe(true);
    const h = decodeSegmentHeader(at(0, 64));
    expect(h).toMatchObject({ formatVersion: 1, segmentBytes: 65536, firstSeq: 1 });

    const payload = Buffer.from('{"throughSeq":0,"retainedThroughSeq":0,"state":null}');
    const mac = chain.recordMac(ZERO_MAC, macHeaderBytes(payload.length, 1, 1, FLAG_LAST_IN_BATCH, 1, 0), payload);
    const rec = Buffer.alloc(recordSpan(payload.length));
    expect(encodeRecord(rec, 0, { typeCode: 1, version: 1, flags: FLAG_LAST_IN_BATCH, seq: 1, durableThrough: 0, mac }, payload)).toBe(104);
    expect(rec.toString('hex')).toBe(at(0x200, 104).toString('hex'));

    // The batch: two records, only the second marked last, both durableThrough 1, MACs chained.
    const batch = at(0x400, 112);
    const r2 = decodeRecordAt(batch, 0, batch.length);
    const r3 = decodeRecordAt(batch, 56, batch.length);
    if (typeof r2 === 'string' || typeof r3 === 'string') throw new Error(`example batch does not decode: ${r2} ${r3}`);
    expect(r2.header).toMatchObject({ typeCode: 100, version: 1, flags: 0, seq: 2, durableThrough: 1, length: 7 });
    expect(r3.header).toMatchObject({ typeCode: 100, version: 1, flags: FLAG_LAST_IN_BATCH, seq: 3, durableThrough: 1 });
    const mac2 = chain.recordMac(mac, macHeaderBytes(7, 100, 1, 0, 2, 1), Buffer.from('{"n":1}'));
    expect(batch.subarray(32, 48).equals(mac2)).toBe(true);
    expect(batch.subarray(56 + 32, 56 + 48).equals(chain.recordMac(mac2, macHeaderBytes(7, 100, 1, FLAG_LAST_IN_BATCH, 3, 1), Buffer.from('{"n":2}')))).toBe(true);
  });
});
