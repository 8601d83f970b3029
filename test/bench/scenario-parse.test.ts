// Scenario files are checked whole before a bench starts: each mistake is a BenchFileError naming file:line
// and the key path, with a "did you mean" for a typo; the shipped scenarios all parse.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario, parseScenario } from '../../host-bridge/bench/scenario.js';
import { BenchFileError, parseYamlText } from '../../host-bridge/bench/yaml-reader.js';
import { tmpDir } from '../helpers/tmp.js';

const parse = (text: string) => parseScenario(parseYamlText(text, 'x.yaml'));

function failure(text: string): BenchFileError {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof BenchFileError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

describe('bench scenario files', () => {
  it('the shipped scenarios parse', () => {
    const dir = path.resolve('host-bridge/bench/scenarios');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) expect(loadScenario(path.join(dir, f)).steps.length, f).toBeGreaterThan(0);
  });

  it('reads steps: amounts in yuan to fen, labels, expectations, checks', () => {
    const s = parse(['name: demo', 'steps:', '  - sale: 12.50', '    as: first', '    expect: {kind: approved}', '  - void: {of: first, password: "739164"}', '  - check:', '      invariants: all', '      journal: clean', '      status: {devices.printer.state: ready}'].join('\n'));
    expect(s.steps[0]).toMatchObject({ do: 'sale', amount: 1250, as: 'first', line: 3, expect: [{ path: 'kind', value: 'approved', line: 5 }] });
    expect(s.steps[1]).toMatchObject({ do: 'void', of: 'first', password: '739164', line: 6 });
    expect(s.steps[2]).toMatchObject({ do: 'check', checks: { journalClean: true, status: [{ path: 'devices.printer.state', value: 'ready' }] } });
  });

  it('reads flash steps: this build, its re-signed variants, a power cut, a refusal, the report judged', () => {
    const s = parse(['steps:', '  - flash: build', '    expect: {resumed: true}', '  - flash: {bundle: build, power-cut: mid-upload}', '  - flash: {bundle: build, signed-by: untrusted-key, refused: bad-signature}', '  - flash: {bundle: build, version: 0.0.9, allow-downgrade: true}'].join('\n'));
    expect(s.steps[0]).toMatchObject({ do: 'flash', bundle: { source: 'build' }, allowDowngrade: false, line: 2, expect: [{ path: 'resumed', value: true }] });
    expect(s.steps[1]).toMatchObject({ do: 'flash', bundle: { source: 'build' }, cut: 'mid-upload' });
    expect(s.steps[2]).toMatchObject({ do: 'flash', bundle: { source: 'build', signedBy: 'untrusted-key' }, refused: 'bad-signature' });
    expect(s.steps[3]).toMatchObject({ do: 'flash', bundle: { source: 'build', version: '0.0.9' }, allowDowngrade: true });
  });

  it('a flash of a bundle directory names it from the scenario file, and only "build" can be re-signed', () => {
    const dir = tmpDir('flash-bundle-dir');
    fs.mkdirSync(path.join(dir, 'bundle'));
    for (const f of ['firmware.img', 'manifest.json']) fs.writeFileSync(path.join(dir, 'bundle', f), '');
    const file = path.join(dir, 'x.yaml');
    expect(parseScenario(parseYamlText('steps:\n  - flash: bundle\n', file)).steps[0]).toMatchObject({ do: 'flash', bundle: { source: { dir: path.join(dir, 'bundle') } } });
    expect(() => parseScenario(parseYamlText('steps:\n  - flash: {bundle: bundle, version: 0.2.0}\n', file))).toThrow(`${file}:2: steps[0].flash.version: only "bundle: build" can be re-signed by the bench`);
  });

  it.each([
    ['steps:\n  - sael: 12.50\n', 2, 'steps[0].sael', /unknown key \(did you mean "sale"\?\)/],
    ['steps:\n  - sale: 12.505\n', 2, 'steps[0].sale', /at most two decimals|not a whole number of fen/],
    ['steps:\n  - sale: 1e2\n', 2, 'steps[0].sale', /"1e2" is not an amount in yuan: digits with at most two decimals/],
    ['steps:\n  - sale: 0x64\n', 2, 'steps[0].sale', /"0x64" is not an amount in yuan/],
    ['steps:\n  - sale: 12.500\n', 2, 'steps[0].sale', /at most two decimals/],
    ['steps:\n  - card: no-such-card\n', 2, 'steps[0].card', /unknown card "no-such-card"; the reader simulator's cards: unionpay-chip, visa-contactless, /],
    ['steps:\n  - card: visa-magstrip\n', 2, 'steps[0].card', /unknown card "visa-magstrip" \(did you mean "visa-magstripe"\?\)/],
    ['steps:\n  - sale: 1\n    power-cut: after-debit\n', 2, 'steps[0]', /one action per step, found sale and power-cut/],
    ['steps:\n  - sale: {amount: 1, power-cut: later}\n', 2, 'steps[0].sale.power-cut', /after-intent .* or after-debit/],
    ['steps:\n  - void: {of: nobody, password: "1"}\n', 2, 'steps[0].void', /"nobody" is not the label of an earlier step/],
    ['steps:\n  - sale: 1\n    reader: unplug\n', 2, 'steps[0]', /one action per step, found sale and reader/],
    ['steps:\n  - reader: {control: "on READ explode"}\n', 2, 'steps[0].reader.control', /unknown word explode/],
    ['steps:\n  - printer: paper-gone\n', 2, 'steps[0].printer', /unknown printer action "paper-gone"/],
    ['steps:\n  - acquirer: {rules: [{when: {amount: 1}, then: {action: explode}}]}\n', 2, 'steps[0].acquirer', /action must be one of/],
    ['steps:\n  - network: sideways\n', 2, 'steps[0].network', /up, down, drop, reset/],
    ['steps:\n  - check: {invariants: [no-phantom-debits]}\n', 2, 'steps[0].check.invariants[0]', /unknown invariant/],
    ['steps:\n  - power-cut:\n    expect: {kind: approved}\n', 3, 'steps[0].expect', /power-cut has none/],
    ['steps:\n  - sale: 1\n  - sale: 2\n    as: x\n  - sale: 3\n    as: x\n', 6, 'steps[2].as', /used twice/],
    ['name: demo\nsteps: [\n', 3, '(yaml)', /./],
    ['steps:\n  - flash: no/such/bundle\n', 2, 'steps[0].flash', /"build" .* or a bundle directory holding firmware\.img and manifest\.json; .*no\/such\/bundle\/firmware\.img does not exist/],
    ['steps:\n  - flash: {bundle: build, sign-by: untrusted-key}\n', 2, 'steps[0].flash.sign-by', /unknown key \(did you mean "signed-by"\?\)/],
    ['steps:\n  - flash: {bundle: build, signed-by: someone}\n', 2, 'steps[0].flash.signed-by', /untrusted-key/],
    ['steps:\n  - flash: {bundle: build, version: "1.0"}\n', 2, 'steps[0].flash.version', /MAJOR\.MINOR\.PATCH/],
    ['steps:\n  - flash: {bundle: build, refused: sideways}\n', 2, 'steps[0].flash.refused', /one of bad-signature, wrong-product, downgrade/],
    ['steps:\n  - flash: {bundle: build, power-cut: mid-upload, refused: downgrade}\n', 2, 'steps[0].flash.power-cut', /either refused or cut/],
    ['steps:\n  - flash: {bundle: build, power-cut: mid-install}\n', 2, 'steps[0].flash.power-cut', /mid-upload/],
    ['steps:\n  - flash: {bundle: build, power-cut: mid-upload}\n    expect: {resumed: true}\n', 3, 'steps[0].expect', /cut by the power relay has no report to judge/],
    ['steps:\n  - flash: {signed-by: untrusted-key}\n', 2, 'steps[0].flash.bundle', /missing key "bundle"/],
    ['steps:\n  - flash: build\n    as: fw\n', 3, 'steps[0].as', /only a sale, void or refund/],
  ])('refuses %j at line %i, key %s', (text, line, key, reason) => {
    const e = failure(text);
    expect(e.code).toBe('BENCH_FILE_INVALID');
    expect({ file: e.file, line: e.line, key: e.key }).toEqual({ file: 'x.yaml', line, key });
    expect(e.reason).toMatch(reason);
    expect(e.message).toBe(`x.yaml:${line}: ${key}: ${e.reason}`);
  });
});
