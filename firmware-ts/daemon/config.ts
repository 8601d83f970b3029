// `posj run --config FILE`: the terminal's configuration, checked key by key. A missing, bad or unknown key
// is a ConfigError naming the key's path (exit 2, with "did you mean" for a typo), so a field engineer fixes
// the file rather than reading a stack trace or running on a silent default. Every path in the file is taken
// from the file's own directory. The example for a real terminal is docs/posj.example.jsonc.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findDuplicateKey, lineAndColumn, stripJsonComments } from '../../protocol/json/jsonc.js';
import { unknownKeyReason, unknownKeys } from '../../protocol/json/known-keys.js';
import { DEFAULT_SEGMENT_BYTES } from '../journal/journal.js';

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
  /** The engine's ReversalPolicy keys a deployment may set; parseConfig fills every one (defaults from the engine's). */
  reversal: { attemptsPerRound: number; refuseSalesWhileStuck: boolean; attemptSpacingMs?: number; backoffMs?: number; maxBackoffMs?: number; preSaleBudgetMs?: number; jitter?: number };
  /** The journal on a finite disk: budget with automatic retention, and the reserve (JOURNAL_FORMAT §10). */
  journalSpace: { budgetBytes: number; reserveBytes: number; retention: 'delete' | 'archive' };
  /** The bench's USB serial line (SERVICE_PORT.md); benches prove a key listed in `pairedKeysFile`. */
  servicePort?: { path: string; baud: number; pairedKeysFile: string };
  /** A/B firmware slots; manifests must be signed by a key in `trustedKeysFile`. */
  firmware?: { slotsDir: string; trustedKeysFile: string; quotaBytes?: number };
  /** Transactions per batch before "settle first" (≤ 999: field 48 counts in three digits), and settling by itself there. */
  batch?: { limit: number; autoSettle: boolean };
  /** Online PIN beyond the card's CVM: the acquirer profile's amount (fen) from which every sale asks for a PIN, and the PIN pad's entry time. */
  onlinePin?: { fromAmount?: number; entryMs: number };
  /** The rotated log file; absent: `log/posj` beside the journal, 1 MiB × 4 (file-log.ts). */
  log?: { file: string; maxBytes: number; keep: number };
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly key: string,
    readonly reason: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}config key "${key}": ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Longest Unix socket path: sun_path is 108 bytes on Linux, with the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

type Json = Record<string, unknown>;

/**
 * One object of the config: reading a key marks it known, and `end()` refuses every key nobody read, so a
 * key added to the config is known by being read, with no second list to keep in step.
 */
class Section {
  private readonly read = new Set<string>();
  private readonly o: Json;

  constructor(
    v: unknown,
    private readonly at: string,
  ) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(at || '(top level)', 'must be an object');
    this.o = v as Json;
  }

  private name(key: string): string {
    return this.at ? `${this.at}.${key}` : key;
  }

  raw(key: string): unknown {
    this.read.add(key);
    return Object.hasOwn(this.o, key) ? this.o[key] : undefined;
  }

  str(key: string, pattern?: RegExp, hint?: string): string {
    const v = this.raw(key);
    if (v === undefined) throw new ConfigError(this.name(key), 'is missing');
    if (typeof v !== 'string' || v.length === 0) throw new ConfigError(this.name(key), 'must be a non-empty string');
    if (pattern && !pattern.test(v)) throw new ConfigError(this.name(key), hint ?? `must match ${pattern}`);
    return v;
  }

  int(key: string, min: number, max: number, fallback?: number): number {
    const v = this.raw(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (v === undefined) throw new ConfigError(this.name(key), 'is missing');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(this.name(key), `must be a whole number ${min}..${max}`);
    return v;
  }

  /** A number (fractions allowed) in min..max. */
  fraction(key: string, min: number, max: number, fallback: number): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ConfigError(this.name(key), `must be a number ${min}..${max}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw new ConfigError(this.name(key), 'must be true or false');
    return v;
  }

  /** A path, taken from `baseDir` when relative. */
  path(key: string, baseDir: string): string {
    return path.resolve(baseDir, this.str(key));
  }

  /** A nested object, or null when absent. */
  section(key: string): Section | null {
    const v = this.raw(key);
    return v === undefined ? null : new Section(v, this.name(key));
  }

  /** Every key in the file must have been read. */
  end(): void {
    const known = [...this.read];
    const bad = unknownKeys(this.o, known)[0];
    if (bad) throw new ConfigError(this.name(bad.key), unknownKeyReason(bad.suggestion, known));
  }
}

function device(c: Section, key: 'reader' | 'printer', baseDir: string): DeviceConfig {
  const v = c.raw(key);
  if (v === undefined) throw new ConfigError(key, 'is missing (a serial path and baud, or "simulated")');
  if (v === 'simulated') return v;
  const d = c.section(key)!;
  const r = { path: d.path('path', baseDir), baud: d.int('baud', 1200, 921_600) };
  d.end();
  return r;
}

/** Parses and checks a config file (JSON, comments allowed); relative paths are taken from the file's directory. */
export function loadConfig(file: string): TerminalConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('(file)', `cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  // A byte-order mark (Windows editors add one) is not JSON, and JSON.parse names it as an invisible token.
  if (text.startsWith('\uFEFF')) text = ' ' + text.slice(1);
  let raw: unknown;
  const json = stripJsonComments(text);
  try {
    raw = JSON.parse(json);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    const where = at ? lineAndColumn(text, Number(at[1])) : null;
    throw new ConfigError('(file)', `not JSON${where ? ` at line ${where.line}, column ${where.column}` : ''}: ${(e as Error).message}`, file);
  }
  const twice = findDuplicateKey(json);
  if (twice) {
    const where = lineAndColumn(text, twice.offset);
    throw new ConfigError(twice.path, `given twice (again at line ${where.line}, column ${where.column}): keep one`, file);
  }
  try {
    return parseConfig(raw, path.dirname(path.resolve(file)));
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.key, e.reason, file);
    throw e;
  }
}

export function parseConfig(raw: unknown, baseDir: string): TerminalConfig {
  const c = new Section(raw, '');
  const journalDir = c.path('journalDir', baseDir);
  const deviceKeyFile = c.raw('deviceKeyFile') === undefined ? `${journalDir}.key` : c.path('deviceKeyFile', baseDir);
  const terminalId = c.str('terminalId', /^[0-9A-Za-z]{8}$/, 'must be 8 letters or digits (field 41)');
  const merchantId = c.str('merchantId', /^[0-9A-Za-z]{15}$/, 'must be 15 letters or digits (field 42)');
  const merchantName = c.str('merchantName');
  let acquirer: TerminalConfig['acquirer'];
  const acqRaw = c.raw('acquirer');
  if (acqRaw === undefined) throw new ConfigError('acquirer', 'is missing');
  if (acqRaw === 'simulated') acquirer = 'simulated';
  else {
    const a = c.section('acquirer')!;
    acquirer = {
      host: a.str('host'),
      port: a.int('port', 1, 65_535),
      tls: a.bool('tls', false),
      tmk: a.str('tmk', /^[0-9A-Fa-f]{32}$/, 'must be 32 hex digits (a double-length key)'),
    };
    a.end();
  }
  const reader = device(c, 'reader', baseDir);
  const printer = device(c, 'printer', baseDir);
  const socketPath = c.raw('socketPath') === undefined ? path.join(path.dirname(journalDir), 'posj.sock') : c.path('socketPath', baseDir);
  const socketBytes = Buffer.byteLength(socketPath);
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    throw new ConfigError(c.raw('socketPath') === undefined ? 'socketPath (default: beside journalDir)' : 'socketPath', `${socketPath} is ${socketBytes} bytes; a Unix socket path is at most ${MAX_SOCKET_PATH_BYTES}: choose a shorter one`);
  }
  const t = c.section('timeouts');
  const timeouts = {
    connectMs: t?.int('connectMs', 100, 120_000, 3000) ?? 3000,
    responseMs: t?.int('responseMs', 100, 300_000, 30_000) ?? 30_000,
    cardMs: t?.int('cardMs', 1000, 600_000, 60_000) ?? 60_000,
  };
  t?.end();
  const r = c.section('reversal');
  const reversal = {
    attemptsPerRound: r?.int('attemptsPerRound', 1, 20, 3) ?? 3,
    attemptSpacingMs: r?.int('attemptSpacingMs', 100, 60_000, 2_000) ?? 2_000,
    backoffMs: r?.int('backoffMs', 1_000, 3_600_000, 30_000) ?? 30_000,
    maxBackoffMs: r?.int('maxBackoffMs', 1_000, 86_400_000, 600_000) ?? 600_000,
    preSaleBudgetMs: r?.int('preSaleBudgetMs', 0, 60_000, 5_000) ?? 5_000,
    // Spread of the background rounds' backoff (±): terminals that lost the acquirer together do not all return at once.
    jitter: r?.fraction('jitter', 0, 1, 0.2) ?? 0.2,
    refuseSalesWhileStuck: r?.bool('refuseSalesWhileStuck', true) ?? true,
  };
  r?.end();
  const js = c.section('journalSpace');
  const retention = js?.raw('retention') ?? 'delete';
  if (retention !== 'delete' && retention !== 'archive') throw new ConfigError('journalSpace.retention', `must be "delete" or "archive", not ${JSON.stringify(retention)}`);
  const journalSpace = {
    budgetBytes: js?.int('budgetBytes', 1 << 20, 2 ** 40, 64 << 20) ?? 64 << 20,
    reserveBytes: js?.int('reserveBytes', 0, 1 << 30, 2 << 20) ?? 2 << 20,
    retention: retention as 'delete' | 'archive',
  };
  js?.end();
  // The reserve exists to pay for the next segment on a full disk; one smaller than a segment pays for nothing.
  if (journalSpace.reserveBytes > 0 && journalSpace.reserveBytes < DEFAULT_SEGMENT_BYTES) {
    throw new ConfigError('journalSpace.reserveBytes', `${journalSpace.reserveBytes} is smaller than one journal segment (${DEFAULT_SEGMENT_BYTES} bytes), so on a full disk it could not pay for the next one: use 0 (no reserve) or at least ${DEFAULT_SEGMENT_BYTES}`);
  }
  const extra = servicePortAndFirmware(c, baseDir, journalDir);
  const bs = c.section('batch');
  const batch = bs && { limit: bs.int('limit', 1, 999, 999), autoSettle: bs.bool('autoSettle', false) };
  bs?.end();
  const op = c.section('onlinePin');
  const from = op?.raw('fromAmount') === undefined ? undefined : op.int('fromAmount', 1, 999_999_999_999);
  const onlinePin = op && { ...(from !== undefined ? { fromAmount: from } : {}), entryMs: op.int('entryMs', 1_000, 300_000, 60_000) };
  op?.end();
  const l = c.section('log');
  const log = l && {
    file: l.raw('file') === undefined ? path.join(path.dirname(journalDir), 'log', 'posj') : l.path('file', baseDir),
    maxBytes: l.int('maxBytes', 64 * 1024, 1 << 30, 1024 * 1024),
    keep: l.int('keep', 1, 100, 3),
  };
  l?.end();
  c.end();
  return { journalDir, deviceKeyFile, terminalId, merchantId, merchantName, acquirer, reader, printer, socketPath, timeouts, reversal, journalSpace, ...extra, ...(batch ? { batch } : {}), ...(onlinePin ? { onlinePin } : {}), ...(log ? { log } : {}) };
}
function servicePortAndFirmware(c: Section, baseDir: string, journalDir: string): Pick<TerminalConfig, 'servicePort' | 'firmware'> {
  const out: Pick<TerminalConfig, 'servicePort' | 'firmware'> = {};
  const sp = c.section('servicePort');
  if (sp) {
    out.servicePort = { path: sp.path('path', baseDir), baud: sp.int('baud', 1200, 4_000_000), pairedKeysFile: sp.path('pairedKeysFile', baseDir) };
    sp.end();
  }
  const fw = c.section('firmware');
  if (fw) {
    const slotsDir = fw.path('slotsDir', baseDir);
    // Flashing never writes the journal: the two trees must not nest.
    const inside = (a: string, b: string) => a === b || a.startsWith(b + path.sep);
    if (inside(slotsDir, journalDir) || inside(journalDir, slotsDir)) throw new ConfigError('firmware.slotsDir', `must not contain or sit inside the journal directory ${journalDir}`);
    const quota = fw.raw('quotaBytes');
    out.firmware = { slotsDir, trustedKeysFile: fw.path('trustedKeysFile', baseDir), ...(quota !== undefined ? { quotaBytes: fw.int('quotaBytes', 1, Number.MAX_SAFE_INTEGER) } : {}) };
    fw.end();
  }
  return out;
}
