// Card-reader messages (JSON in a frame payload): the input is "TYPE\n" + payload. A message decodes to a
// value whose every field is one the spec lists (own properties only), and re-encodes to the same JSON, or
// fails with ReaderMessageError. Structure-aware: a decoded message with a field changed, added (including
// the names Object.prototype lends: toString, __proto__, ...) or removed, re-serialized.
import { COMMAND_TYPES, decodeReaderCommand, decodeReaderResponse, encodeReaderMessage, ReaderMessageError, RESPONSE_TYPES } from '../../../protocol/reader/reader-messages.js';
import { expectEqual, FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype);
const FIELDS = ['id', 'timeoutMs', 'modes', 'target', 'amount', 'currency', 'arc', 'issuerAuth', 'entryMode', 'pan', 'expiry', 'track2', 'panSeq', 'emv', 'pinBlock', 'ksn', 'pinKey', 'reason', 'model', 'firmware', 'cardPresent', 'code', 'message'];
const VALUES: unknown[] = [1, 0, -1, 2 ** 31, 1.5, '156', 'magstripe', 'chip', ['chip'], [], true, null, {}, '4242424242424242', '2808', '4242424242424242D28082010000', '00', 'AB', '', 'cancelled', 'timeout', '5CB134481FA2130D'];

const SEEDS: [string, object][] = [
  ['READ', { id: 3, amount: 12345, currency: '156' }],
  ['WAIT_CARD', { id: 1, timeoutMs: 30000, modes: ['chip', 'magstripe'] }],
  ['GEN_AC2', { id: 4, arc: '00', issuerAuth: '0102030405060708' }],
  ['CARD_DATA', { id: 3, entryMode: 'magstripe', pan: '4242424242424242', expiry: '2808', track2: '4242424242424242D28082010000' }],
  ['CARD_DATA', { id: 5, entryMode: 'chip', pan: '6212140000000000006', expiry: '2812', panSeq: '01', emv: '9F2701809F36020001' }],
  ['STATUS_OK', { id: 2, model: 'SIM-READER', firmware: '1.0', cardPresent: false }],
  ['ERROR', { id: 2, code: 'NO_CARD', message: 'no card' }],
  ['PIN_BLOCK', { id: 6, pinBlock: '0123456789ABCDEF', ksn: 'FFFF9876543210E00001' }],
  ['PIN', { id: 7, amount: 12345, currency: '156', timeoutMs: 60000, pinKey: '4A299B940973BD26353161F5E68EA097E305958D' }],
  ['PIN_CANCELLED', { id: 7, reason: 'timeout' }],
];

const split = (input: Buffer) => {
  const nl = input.indexOf(0x0a);
  return nl < 0 ? null : { type: input.toString('latin1', 0, nl), payload: input.subarray(nl + 1) };
};

export const readerMessages: FuzzTarget = {
  name: 'reader-messages',
  covers: ['/protocol/reader/'],
  maxLen: 4096,
  dictionary: [...FIELDS, ...PROTO_NAMES, '"', ':', ',', '{', '}', '[', ']', '\\u0000'].map((s) => Buffer.from(s)),
  seeds: () => SEEDS.map(([type, body]) => Buffer.from(`${type}\n${JSON.stringify(body)}`)),
  structured(input, rng) {
    const parts = split(input);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(parts!.payload.toString('utf8')) as Record<string, unknown>;
      if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
    } catch {
      return undefined;
    }
    const keys = Object.keys(body);
    const op = rng.int(4);
    if (op === 0 && keys.length) delete body[rng.pick(keys)];
    else if (op === 1) Object.defineProperty(body, rng.chance(0.5) ? rng.pick(PROTO_NAMES) : rng.pick(FIELDS), { value: rng.pick(VALUES), enumerable: true, configurable: true, writable: true });
    else if (keys.length) body[rng.pick(keys)] = rng.pick(VALUES);
    const type = rng.chance(0.1) ? rng.pick([...COMMAND_TYPES, ...RESPONSE_TYPES, ...PROTO_NAMES]) : parts!.type;
    return Buffer.from(`${type}\n${JSON.stringify(body)}`);
  },
  run(input) {
    const parts = split(input);
    if (!parts) return;
    const isCommand = (COMMAND_TYPES as readonly string[]).includes(parts.type);
    refusedWith([ReaderMessageError], () => {
      const msg = isCommand ? decodeReaderCommand(parts.type, parts.payload) : decodeReaderResponse(parts.type, parts.payload);
      // SERIAL_FRAMES.md lists each message's fields; none is a name every object inherits.
      const inherited = Object.keys(msg).find((k) => PROTO_NAMES.includes(k));
      if (inherited !== undefined) throw new FuzzFinding(`${parts.type} accepted "${inherited}" as a field`);
      const again = encodeReaderMessage(msg);
      const canonical = JSON.stringify(JSON.parse(parts.payload.toString('utf8')));
      expectEqual(again.payload, Buffer.from(canonical), 'decode → encode (reader message)');
    });
  },
};
