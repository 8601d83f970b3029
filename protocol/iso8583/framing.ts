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

/**
 * Splits a stream into frame bodies. After it throws, the stream is out of step: close the connection.
 * Linear in its input: a chunk is scanned in place, and the bytes of an unfinished frame are kept as a
 * list of pieces joined once the frame is complete — never a copy of the whole rest per frame extracted.
 */
export class FrameReader {
  /** Pieces of an unfinished frame (together at most 2 + max bytes). */
  private pieces: Buffer[] = [];
  private pendingBytes = 0;
  /** The announced body length of the unfinished frame, once its 2 length bytes are in. */
  private wanted: number | undefined;

  constructor(private readonly max = DEFAULT_MAX_FRAME_LENGTH) {}

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    // The reader's own copy (one per chunk, not per frame): the caller may reuse its buffer, and the bodies
    // handed out are views of this copy.
    let data = Buffer.from(chunk);
    if (this.pendingBytes > 0) {
      this.pieces.push(data);
      this.pendingBytes += chunk.length;
      if (this.wanted === undefined && this.pendingBytes >= 2) this.wanted = this.checkLength(this.headOfPending());
      if (this.wanted === undefined || this.pendingBytes < 2 + this.wanted) return out;
      data = Buffer.concat(this.pieces, this.pendingBytes);
      this.pieces = [];
      this.pendingBytes = 0;
      this.wanted = undefined;
    }
    let at = 0;
    while (data.length - at >= 2) {
      const length = this.checkLength(data.readUInt16BE(at));
      if (data.length - at < 2 + length) {
        this.wanted = length;
        break;
      }
      out.push(data.subarray(at + 2, at + 2 + length));
      at += 2 + length;
    }
    if (at < data.length) {
      this.pieces = [data.subarray(at)];
      this.pendingBytes = data.length - at;
    }
    return out;
  }

  private headOfPending(): number {
    return Buffer.concat(this.pieces, 2).readUInt16BE(0);
  }

  private checkLength(length: number): number {
    if (length === 0 || length > this.max) {
      this.pieces = [];
      this.pendingBytes = 0;
      this.wanted = undefined;
      throw new FrameError(length, this.max, length === 0 ? 'empty-frame' : 'frame-too-long');
    }
    return length;
  }
}
