// The bench's half of a flash: deflate the image, open a session, prove the paired key, `flash-begin`
// (the terminal checks the manifest and answers the offset it already has), then pipelined chunks — up to
// `window` requests in flight, so the line never idles waiting for an answer — `flash-commit` (the terminal
// verifies and switches slots) and a reboot into the new slot. A lost line (cable pull) is retried with a
// fresh session until `retryForMs` runs out, resuming from the terminal's offset.
import type { KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type { Clock } from '../../protocol/io/clock.js';
import { FLASH_ERRORS, type FlashErrorCode } from '../../protocol/service/service-messages.js';
import { ServiceError, type ServiceClient } from './service-client.js';

export const FLASH_CHUNK_BYTES = 2048;
export const FLASH_WINDOW = 8;

/** Line failures after which a flash retries with a new session (anything else ends it). */
const LINE_FAILURES = new Set(['SERVICE_LINK_TIMEOUT', 'SERVICE_TIMEOUT', 'SERVICE_LINK_CLOSED', 'SERVICE_LINK_FAILED', 'SERVICE_SESSION_RESET']);

export interface FlashProgress {
  have: number;
  total: number;
}

export interface FlashOptions {
  /** A fresh connection (new link session) per try. */
  connect: () => Promise<{ client: ServiceClient; close(): Promise<void> }>;
  key: KeyObject;
  manifestBytes: Buffer;
  image: Buffer;
  allowDowngrade: boolean;
  clock: Clock;
  retryForMs: number;
  reboot: boolean;
  onProgress?: (p: FlashProgress) => void;
  onRetry?: (e: Error, attempt: number) => void;
}

export interface FlashReport {
  slot: string;
  version: string;
  imageBytes: number;
  compressedBytes: number;
  /** Offsets the terminal answered at each flash-begin (0, then where each resume picked up). */
  beganAt: number[];
  /** Bytes sent over the line as chunk payload, resends after a resume included. */
  chunkBytesSent: number;
  retransmits: number;
}

/**
 * How a flash ends badly: the terminal's refusals (FLASH_ERRORS), a bench it does not pair with, and — once
 * the terminal rebooted into the new slot — its trial lost (FLASH_ROLLED_BACK) or not known within the wait
 * (FLASH_NOT_CONFIRMED).
 */
export type FlashFailureCode = FlashErrorCode | 'FLASH_AUTH_REFUSED' | 'FLASH_ROLLED_BACK' | 'FLASH_NOT_CONFIRMED';

export class FlashFailed extends Error {
  constructor(
    readonly code: FlashFailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'FlashFailed';
  }
}

const sleep = (clock: Clock, ms: number) => new Promise<void>((r) => clock.setTimer(ms, r));

export async function flash(o: FlashOptions): Promise<FlashReport> {
  const compressed = deflateRawSync(o.image, { level: 9 });
  const total = compressed.length;
  const report: FlashReport = { slot: '', version: '', imageBytes: o.image.length, compressedBytes: total, beganAt: [], chunkBytesSent: 0, retransmits: 0 };
  const deadline = o.clock.now() + o.retryForMs;
  for (let attempt = 1; ; attempt++) {
    const conn = await o.connect();
    try {
      const c = conn.client;
      await c.authenticate(o.key).catch((e: ServiceError) => {
        if (e.code === 'AUTH_FAILED') throw new FlashFailed('FLASH_AUTH_REFUSED', `the terminal refused this bench: ${e.message}`);
        throw e;
      });
      const begun = await c.request({ op: 'flash-begin', manifest: o.manifestBytes.toString('utf8'), compressedSize: total, allowDowngrade: o.allowDowngrade });
      let have = Number(begun.head.offset);
      report.beganAt.push(have);
      o.onProgress?.({ have, total });
      await sendChunks(c, compressed, have, (h) => {
        have = h;
        o.onProgress?.({ have, total });
      }, (n) => (report.chunkBytesSent += n));
      const done = await c.request({ op: 'flash-commit' }, Buffer.alloc(0), 120_000);
      report.slot = String(done.head.slot);
      report.version = String(done.head.version);
      if (o.reboot) await c.request({ op: 'reboot' });
      report.retransmits += c.stats.retransmits;
      return report;
    } catch (e) {
      const err = e as Error & { code?: string };
      report.retransmits += conn.client.stats.retransmits;
      if (err instanceof FlashFailed) throw err;
      if (err.code && (FLASH_ERRORS as readonly string[]).includes(err.code)) throw new FlashFailed(err.code as FlashErrorCode, err.message);
      if (!err.code || !LINE_FAILURES.has(err.code) || o.clock.now() >= deadline) {
        throw new FlashFailed('FLASH_INTERRUPTED', `flash interrupted: ${err.message}${err.code && LINE_FAILURES.has(err.code) ? ' (run the same command again: it resumes where the terminal stopped)' : ''}`);
      }
      o.onRetry?.(err, attempt);
      await sleep(o.clock, 500);
    } finally {
      await conn.close();
    }
  }
}

async function sendChunks(c: ServiceClient, data: Buffer, from: number, onHave: (have: number) => void, onSent: (n: number) => void): Promise<void> {
  let next = from;
  const inflight: Array<Promise<{ end: number; have: number }>> = [];
  while (next < data.length || inflight.length) {
    while (inflight.length < FLASH_WINDOW && next < data.length) {
      const at = next;
      const end = Math.min(at + FLASH_CHUNK_BYTES, data.length);
      onSent(end - at);
      const answer = c.request({ op: 'flash-chunk', offset: at }, data.subarray(at, end)).then((a) => ({ end, have: Number(a.head.have) }));
      answer.catch(() => undefined); // awaited in order below; a failure there ends the try
      inflight.push(answer);
      next = end;
    }
    const r = await inflight.shift()!;
    onHave(r.have);
    if (r.have !== r.end) {
      // The terminal holds less than this chunk's end: let the rest settle and go on from what it has.
      const rest = await Promise.all(inflight.splice(0));
      next = rest.length ? rest[rest.length - 1]!.have : r.have;
      onHave(next);
    }
  }
}
