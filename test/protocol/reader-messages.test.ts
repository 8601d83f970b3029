// Reader message codec: the spec's example lines decode to the documented messages, shapes are enforced,
// and a bad payload never quotes card data in its error.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame } from '../../protocol/serial/frame.js';
import {
  ReaderMessageError,
  decodeReaderCommand,
  decodeReaderResponse,
  encodeReaderMessage,
} from '../../protocol/reader/reader-messages.js';

const frameOf = (line: string) => decodeFrame(Buffer.from(line, 'latin1'));

describe('reader messages', () => {
  it('decodes the example lines in SERIAL_FRAMES.md', () => {
    const read = frameOf('#03 READ eyJpZCI6MywiYW1vdW50IjoxMjM0NSwiY3VycmVuY3kiOiIxNTYifQ== 4901');
    expect(decodeReaderCommand(read.type, read.payload)).toEqual({ type: 'READ', id: 3, amount: 12345, currency: '156' });
    const data = frameOf('#05 CARD_DATA eyJpZCI6MywiZW50cnlNb2RlIjoibWFnc3RyaXBlIiwicGFuIjoiNDI0MjQyNDI0MjQyNDI0MiIsImV4cGlyeSI6IjI4MDgiLCJ0cmFjazIiOiI0MjQyNDI0MjQyNDI0MjQyRDI4MDgyMDEwMDAwIn0= 4B5A');
    expect(decodeReaderResponse(data.type, data.payload)).toEqual({
      type: 'CARD_DATA', id: 3, entryMode: 'magstripe', pan: '4242424242424242', expiry: '2808', track2: '4242424242424242D28082010000',
    });
    expect(frameOf('#03 ACK - 0F31')).toEqual({ seq: 3, type: 'ACK', payload: Buffer.alloc(0) });
    expect(frameOf('#05 ACK - 8FFA')).toEqual({ seq: 5, type: 'ACK', payload: Buffer.alloc(0) });
  });

  const bad: Array<[string, string, string]> = [
    ['READ', '{"id":1,"amount":1,"currency":"156","extra":1}', 'extra'],
    ['READ', '{"id":1,"amount":1}', 'currency'],
    ['READ', '{"id":0,"amount":1,"currency":"156"}', 'id'],
    ['READ', '{"id":1,"amount":-5,"currency":"156"}', 'amount'],
    ['WAIT_CARD', '{"id":1,"timeoutMs":10,"modes":["swipe"]}', 'modes'],
    ['READ', '[1]', '(payload)'],
    ['EXPLODE', '{}', '(type)'],
    // Names every object inherits are not fields (SERIAL_FRAMES.md lists each message's fields).
    ['READ', '{"id":1,"amount":1,"currency":"156","toString":1}', 'toString'],
    ['READ', '{"id":1,"amount":1,"currency":"156","constructor":{}}', 'constructor'],
    ['READ', '{"id":1,"amount":1,"currency":"156","__proto__":{"x":1}}', '__proto__'],
    ['STATUS', '{"id":1,"hasOwnProperty":true}', 'hasOwnProperty'],
    ['toString', '{"id":1}', '(type)'],
  ];
  for (const [type, json, field] of bad) {
    it(`${type} ${json} is refused naming ${field}`, () => {
      expect(() => decodeReaderCommand(type, Buffer.from(json))).toThrow(expect.objectContaining({ code: 'READER_BAD_MESSAGE', field }));
    });
  }

  it('responses are checked too: a PAN that is not digits, an expiry month 13', () => {
    expect(() => decodeReaderResponse('CARD_DATA', Buffer.from('{"id":1,"entryMode":"chip","pan":"62000000000000O5","expiry":"3012"}'))).toThrow(/field pan/);
    expect(() => decodeReaderResponse('CARD_DATA', Buffer.from('{"id":1,"entryMode":"chip","pan":"6200000000000005","expiry":"3013"}'))).toThrow(/field expiry/);
  });

  it('a payload that is not JSON is refused without quoting it (it may hold a PAN)', () => {
    try {
      decodeReaderResponse('CARD_DATA', Buffer.from('{"id":1,"pan":"6200000000000005",'));
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('6200000000000005');
      expect(err).toBeInstanceOf(ReaderMessageError);
    }
  });

  it('refuses to encode a message that breaks its own shape', () => {
    expect(() => encodeReaderMessage({ type: 'STATUS', id: -1 })).toThrow(ReaderMessageError);
  });

  it('random payloads give a message or a ReaderMessageError, nothing else (property)', () => {
    const types = ['WAIT_CARD', 'CANCEL', 'READ', 'PIN', 'GEN_AC2', 'STATUS', 'CARD_DATA', 'AC2', 'ERROR', 'X'];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.oneof(fc.json(), fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u).toString('latin1'))), (type, text) => {
        for (const decode of [decodeReaderCommand, decodeReaderResponse]) {
          try {
            decode(type, Buffer.from(text, 'utf8'));
          } catch (err) {
            expect(err).toBeInstanceOf(ReaderMessageError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
