// Service-port frames (SERVICE_PORT.md): a binary frame with a CRC-32, COBS-encoded so 0x00 never occurs
// inside it, then one 0x00 delimiter. COBS costs at most one byte in 254 — the reason it was chosen over
// base64 or hex lines, which cost 33% or 100% and would cap firmware goodput at 75% or 50% of the line.
// A garbled or over-long frame is dropped whole (the window retransmits it); the splitter resyncs on the
// next 0x00 and never buffers more than MAX_ENCODED bytes.
import { crc32 } from 'crc';

export const FRAME_DATA = 1;
export const FRAME_ACK = 2;
/** Largest payload of one DATA frame. */
export const MAX_PAYLOAD = 4096;
const HEADER = 9;
const MAX_RAW = HEADER + MAX_PAYLOAD + 4;
export const MAX_ENCODED = MAX_RAW + Math.ceil(MAX_RAW / 254) + 1;

export type ServiceFrame =
  | { type: 'data'; session: number; seq: number; payload: Buffer }
  /** `next`: the first sequence number not yet received in order; `sack` bit i: next+1+i was received. */
  | { type: 'ack'; session: number; next: number; sack: number };

export function cobsEncode(src: Buffer): Buffer {
  const out = Buffer.alloc(src.length + Math.ceil(src.length / 254) + 1);
  let codeAt = 0;
  let o = 1;
  let code = 1;
  for (const byte of src) {
    if (byte === 0) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
      continue;
    }
    out[o++] = byte;
    if (++code === 0xff) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.subarray(0, o);
}

/** null when the bytes are not valid COBS. */
export function cobsDecode(src: Buffer): Buffer | null {
  const out = Buffer.alloc(src.length);
  let o = 0;
  let i = 0;
  while (i < src.length) {
    const code = src[i++]!;
    if (code === 0 || i + code - 1 > src.length) return null;
    for (let k = 1; k < code; k++) out[o++] = src[i++]!;
    if (code !== 0xff && i < src.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}

export function encodeFrame(f: ServiceFrame): Buffer {
  const body = f.type === 'data' ? f.payload : Buffer.alloc(4);
  if (f.type === 'data' && body.length > MAX_PAYLOAD) throw new RangeError(`service frame payload ${body.length} over ${MAX_PAYLOAD}`);
  const raw = Buffer.alloc(HEADER + body.length + 4);
  raw[0] = f.type === 'data' ? FRAME_DATA : FRAME_ACK;
  raw.writeUInt32BE(f.session >>> 0, 1);
  raw.writeUInt32BE((f.type === 'data' ? f.seq : f.next) >>> 0, 5);
  if (f.type === 'data') body.copy(raw, HEADER);
  else raw.writeUInt32BE(f.sack >>> 0, HEADER);
  raw.writeUInt32BE(crc32(raw.subarray(0, raw.length - 4)) >>> 0, raw.length - 4);
  return Buffer.concat([cobsEncode(raw), Buffer.from([0])]);
}

export type FrameDrop = 'cobs' | 'short' | 'crc' | 'type' | 'too-long';

/** Parses one frame between delimiters (without the 0x00). */
export function decodeFrame(encoded: Buffer): ServiceFrame | FrameDrop {
  const raw = cobsDecode(encoded);
  if (!raw) return 'cobs';
  if (raw.length < HEADER + 4) return 'short';
  if ((crc32(raw.subarray(0, raw.length - 4)) >>> 0) !== raw.readUInt32BE(raw.length - 4)) return 'crc';
  const session = raw.readUInt32BE(1);
  const n = raw.readUInt32BE(5);
  if (raw[0] === FRAME_DATA) return { type: 'data', session, seq: n, payload: Buffer.from(raw.subarray(HEADER, raw.length - 4)) };
  if (raw[0] === FRAME_ACK && raw.length === HEADER + 8) return { type: 'ack', session, next: n, sack: raw.readUInt32BE(HEADER) };
  return 'type';
}

/** Splits a byte stream at 0x00 into frames; bounded: a run longer than MAX_ENCODED is dropped to its end. */
export class FrameSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private overlong = false;

  constructor(
    private readonly onFrame: (f: ServiceFrame) => void,
    private readonly onDrop: (why: FrameDrop) => void = () => undefined,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const z = chunk.indexOf(0, start);
      const piece = chunk.subarray(start, z === -1 ? chunk.length : z);
      if (!this.overlong) {
        if (this.size + piece.length > MAX_ENCODED) {
          this.overlong = true;
          this.parts = [];
          this.size = 0;
        } else if (piece.length) {
          this.parts.push(piece);
          this.size += piece.length;
        }
      }
      if (z === -1) return;
      if (this.overlong) this.onDrop('too-long');
      else if (this.size > 0) {
        const f = decodeFrame(Buffer.concat(this.parts, this.size));
        if (typeof f === 'string') this.onDrop(f);
        else this.onFrame(f);
      }
      this.parts = [];
      this.size = 0;
      this.overlong = false;
      start = z + 1;
    }
  }
}
