// `posj-bridge journal pull`: copies a terminal's journal segments to the bench over the service port,
// read-only on the terminal. Pieces are pipelined (several requests in flight) and come deflated (a
// segment's preallocated zeros cost next to nothing). A pull resumes: for a file already partly on the
// bench, the terminal hashes the same prefix and only a prefix that still matches is kept; a segment that
// grew since keeps its records and only the rest is copied. The terminal
// verifies its journal with the device key (which never leaves it) and the report carries that result;
// the bench then checks the copy's checksums and sequence itself (posj journal verify without a key).
import { createHash, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { Clock } from '../../protocol/io/clock.js';
import { INTERNAL_TYPES } from '../../firmware-ts/journal/internal-types.js';
import { RecordTypes } from '../../firmware-ts/journal/record-types.js';
import { verifyJournal, type VerifyReport } from '../../firmware-ts/journal/verify.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { ServiceError, type ServiceClient } from './service-client.js';

/** Raw bytes per piece: deflated, even incompressible bytes fit one frame. */
export const PULL_PIECE_BYTES = 3072;
export const PULL_WINDOW = 8;
const LINE_FAILURES = new Set(['SERVICE_LINK_TIMEOUT', 'SERVICE_TIMEOUT', 'SERVICE_LINK_CLOSED', 'SERVICE_LINK_FAILED', 'SERVICE_SESSION_RESET']);
const SEGMENT = /^seg-[0-9a-f]{16}\.wal$/;

export interface PullReport {
  segments: Array<{ name: string; size: number; keptFromEarlierPull: number }>;
  bytesCopied: number;
  attempts: number;
  /** The terminal's own check, MAC chain included. */
  terminal: VerifyReport;
  /** The bench's check of the copy (checksums and sequence; no device key on the bench). */
  bench: VerifyReport;
}

export interface PullOptions {
  connect: () => Promise<{ client: ServiceClient; close(): Promise<void> }>;
  key: KeyObject;
  outDir: string;
  clock: Clock;
  retryForMs: number;
  onProgress?: (p: { segment: string; have: number; size: number }) => void;
}

function sha256Prefix(file: string, length: number): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (let at = 0; at < length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - at), at);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

async function samePrefix(c: ServiceClient, name: string, file: string, length: number): Promise<boolean> {
  const remote = (await c.request({ op: 'journal-hash', name, length })).head;
  return remote.sha256 === sha256Prefix(file, length);
}

/** Where the copy's bytes end before its trailing zeros. */
function dataEnd(file: string, length: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (let end = length; end > 0; ) {
      const from = Math.max(0, end - buf.length);
      const n = fs.readSync(fd, buf, 0, end - from, from);
      for (let i = n - 1; i >= 0; i--) if (buf[i] !== 0) return from + i + 1;
      end = from;
    }
    return 0;
  } finally {
    fs.closeSync(fd);
  }
}

export async function pullJournal(o: PullOptions): Promise<PullReport> {
  fs.mkdirSync(o.outDir, { recursive: true });
  const deadline = o.clock.now() + o.retryForMs;
  let bytesCopied = 0;
  for (let attempt = 1; ; attempt++) {
    const conn = await o.connect();
    try {
      const c = conn.client;
      await c.authenticate(o.key);
      const m = (await c.request({ op: 'journal-manifest' }, Buffer.alloc(0), 120_000)).head as unknown as { segments: Array<{ name: string; size: number }>; verify: VerifyReport };
      const segments: PullReport['segments'] = [];
      for (const seg of m.segments) {
        if (!SEGMENT.test(seg.name)) throw new ServiceError('BAD_ANSWER', `the terminal listed a segment named ${JSON.stringify(seg.name)}`);
        const file = path.join(o.outDir, seg.name);
        let have = fs.existsSync(file) ? Math.min(fs.statSync(file).size, seg.size) : 0;
        if (have > 0 && !(await samePrefix(c, seg.name, file, have))) {
          // The copy ends in the preallocated zeros the terminal has since written records over: its records
          // are still the terminal's (segments only grow), so only what follows them is copied again.
          const used = dataEnd(file, have);
          have = used > 0 && used < have && (await samePrefix(c, seg.name, file, used)) ? used : 0;
        }
        const kept = have;
        const fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w');
        try {
          fs.ftruncateSync(fd, have);
          have = await copySegment(c, seg, fd, have, (h) => o.onProgress?.({ segment: seg.name, have: h, size: seg.size }), (n) => (bytesCopied += n));
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        segments.push({ name: seg.name, size: seg.size, keptFromEarlierPull: kept });
      }
      const bench = verifyJournal(o.outDir, { types: new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]) });
      return { segments, bytesCopied, attempts: attempt, terminal: m.verify, bench };
    } catch (e) {
      const err = e as Error & { code?: string };
      if (!err.code || !LINE_FAILURES.has(err.code) || o.clock.now() >= deadline) throw e;
      await new Promise<void>((r) => o.clock.setTimer(500, r));
    } finally {
      await conn.close();
    }
  }
}

async function copySegment(c: ServiceClient, seg: { name: string; size: number }, fd: number, from: number, onHave: (h: number) => void, onCopied: (n: number) => void): Promise<number> {
  let next = from;
  let have = from;
  const inflight: Array<Promise<{ at: number; want: number; bytes: Buffer }>> = [];
  while (have < seg.size) {
    while (inflight.length < PULL_WINDOW && next < seg.size) {
      const at = next;
      const want = Math.min(PULL_PIECE_BYTES, seg.size - at);
      const p = c.request({ op: 'journal-read', name: seg.name, offset: at, length: want }).then((a) => ({ at, want, bytes: inflateRawSync(a.body, { maxOutputLength: want }) }));
      p.catch(() => undefined); // awaited in order below
      inflight.push(p);
      next = at + want;
    }
    const r = await inflight.shift()!;
    if (r.at !== have) continue;
    fs.writeSync(fd, r.bytes, 0, r.bytes.length, r.at);
    have += r.bytes.length;
    onCopied(r.bytes.length);
    onHave(have);
    if (r.bytes.length < r.want) {
      // A short piece (the segment shrank under us, or the terminal cut the piece): ask again from here.
      await Promise.allSettled(inflight.splice(0));
      next = have;
      if (r.bytes.length === 0) break;
    }
  }
  return have;
}
