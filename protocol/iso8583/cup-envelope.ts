// The CUP POS envelope around each message: a 5-byte TPDU and a 6-byte application header, both before the
// MTI. The TPDU ID is 0x60; a reply swaps the TPDU's destination and source addresses.
import { cupDialect } from './cup-fields.js';
import { Iso8583DecodeError } from './errors.js';
import { decodeMessage, encodeMessage, type IsoMessage } from './message.js';

export const TPDU_LENGTH = 5;
export const HEADER_LENGTH = 6;
/** Offset of the MTI inside a CUP frame body (after the 2-byte length prefix is removed). */
export const CUP_MESSAGE_OFFSET = TPDU_LENGTH + HEADER_LENGTH;

export interface CupEnvelope {
  /** ID 0x60, destination address (2 bytes), source address (2 bytes). */
  tpdu: Buffer;
  /** Application type 0x60, software version, terminal status / processing request nibbles, 3 reserved bytes. */
  header: Buffer;
}

export const defaultTerminalEnvelope: CupEnvelope = {
  tpdu: Buffer.from('6000030000', 'hex'),
  header: Buffer.from('603100000000', 'hex'),
};

/** The envelope a host answers with: same header, TPDU addresses swapped. */
export function replyEnvelope(request: CupEnvelope): CupEnvelope {
  const t = request.tpdu;
  return { tpdu: Buffer.from([t[0]!, t[3]!, t[4]!, t[1]!, t[2]!]), header: Buffer.from(request.header) };
}

/** Frame body: TPDU, header, message. The 2-byte length prefix is added by framing. */
export function encodeCup(envelope: CupEnvelope, msg: IsoMessage): Buffer {
  if (envelope.tpdu.length !== TPDU_LENGTH || envelope.header.length !== HEADER_LENGTH || envelope.tpdu[0] !== 0x60) {
    throw new RangeError('CUP envelope: TPDU is 5 bytes starting 0x60 and the header 6 bytes');
  }
  return Buffer.concat([envelope.tpdu, envelope.header, encodeMessage(cupDialect, msg)]);
}

export function decodeCup(body: Buffer): { envelope: CupEnvelope; message: IsoMessage } {
  if (body.length < CUP_MESSAGE_OFFSET) {
    const field = body.length < TPDU_LENGTH ? 'tpdu' : 'header';
    throw new Iso8583DecodeError(field, body.length, 'truncated', `frame body has ${body.length} bytes, envelope needs ${CUP_MESSAGE_OFFSET}`);
  }
  if (body[0] !== 0x60) throw new Iso8583DecodeError('tpdu', 0, 'bad-tpdu', `TPDU ID 0x${body[0]!.toString(16)}, expected 0x60`);
  const envelope = {
    tpdu: Buffer.from(body.subarray(0, TPDU_LENGTH)),
    header: Buffer.from(body.subarray(TPDU_LENGTH, CUP_MESSAGE_OFFSET)),
  };
  return { envelope, message: decodeMessage(cupDialect, body, CUP_MESSAGE_OFFSET) };
}
