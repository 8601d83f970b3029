// Strict configuration (issue 10 item 3): unknown keys refused with their path and a "did you mean",
// every path relative to the config file, a socket path too long caught at config check, file-system
// problems naming key and path, conflicting flags as usage errors, and every check done before the journal
// is opened or the acquirer dialed. The same strictness for the acquirer simulator's rules file. The
// commented example config in docs/ must itself load.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../firmware-ts/daemon/config.js';
import { parseRules, RulesError } from '../../host-bridge/acquirer/rules.js';
import { didYouMean } from '../../protocol/json/known-keys.js';
import { stripJsonComments } from '../../protocol/json/jsonc.js';
import { posj, POSJ_BRIDGE, requireDist } from '../helpers/kill-rig.js';
import { spawn } from 'node:child_process';
import { tmpDir } from '../helpers/tmp.js';

const good = {
  journalDir: 'j',
  terminalId: '12345678',
  merchantId: '898310048990001',
  merchantName: 'M',
  acquirer: { host: '127.0.0.1', port: 1, tmk: '0123456789ABCDEFFEDCBA9876543210' },
  reader: { path: 'dev/reader', baud: 115200 },
  printer: { path: '/dev/ttyUSB1', baud: 9600 },
};

const keyError = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no ConfigError');
};

describe('config keys', () => {
  it('an unknown key at any depth is an error naming its path, with the key probably meant', () => {
    const cases: Array<[Record<string, unknown>, string, string | null]> = [
      [{ ...good, timeout: { responseMs: 5000 } }, 'timeout', 'timeouts'],
      [{ ...good, timeouts: { responseMS: 5000 } }, 'timeouts.responseMS', 'responseMs'],
      [{ ...good, acquirer: { ...good.acquirer, prot: 5000 } }, 'acquirer.prot', 'port'],
      [{ ...good, reader: { ...good.reader, baudrate: 9600 } }, 'reader.baudrate', 'baud'],
      [{ ...good, reversal: { attempts: 3 } }, 'reversal.attempts', 'attemptsPerRound'],
      [{ ...good, reversal: { backoff: 3 } }, 'reversal.backoff', 'backoffMs'],
      [{ ...good, reversal: { retries: 3 } }, 'reversal.retries', null],
      [{ ...good, reversal: { jiter: 0.1 } }, 'reversal.jiter', 'jitter'],
      [{ ...good, colour: 'red' }, 'colour', null],
    ];
    for (const [raw, key, meant] of cases) {
      const e = keyError(() => parseConfig(raw, '/etc/posj'));
      expect(e.key, key).toBe(key);
      if (meant) expect(e.message).toContain(`did you mean "${meant}"?`);
      else expect(e.message).toMatch(/unknown key \(known here: /);
    }
    // Inherited names are not keys of the file.
    expect(() => parseConfig({ ...good, toString: 'x' }, '/')).toThrow(/config key "toString": unknown key/);
    expect(didYouMean('journaldir', ['journalDir', 'socketPath'])).toBe('journalDir');
  });

  it('reversal.jitter is a fraction 0..1 (default 0.2), anything else refused naming the key', () => {
    expect(parseConfig(good, '/etc/posj').reversal.jitter).toBe(0.2);
    expect(parseConfig({ ...good, reversal: { jitter: 0.35 } }, '/etc/posj').reversal.jitter).toBe(0.35);
    expect(parseConfig({ ...good, reversal: { jitter: 0 } }, '/etc/posj').reversal.jitter).toBe(0);
    for (const bad of [1.5, -0.1, '0.2', null]) {
      const e = keyError(() => parseConfig({ ...good, reversal: { jitter: bad } }, '/etc/posj'));
      expect(e.key).toBe('reversal.jitter');
      expect(e.message).toContain('must be a number 0..1');
    }
  });

  it('journalSpace.reserveBytes is 0 or at least one segment: a smaller reserve could not pay for the next one on a full disk', () => {
    expect(parseConfig(good, '/etc/posj').journalSpace.reserveBytes).toBe(2 << 20);
    expect(parseConfig({ ...good, journalSpace: { reserveBytes: 0 } }, '/etc/posj').journalSpace.reserveBytes).toBe(0);
    expect(parseConfig({ ...good, journalSpace: { reserveBytes: 1 << 20 } }, '/etc/posj').journalSpace.reserveBytes).toBe(1 << 20);
    const e = keyError(() => parseConfig({ ...good, journalSpace: { reserveBytes: 512 * 1024 } }, '/etc/posj'));
    expect(e.key).toBe('journalSpace.reserveBytes');
    expect(e.message).toContain('524288 is smaller than one journal segment (1048576 bytes)');
  });

  it('a key given twice is refused naming it and where (JSON.parse kept the last: two terminalIds booted as the second); a byte-order mark is no error', () => {
    const dir = tmpDir('config-twice');
    const file = path.join(dir, 'posj.json');
    const text = JSON.stringify(good, null, 1).replace('"terminalId": "12345678",', '"terminalId": "12345678",\n "terminalId": "87654321",');
    fs.writeFileSync(file, text);
    const e = keyError(() => loadConfig(file));
    expect(e.message).toBe(`${file}: config key "terminalId": given twice (again at line 4, column 2): keep one`);
    fs.writeFileSync(file, '\uFEFF' + JSON.stringify(good));
    expect(loadConfig(file).terminalId).toBe('12345678');
  });

  it('every path is taken from the config file, serial device paths included', () => {
    const c = parseConfig({ ...good, socketPath: 'run/posj.sock', deviceKeyFile: '../keys/k' }, '/etc/posj');
    expect(c).toMatchObject({ journalDir: '/etc/posj/j', deviceKeyFile: '/etc/keys/k', socketPath: '/etc/posj/run/posj.sock' });
    expect(c.reader).toEqual({ path: '/etc/posj/dev/reader', baud: 115200 });
    expect(c.printer).toEqual({ path: '/dev/ttyUSB1', baud: 9600 });
  });

  it('a socket path over 107 bytes is refused at config check, the default one too', () => {
    const long = 'd'.repeat(100);
    expect(keyError(() => parseConfig({ ...good, socketPath: `${long}/posj.sock` }, '/tmp')).message).toMatch(/config key "socketPath": .* is 115 bytes; a Unix socket path is at most 107/);
    expect(keyError(() => parseConfig({ ...good, journalDir: `${long}/journal` }, '/tmp')).key).toBe('socketPath (default: beside journalDir)');
  });

  it('comments are allowed, and a JSON error gives line and column', () => {
    expect(JSON.parse(stripJsonComments('{"a": "http://x", // c\n/* b */ "b": 1}'))).toEqual({ a: 'http://x', b: 1 });
    const dir = tmpDir('config-jsonc');
    const file = path.join(dir, 'bad.jsonc');
    fs.writeFileSync(file, '{\n  // ok\n  "journalDir": "j",\n  oops\n}');
    expect(() => loadConfig(file)).toThrow(/not JSON at line 4, column 3/);
  });

  it('the shipped example for a real terminal loads, with its paths taken from docs/', () => {
    const c = loadConfig('docs/posj.example.jsonc');
    expect(c.journalDir).toBe(path.resolve('docs/data/journal'));
    expect(c.acquirer).toMatchObject({ tls: true, port: 5000 });
    expect(c.reader).toEqual({ path: '/dev/ttyUSB0', baud: 115200 });
    expect(c.batch).toEqual({ limit: 999, autoSettle: false });
    expect(c.log).toEqual({ file: path.resolve('docs/data/log/posj'), maxBytes: 1048576, keep: 3 });
    expect(keyError(() => parseConfig({ ...good, batch: { limit: 1000 } }, '/')).message).toContain('config key "batch.limit": must be a whole number 1..999');
  });
});

describe('acquirer simulator rules file', () => {
  it('unknown keys, a misspelt "rules" included, are refused with where and the key meant', () => {
    const where = (j: unknown) => {
      try {
        parseRules(j);
      } catch (e) {
        if (e instanceof RulesError) return e.message;
      }
      return 'accepted';
    };
    expect(where({ rule: [] })).toBe('rules $.rule: unknown key (did you mean "rules"?)');
    expect(where({ rules: [{ when: { ammount: 500 }, then: { action: 'decline', code: '51' } }] })).toBe('rules $.rules[0].when.ammount: unknown key (did you mean "amount"?)');
    expect(where({ rules: [{ when: {}, then: { action: 'decline', cod: '51' } }] })).toBe('rules $.rules[0].then.cod: unknown key (did you mean "code"?)');
    expect(where({ rules: [{ when: {}, than: {} }] })).toBe('rules $.rules[0].than: unknown key (did you mean "then"?)');
    expect(where({ rules: [{ when: { stan: 42 }, then: { action: 'approve' } }] })).toMatch(/\$\.rules\[0\]\.when\.stan: field 11/);
    expect(where({ script: [null, { action: 'drop-reply' }], rules: [{ when: { mti: '0200', amount: 500 }, then: { action: 'approve' } }] })).toBe('accepted');
  });

  it('posj-bridge acquirer --rules with a typo exits 2 naming the key', async () => {
    requireDist();
    const dir = tmpDir('rules-typo');
    const rules = path.join(dir, 'rules.json');
    fs.writeFileSync(rules, JSON.stringify({ rule: [{ when: {}, then: { action: 'decline', code: '05' } }] }));
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [POSJ_BRIDGE, 'acquirer', '--port', '0', '--ledger', path.join(dir, 'l.jsonl'), '--rules', rules]);
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (status) => resolve({ status, stderr }));
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('did you mean "rules"?');
  });
});

describe('posj run refuses a wrong config before touching anything', () => {
  const write = (dir: string, cfg: Record<string, unknown>) => {
    const file = path.join(dir, 'posj.json');
    fs.writeFileSync(file, JSON.stringify(cfg));
    return file;
  };

  it('unknown key, long socket path, EISDIR, ENOTDIR, EEXIST: exit 2 naming key and path; no journal created', async () => {
    requireDist();
    const dir = tmpDir('config-run');
    fs.mkdirSync(path.join(dir, 'keydir'));
    fs.writeFileSync(path.join(dir, 'afile'), 'x');
    fs.writeFileSync(path.join(dir, 'notasocket'), 'precious');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...good, timeout: {} }, /config key "timeout": unknown key \(did you mean "timeouts"\?\)/],
      [{ ...good, socketPath: 's'.repeat(120) }, /config key "socketPath": .* bytes; a Unix socket path is at most 107/],
      [{ ...good, deviceKeyFile: 'keydir' }, new RegExp(`config key "deviceKeyFile": ${dir}/keydir: EISDIR`)],
      [{ ...good, journalDir: 'afile/journal' }, new RegExp(`config key "journalDir": ${dir}/afile/journal: ENOTDIR`)],
      [{ ...good, socketPath: 'notasocket' }, new RegExp(`config key "socketPath": ${dir}/notasocket: EEXIST: exists and is not a socket`)],
      [{ ...good, reader: { path: 'keydir', baud: 9600 } }, new RegExp(`config key "reader.path": ${dir}/keydir: EISDIR`)],
    ];
    for (const [cfg, want] of cases) {
      const r = await posj(['run', '--config', write(dir, cfg)]);
      expect(r.status, String(want)).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr).toContain(path.join(dir, 'posj.json'));
    }
    expect(fs.existsSync(path.join(dir, 'j')), 'no journal directory was created').toBe(false);
    expect(fs.readFileSync(path.join(dir, 'notasocket'), 'utf8')).toBe('precious');
  });

  it('another daemon serving the socket is found before the journal is opened: exit 4, as for a locked journal', async () => {
    requireDist();
    const dir = tmpDir('config-serving');
    const sock = path.join(dir, 'posj.sock');
    const other = net.createServer().listen(sock);
    await new Promise((r) => other.once('listening', r));
    try {
      const r = await posj(['run', '--config', write(dir, { ...good, socketPath: 'posj.sock' })]);
      expect(r.status).toBe(4);
      expect(r.stderr).toContain(`another posj daemon is serving ${sock}`);
      expect(fs.existsSync(path.join(dir, 'j'))).toBe(false);
      expect(fs.existsSync(path.join(dir, 'j.key'))).toBe(false);
    } finally {
      other.close();
    }
  });

  it('--config with --simulated or --var is a usage error (exit 2), not a silent simulation', async () => {
    const dir = tmpDir('config-flags');
    const file = write(dir, good);
    const bench = (args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.resolve('dist/host-bridge/cli/posj-bench.js'), ...args]);
        let stderr = '';
        child.stderr.on('data', (c) => (stderr += c));
        child.on('close', (status) => resolve({ status, stderr }));
      });
    for (const flag of [['--simulated'], ['--var', dir]]) {
      const r = await bench(['run', '--config', file, ...flag]);
      expect(r.status, flag[0]).toBe(2);
      expect(r.stderr).toContain(`option '${flag[0]}`);
      expect(r.stderr).toContain('cannot be used with option');
    }
    expect(fs.existsSync(path.join(dir, 'j'))).toBe(false);
  });

  it('--simulated with a --var too long for its socket: exit 2 naming the path before anything opens (it hung, ignoring SIGTERM)', async () => {
    const dir = path.join(tmpDir('long-var'), 'v'.repeat(110));
    const r = await posj(['run', '--simulated', '--var', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`config key "socketPath": ${dir}/posj.sock is ${Buffer.byteLength(dir) + 10} bytes; a Unix socket path is at most 107`);
    expect(fs.existsSync(path.join(dir, 'terminal'))).toBe(false);
  }, 30_000);
});
