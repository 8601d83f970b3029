// The daemon's config parser: any JSON text either parses (JSON.parse's SyntaxError is the file's, and
// loadConfig reports it as a ConfigError) to a config, or fails with ConfigError naming the key. Never a
// TypeError from a value of the wrong shape. Structure-aware: the example config with a key removed,
// retyped, renamed (typos and Object.prototype names) or nested wrong, re-serialized.
import { ConfigError, parseConfig } from '../../../firmware-ts/daemon/config.js';
import { refusedWith, type FuzzTarget } from '../target.js';

const EXAMPLE = {
  journalDir: 'journal',
  terminalId: '12345678',
  merchantId: '898310048990001',
  merchantName: 'Test Shop',
  acquirer: { host: '127.0.0.1', port: 5000, tls: false, tmk: '0123456789ABCDEFFEDCBA9876543210' },
  reader: { path: '/dev/ttyUSB0', baud: 115200 },
  printer: 'simulated',
  timeouts: { connectMs: 3000, responseMs: 30000, cardMs: 60000 },
  reversal: { attemptsPerRound: 3, refuseSalesWhileStuck: true },
};
const PROTO = Object.getOwnPropertyNames(Object.prototype);
const VALUES: unknown[] = ['simulated', '', 'x'.repeat(200), 0, -1, 1e308, true, null, [], {}, '12345678', 65536, '/tmp/x', '0123456789ABCDEFFEDCBA9876543210'];

type Json = Record<string, unknown>;
function mutate(o: Json, rng: import('../mutate.js').Rng, depth = 0): Json {
  const out: Json = { ...o };
  const keys = Object.keys(out);
  const k = rng.pick(keys);
  const op = rng.int(5);
  if (op === 0) delete out[k];
  else if (op === 1) out[k] = rng.pick(VALUES);
  else if (op === 2) Object.defineProperty(out, rng.chance(0.5) ? rng.pick(PROTO) : k.slice(0, -1), { value: out[k], enumerable: true, configurable: true, writable: true });
  else if (op === 3 && out[k] && typeof out[k] === 'object' && !Array.isArray(out[k]) && depth < 3) out[k] = mutate(out[k] as Json, rng, depth + 1);
  else out[k] = rng.chance(0.5) ? EXAMPLE : [out[k]];
  return out;
}

export const config: FuzzTarget = {
  name: 'config',
  covers: ['/firmware-ts/daemon/config'],
  maxLen: 8192,
  dictionary: [...Object.keys(EXAMPLE), ...PROTO, 'path', 'baud', 'host', 'port', 'tls', 'tmk'].map((s) => Buffer.from(`"${s}"`)),
  seeds: () => [Buffer.from(JSON.stringify(EXAMPLE, null, 2)), Buffer.from(JSON.stringify({ ...EXAMPLE, acquirer: 'simulated', reader: 'simulated' }))],
  structured(input, rng) {
    try {
      const o = JSON.parse(input.toString('utf8')) as unknown;
      if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
      return Buffer.from(JSON.stringify(mutate(o as Json, rng)));
    } catch {
      return undefined;
    }
  },
  run(input) {
    let raw: unknown;
    try {
      raw = JSON.parse(input.toString('utf8'));
    } catch {
      return;
    }
    refusedWith([ConfigError], () => void parseConfig(raw, '/etc/posj'));
  },
};
