// `posj run --config FILE`: the terminal's configuration, checked key by key. A missing or bad key is a
// ConfigError naming the key (exit 2), so a field engineer fixes the file rather than reading a stack trace.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type DeviceConfig = 'simulated' | { path: string; baud: number };

export interface AcquirerTarget {
  host: string;
  port: number;
  tls: boolean;
  /** The terminal master key, 32 hex digits. */
  tmk: string;
}

export interface TerminalConfig {
  journalDir: string;
  deviceKeyFile: string;
  terminalId: string;
  merchantId: string;
  merchantName: string;
  /** `simulated`: an acquirer simulator the bench build starts (host-bridge/terminal/simulated-parts.ts). */
  acquirer: 'simulated' | AcquirerTarget;
  reader: DeviceConfig;
  printer: DeviceConfig;
  socketPath: string;
  timeouts: { connectMs: number; responseMs: number; cardMs: number };
  reversal: { attemptsPerRound: number; refuseSalesWhileStuck: boolean };
  /** The bench's USB serial line (SERVICE_PORT.md); benches prove a key listed in `pairedKeysFile`. */
  servicePort?: { path: string; baud: number; pairedKeysFile: string };
  /** A/B firmware slots; manifests must be signed by a key in `trustedKeysFile`. */
  firmware?: { slotsDir: string; trustedKeysFile: string; quotaBytes?: number };
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`config key "${key}": ${reason}`);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

function obj(v: unknown, key: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(key, 'must be an object');
  return v as Json;
}

function str(o: Json, key: string, prefix: string, pattern?: RegExp, hint?: string): string {
  const v = o[key];
  const name = prefix + key;
  if (v === undefined) throw new ConfigError(name, 'is missing');
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(name, 'must be a non-empty string');
  if (pattern && !pattern.test(v)) throw new ConfigError(name, hint ?? `must match ${pattern}`);
  return v;
}

function int(o: Json, key: string, prefix: string, min: number, max: number, fallback?: number): number {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (v === undefined) throw new ConfigError(prefix + key, 'is missing');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(prefix + key, `must be a whole number ${min}..${max}`);
  return v;
}

function device(o: Json, key: string): DeviceConfig {
  const v = o[key];
  if (v === undefined) throw new ConfigError(key, 'is missing (a serial path and baud, or "simulated")');
  if (v === 'simulated') return v;
  const d = obj(v, key);
  return { path: str(d, 'path', `${key}.`), baud: int(d, 'baud', `${key}.`, 1200, 921_600) };
}

/** Parses and checks a config file; relative paths are taken from the file's directory. */
export function loadConfig(file: string): TerminalConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('(file)', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('(file)', `${file} is not JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, path.dirname(path.resolve(file)));
}

export function parseConfig(raw: unknown, baseDir: string): TerminalConfig {
  const c = obj(raw, '(top level)');
  const p = (v: string) => path.resolve(baseDir, v);
  const acq = c.acquirer === 'simulated' ? 'simulated' : obj(c.acquirer ?? missing('acquirer'), 'acquirer');
  const t = c.timeouts === undefined ? {} : obj(c.timeouts, 'timeouts');
  const r = c.reversal === undefined ? {} : obj(c.reversal, 'reversal');
  const stuck = r.refuseSalesWhileStuck ?? true;
  if (typeof stuck !== 'boolean') throw new ConfigError('reversal.refuseSalesWhileStuck', 'must be true or false');
  const journalDir = p(str(c, 'journalDir', ''));
  return {
    journalDir,
    deviceKeyFile: c.deviceKeyFile === undefined ? `${journalDir}.key` : p(str(c, 'deviceKeyFile', '')),
    terminalId: str(c, 'terminalId', '', /^[0-9A-Za-z]{8}$/, 'must be 8 letters or digits (field 41)'),
    merchantId: str(c, 'merchantId', '', /^[0-9A-Za-z]{15}$/, 'must be 15 letters or digits (field 42)'),
    merchantName: str(c, 'merchantName', ''),
    acquirer:
      acq === 'simulated'
        ? acq
        : {
            host: str(acq, 'host', 'acquirer.'),
            port: int(acq, 'port', 'acquirer.', 1, 65_535),
            tls: acq.tls === undefined ? false : acq.tls === true || (acq.tls === false ? false : badTls()),
            tmk: str(acq, 'tmk', 'acquirer.', /^[0-9A-Fa-f]{32}$/, 'must be 32 hex digits (a double-length key)'),
          },
    reader: device(c, 'reader'),
    printer: device(c, 'printer'),
    socketPath: c.socketPath === undefined ? path.join(path.dirname(journalDir), 'posj.sock') : p(str(c, 'socketPath', '')),
    timeouts: {
      connectMs: int(t, 'connectMs', 'timeouts.', 100, 120_000, 3000),
      responseMs: int(t, 'responseMs', 'timeouts.', 100, 300_000, 30_000),
      cardMs: int(t, 'cardMs', 'timeouts.', 1000, 600_000, 60_000),
    },
    reversal: { attemptsPerRound: int(r, 'attemptsPerRound', 'reversal.', 1, 20, 3), refuseSalesWhileStuck: stuck },
    ...servicePortAndFirmware(c, p, journalDir),
  };
}

function servicePortAndFirmware(c: Json, p: (v: string) => string, journalDir: string): Pick<TerminalConfig, 'servicePort' | 'firmware'> {
  const out: Pick<TerminalConfig, 'servicePort' | 'firmware'> = {};
  if (c.servicePort !== undefined) {
    const sp = obj(c.servicePort, 'servicePort');
    out.servicePort = { path: str(sp, 'path', 'servicePort.'), baud: int(sp, 'baud', 'servicePort.', 1200, 4_000_000), pairedKeysFile: p(str(sp, 'pairedKeysFile', 'servicePort.')) };
  }
  if (c.firmware !== undefined) {
    const fw = obj(c.firmware, 'firmware');
    const slotsDir = p(str(fw, 'slotsDir', 'firmware.'));
    // Flashing never writes the journal: the two trees must not nest.
    const inside = (a: string, b: string) => a === b || a.startsWith(b + path.sep);
    if (inside(slotsDir, journalDir) || inside(journalDir, slotsDir)) throw new ConfigError('firmware.slotsDir', `must not contain or sit inside the journal directory ${journalDir}`);
    out.firmware = { slotsDir, trustedKeysFile: p(str(fw, 'trustedKeysFile', 'firmware.')), ...(fw.quotaBytes !== undefined ? { quotaBytes: int(fw, 'quotaBytes', 'firmware.', 1, Number.MAX_SAFE_INTEGER) } : {}) };
  }
  return out;
}

function missing(key: string): never {
  throw new ConfigError(key, 'is missing');
}

function badTls(): never {
  throw new ConfigError('acquirer.tls', 'must be true or false');
}
