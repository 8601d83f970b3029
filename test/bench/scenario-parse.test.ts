// Scenario files are checked whole before a bench starts: each mistake is a BenchFileError naming file:line
// and the key path, with a "did you mean" for a typo; the shipped scenarios all parse.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario, parseScenario } from '../../host-bridge/bench/scenario.js';
import { BenchFileError, parseYamlText } from '../../host-bridge/bench/yaml-reader.js';

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

  it.each([
    ['steps:\n  - sael: 12.50\n', 2, 'steps[0].sael', /unknown key \(did you mean "sale"\?\)/],
    ['steps:\n  - sale: 12.505\n', 2, 'steps[0].sale', /at most two decimals|not a whole number of fen/],
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
    ['steps:\n  - flash: dist/bundle\n', 2, 'steps[0].flash', /not yet a bench run step/],
  ])('refuses %j at line %i, key %s', (text, line, key, reason) => {
    const e = failure(text);
    expect(e.code).toBe('BENCH_FILE_INVALID');
    expect({ file: e.file, line: e.line, key: e.key }).toEqual({ file: 'x.yaml', line, key });
    expect(e.reason).toMatch(reason);
    expect(e.message).toBe(`x.yaml:${line}: ${key}: ${e.reason}`);
  });
});
