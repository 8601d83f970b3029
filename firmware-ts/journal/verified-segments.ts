// What the daemon's boot verify may skip: an older segment whose bytes are exactly those a full verify
// passed before (same name, same length, same SHA-256). Hashing a segment costs a small fraction of
// checking every record's CRC and MAC, so a terminal with years of history boots in a fraction of the time
// of a full verify, and a flipped byte anywhere still changes the digest and gets the segment checked
// record by record. The file `verified` beside the segments keeps, per segment, what the verify learnt
// from it (counts, seq range, its last MAC, so the chain goes on into the next segment); it is authenticated
// under a key derived from the device key, so neither an edit nor another terminal's file is believed. A
// missing, unreadable or unauthenticated `verified` only means a full verify (JOURNAL_FORMAT §9.1).
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { Storage } from '../io/storage.js';

export const VERIFIED_FILE = 'verified';
const VERSION = 1;

/** One segment as a full verify saw it. Digests and MACs in base64url: no long digit runs for the PCI scan. */
export interface SegmentSummary {
  name: string;
  bytes: number;
  sha256: string;
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The MAC of its last record (or its header's prevMac when it holds none): where the chain goes on. */
  lastMac: string;
  /** The seq the next segment must start at. */
  nextSeq: number;
  /** Its last record is the seal. */
  sealed: boolean;
  retainedThroughSeq: number;
  recordTypes: Record<string, number>;
}

export const segmentDigest = (image: Buffer): string => crypto.createHash('sha256').update(image).digest('base64url');

function fileKey(deviceKey: Buffer): Buffer {
  return crypto.createHmac('sha256', deviceKey).update('pos-journal verified segments v1').digest();
}

const macOf = (deviceKey: Buffer, body: string) => crypto.createHmac('sha256', fileKey(deviceKey)).update(body).digest('base64url');

function readAll(storage: Storage, file: string): Buffer {
  const f = storage.open(file, 'r');
  try {
    const size = f.size();
    // A few hundred bytes per segment; anything far larger is not ours.
    if (size > 64 << 20) return Buffer.alloc(0);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = f.read(buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    f.close();
  }
}

/** The summaries `verified` vouches for, by segment name; empty when it is missing or not authentic. */
export function loadVerifiedSegments(storage: Storage, dir: string, deviceKey: Buffer): Map<string, SegmentSummary> {
  const file = path.join(dir, VERIFIED_FILE);
  if (!storage.exists(file)) return new Map();
  try {
    const doc = JSON.parse(readAll(storage, file).toString('utf8')) as { version?: unknown; segments?: unknown; mac?: unknown };
    if (doc.version !== VERSION || !Array.isArray(doc.segments) || typeof doc.mac !== 'string') return new Map();
    const body = JSON.stringify(doc.segments);
    const expected = Buffer.from(macOf(deviceKey, body));
    const given = Buffer.from(doc.mac);
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return new Map();
    return new Map((doc.segments as SegmentSummary[]).map((s) => [s.name, s]));
  } catch {
    return new Map();
  }
}

/** Replaces `verified` whole (temp file, fsync, rename, directory fsync), so a cut leaves the old one or the new one. */
export function saveVerifiedSegments(storage: Storage, dir: string, deviceKey: Buffer, summaries: SegmentSummary[]): void {
  const body = JSON.stringify(summaries);
  const text = `{"version":${VERSION},"segments":${body},"mac":${JSON.stringify(macOf(deviceKey, body))}}\n`;
  const tmp = path.join(dir, `${VERIFIED_FILE}.tmp`);
  if (storage.exists(tmp)) storage.remove(tmp);
  const f = storage.open(tmp, 'create');
  try {
    f.write(Buffer.from(text), 0);
    f.sync();
  } finally {
    f.close();
  }
  storage.rename(tmp, path.join(dir, VERIFIED_FILE));
  storage.syncDir(dir);
}
