// Frames on a byte stream: a 2-byte big-endian length, then that many bytes. The reader keeps at most one
// frame's worth of bytes and rejects an announced length over its bound before buffering any of it.
import { FrameError } from './errors.js';

/** The largest frame the 2-byte prefix can describe. */
export const MAX_FRAME_LENGTH = 0xffff;
/** A sensible bound for CUP POS traffic: the largest message of this dialect is well under 2 KiB. */
export const DEFAULT_MAX_FRAME_LENGTH = 4096;

export function frame(body: Buffer, max = DEFAULT_MAX_FRAME_LENGTH): Buffer {
  if (body.length === 0 || body.length > Math.min(max, MAX_FRAME_LENGTH)) {
    throw new FrameError(body.length, max, body.length === 0 ? 'empty-frame' : 'frame-too-long');
  }
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(body.length);
  return Buffer.concat([prefix, body]);
}

/** Splits a stream into frame bodies. After it throws, the stream is out of step: close the connection. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly max = DEFAULT_MAX_FRAME_LENGTH) {}

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.buffered < 2) break;
      const head = this.peek(2);
      const length = head.readUInt16BE(0);
      if (length === 0 || length > this.max) {
        this.chunks = [];
        this.buffered = 0;
        throw new FrameError(length, this.max, length === 0 ? 'empty-frame' : 'frame-too-long');
      }
      if (this.buffered < 2 + length) break;
      const all = Buffer.concat(this.chunks);
      out.push(Buffer.from(all.subarray(2, 2 + length)));
      const rest = all.subarray(2 + length);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
    return out;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    return first.length >= n ? first : Buffer.concat(this.chunks).subarray(0, n);
  }
}
