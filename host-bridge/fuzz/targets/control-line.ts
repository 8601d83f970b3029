// The daemon's control protocol: bytes through its line splitter (bounded), each line through
// parseRequest. A line parses to an object with a string op, or fails with ControlRequestError; a line
// over the bound is reported, never buffered.
import { ControlRequestError, LineSplitter, MAX_LINE_BYTES, parseRequest } from '../../../firmware-ts/daemon/control-protocol.js';
import { FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';

const SEEDS = [
  '{"op":"ping"}\n{"id":1,"op":"status"}\n',
  '{"op":"sale","amount":1250}\n{"op":"void","stan":17,"password":"x"}\r\n',
  '{"op":"refund","amount":100,"rrn":"000000000002","date":"0315","password":"p"}\n',
];
const PROTO = Object.getOwnPropertyNames(Object.prototype);

export const controlLine: FuzzTarget = {
  name: 'control-line',
  covers: ['/firmware-ts/daemon/control-protocol'],
  maxLen: 40_000,
  dictionary: ['"op"', '"id"', ':', ',', '{', '}', '\n', '\r', '"amount"', 'null', '1e999', ...PROTO.map((p) => `"${p}"`)].map((s) => Buffer.from(s)),
  seeds: () => SEEDS.map((s) => Buffer.from(s)),
  structured(input, rng) {
    if (rng.chance(0.05)) return Buffer.concat([Buffer.alloc(MAX_LINE_BYTES + rng.int(10) - 5, 0x61), Buffer.from('\n{"op":"ping"}\n')]);
    const line = JSON.stringify({ [rng.chance(0.3) ? rng.pick(PROTO) : 'op']: rng.pick(['ping', 'sale', 'toString', 1, null]), id: rng.pick([1, 'a', null, {}, []]) });
    return Buffer.concat([input, Buffer.from(line + '\n')]);
  },
  run(input) {
    const splitter = new LineSplitter(
      (line) => {
        // Characters, not UTF-8 bytes: a bad byte decodes to U+FFFD, which takes three.
        if (line.length > MAX_LINE_BYTES) throw new FuzzFinding(`a line of ${line.length} characters passed the bound`);
        refusedWith([ControlRequestError], () => {
          const r = parseRequest(line);
          if (typeof r.op !== 'string' || !Object.hasOwn(r, 'op')) throw new FuzzFinding('request without an own string op');
        });
      },
      () => undefined,
    );
    for (let at = 0; at < input.length; at += 977) splitter.push(input.subarray(at, at + 977));
  },
};
