// Serial line frames (byte-exact spec: protocol/SERIAL_FRAMES.md):
//
//   "#" SEQ " " TYPE " " PAYLOAD " " CRC LF
//
// SEQ is two upper-case hex digits, TYPE 1–16 of [A-Z0-9_], PAYLOAD canonical base64 of the bytes (or "-"
// when empty) so the delimiter can never occur inside, CRC four upper-case hex digits of CRC-16/CCITT-FALSE
// over every byte before it. Lines are latin1 end to end: a byte is never reinterpreted as UTF-8.
import { crc16ccitt } from 'crc';
import { FrameError } from './frame-error.js';

export const FRAME_START = 0x23; // '#'
export const FRAME_DELIMITER = 0x0a; // LF
export const FRAME_SEPARATOR = 0x20; // ' '
/** Longest line accepted, delimiter included. */
export const MAX_LINE_BYTES = 2048;
/** Largest payload before base64: 4 * ceil(1500 / 3) = 2000 characters, which fits MAX_LINE_BYTES. */
export const MAX_PAYLOAD_BYTES = 1500;
export const MAX_TYPE_CHARS = 16;
export const MAX_SEQ = 0xff;
/** "#SS T - CCCC": the shortest possible line without its delimiter. */
export const MIN_LINE_BYTES = 12;
/** Reserved frame types of the link layer itself. */
export const ACK = 'ACK';
export const NAK = 'NAK';

export interface Frame {
  seq: number;
  type: string;
  payload: Buffer;
}

const TYPE_RE = /^[A-Z0-9_]{1,16}$/;
const EMPTY_PAYLOAD = '-';

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0; check("123456789") = 0x29B1). */
export function frameCrc(bytes: Buffer): number {
  return crc16ccitt(bytes);
}

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');

/** The full line for a frame, delimiter included. Throws RangeError on values a peer could not decode. */
export function encodeFrame(frame: Frame): Buffer {
  if (!Number.isInteger(frame.seq) || frame.seq < 0 || frame.seq > MAX_SEQ) {
    throw new RangeError(`frame seq ${frame.seq} is outside 0..${MAX_SEQ}`);
  }
  if (!TYPE_RE.test(frame.type)) throw new RangeError(`frame type ${JSON.stringify(frame.type)} is not 1-16 of [A-Z0-9_]`);
  if (frame.payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`frame payload of ${frame.payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  const payload = frame.payload.length === 0 ? EMPTY_PAYLOAD : frame.payload.toString('base64');
  const body = Buffer.from(`#${hex(frame.seq, 2)} ${frame.type} ${payload} `, 'latin1');
  return Buffer.concat([body, Buffer.from(`${hex(frameCrc(body), 4)}\n`, 'latin1')]);
}

const isUpperHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46);

function parseHex(line: Buffer, start: number, width: number): number | undefined {
  let v = 0;
  for (let i = start; i < start + width; i++) {
    const c = line[i]!;
    if (!isUpperHex(c)) return undefined;
    v = v * 16 + (c <= 0x39 ? c - 0x30 : c - 0x41 + 10);
  }
  return v;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes one line (delimiter already removed). Checks the CRC before the fields, so a line damaged in
 * transit reports FRAME_BAD_CRC rather than whatever field the damage happened to land in.
 */
export function decodeFrame(line: Buffer): Frame {
  const n = line.length;
  if (n > MAX_LINE_BYTES - 1) throw new FrameError('FRAME_TOO_LONG', MAX_LINE_BYTES - 1, `line of ${n} bytes exceeds ${MAX_LINE_BYTES - 1}`);
  if (n > 0 && line[0] !== FRAME_START) throw new FrameError('FRAME_NO_START', 0, `expected '#' (0x23), got 0x${hex(line[0]!, 2)}`);
  if (n < MIN_LINE_BYTES) throw new FrameError('FRAME_TOO_SHORT', n, `line of ${n} bytes is shorter than ${MIN_LINE_BYTES}`);

  const crcAt = n - 4;
  if (line[crcAt - 1] !== FRAME_SEPARATOR) throw new FrameError('FRAME_BAD_SEPARATOR', crcAt - 1, 'expected a space before the CRC');
  const sent = parseHex(line, crcAt, 4);
  if (sent === undefined) throw new FrameError('FRAME_BAD_CRC_FIELD', crcAt, 'CRC is not 4 upper-case hex digits');
  const actual = frameCrc(line.subarray(0, crcAt));
  if (sent !== actual) throw new FrameError('FRAME_BAD_CRC', crcAt, `CRC ${hex(sent, 4)} does not match computed ${hex(actual, 4)}`);

  const seq = parseHex(line, 1, 2);
  if (seq === undefined) throw new FrameError('FRAME_BAD_SEQ', 1, 'sequence number is not 2 upper-case hex digits');
  if (line[3] !== FRAME_SEPARATOR) throw new FrameError('FRAME_BAD_SEPARATOR', 3, 'expected a space after the sequence number');

  const typeEnd = line.indexOf(FRAME_SEPARATOR, 4);
  // typeEnd is found at latest at crcAt - 1, the separator checked above.
  const type = line.toString('latin1', 4, typeEnd);
  if (!TYPE_RE.test(type)) throw new FrameError('FRAME_BAD_TYPE', 4, `type ${JSON.stringify(type)} is not 1-${MAX_TYPE_CHARS} of [A-Z0-9_]`);

  const payloadAt = typeEnd + 1;
  if (payloadAt > crcAt - 1) throw new FrameError('FRAME_BAD_SEPARATOR', typeEnd, 'missing payload field');
  const text = line.toString('latin1', payloadAt, crcAt - 1);
  let payload: Buffer;
  if (text === EMPTY_PAYLOAD) payload = Buffer.alloc(0);
  else {
    if (text.length === 0 || text.length % 4 !== 0 || !BASE64_RE.test(text)) {
      throw new FrameError('FRAME_BAD_PAYLOAD', payloadAt, 'payload is not base64 (RFC 4648, padded) or "-"');
    }
    payload = Buffer.from(text, 'base64');
    // Only the one canonical spelling is accepted (no non-zero padding bits), so a frame has one encoding.
    if (payload.toString('base64') !== text) throw new FrameError('FRAME_BAD_PAYLOAD', payloadAt, 'payload base64 is not canonical');
    if (payload.length > MAX_PAYLOAD_BYTES) {
      throw new FrameError('FRAME_BAD_PAYLOAD', payloadAt, `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
    }
  }
  return { seq, type, payload };
}
