// `posj-bridge bench run` end to end on the simulated bench (every part its own process: acquirer
// simulator, network gate, socat ptys, reader and printer simulators, `posj run --config`): the shipped
// scenarios pass in one daemon lifetime — since two of them flash, on firmware slots under `posj boot` with the
// service port on a pty pair, flashed over it (a reboot into the other slot, a power cut mid-upload and the
// resumed flash, a bad signature and a downgrade refused); a planted fault (a bench step deleting the acquirer's reversal from
// its ledger) fails the right testcase with the journal and ledger lines it judged; the JUnit file is read
// back with a real XML parser and checked for the elements and attributes Jenkins and GitLab need; no
// process of the run outlives it.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { posjBridge, requireDist } from '../helpers/kill-rig.js';
import { tmpDir } from '../helpers/tmp.js';

const SHIPPED = path.resolve('host-bridge/bench/scenarios');
const PLANTED = path.resolve('test/bench/scenarios');

const benchRun = (args: string[]) => posjBridge(['bench', 'run', ...args]);

interface Case {
  name: string;
  classname: string;
  time: string;
  failure?: { message: string; type: string; '#text': string };
  'system-out'?: string;
}

/** The JUnit structure CI servers read: testsuites > testsuite (counts) > testcase (name, classname, time) > failure (message). */
function readJunit(file: string): { suite: Record<string, string>; cases: Case[] } {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testcase' || name === 'testsuite' }).parse(fs.readFileSync(file, 'utf8')) as {
    testsuites: { testsuite: Array<Record<string, string> & { testcase: Case[] }> } & Record<string, string>;
  };
  expect(doc.testsuites).toBeDefined();
  expect(doc.testsuites.testsuite).toHaveLength(1);
  const suite = doc.testsuites.testsuite[0]!;
  for (const a of ['name', 'tests', 'failures', 'errors', 'time']) expect(suite[a], `testsuite@${a}`).toMatch(/\S/);
  for (const c of suite.testcase) {
    expect(c.name).toMatch(/\S/);
    expect(c.classname).toMatch(/^bench\./);
    expect(Number(c.time)).toBeGreaterThan(0);
    if (c.failure) expect(c.failure.message).toMatch(/\S/);
  }
  expect(Number(suite.tests)).toBe(suite.testcase.length);
  expect(Number(suite.failures)).toBe(suite.testcase.filter((c) => c.failure).length);
  return { suite, cases: suite.testcase };
}

function leftovers(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', dir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('posj-bridge bench run on the simulated bench', () => {
  it('the shipped scenarios pass, one JUnit testcase each, and nothing of the bench is left running', async () => {
    requireDist();
    const dir = tmpDir('bench-shipped');
    const junit = path.join(dir, 'junit.xml');
    const r = await benchRun([SHIPPED, '--junit', junit, '--dir', path.join(dir, 'bench')]);
    expect(r.status, r.stdout.slice(-6000) + r.stderr).toBe(0);
    const files = fs.readdirSync(SHIPPED).filter((f) => f.endsWith('.yaml'));
    const { cases } = readJunit(junit);
    expect(cases).toHaveLength(files.length);
    expect(cases.filter((c) => c.failure)).toEqual([]);
    expect(r.stdout).toMatch(new RegExp(`${files.length} scenarios: ${files.length} passed, 0 failed`));
    // The seeds' stories are among them, and each says what it judged.
    for (const story of ['lost-reply-reversed', 'void-with-supervisor-password', 'refund', 'settlement', 'unbalanced-settlement', 'paper-out-reprint']) expect(cases.map((c) => c.name)).toContain(story);
    expect(r.stdout).toMatch(/FAILED sale stan=\d+: no reply from the acquirer in time; reversed at the acquirer/);
    expect(r.stdout).toMatch(/✓ invariant no-failed-debit: [1-9]\d* answers told "failed", none live at the acquirer/);
    expect(r.stdout).toMatch(/UNBALANCED \(对账不平\), [1-9]\d* transactions uploaded/);
    // The debit the bench sent itself is left out of the money checks, and they say so.
    expect(r.stdout).toMatch(/✓ invariant no-phantom-debit: held over \d+ journal records and \d+ ledger lines \(1 debit\(s\) the bench itself sent left out: ledger seq \d+\)/);
    // The flashes went over the service port of a terminal on firmware slots, and each judged what it says.
    expect(r.stdout).toMatch(/terminal: posj boot --slots \S+ \(this checkout's build just installed in slot a, as from the factory\)/);
    expect(r.stdout).toMatch(/✓ the terminal refuses the flash \(bad-signature\): FLASH_BAD_SIGNATURE/);
    expect(r.stdout).toMatch(/✓ the terminal refuses the flash \(downgrade\): FLASH_DOWNGRADE/);
    expect(r.stdout).toMatch(/✓ reversals owed before the flash are still owed or were sent: owed before: \[\d+\]; still owed: \[\d+\]/);
    expect(r.stdout).toMatch(/✓ the journal is untouched by the flash: the \d+ records from before the flash unchanged/);
    expect(r.stdout).toMatch(/✓ power cut mid-upload: cut at \d+ of \d+ bytes/);
    expect(r.stdout).toMatch(/✓ after the cut flash, the terminal boots the firmware it ran before/);
    expect(r.stdout).toMatch(/resumed at \d+, [\d.]+ s; rebooted and serving again/);
    expect(r.stdout).toMatch(/✓ the terminal runs the new firmware from the new slot, confirmed: slot b running \(active b, confirmed b\)[\s\S]*✓ the terminal runs the new firmware from the new slot, confirmed: slot a running \(active a, confirmed a\)/);
    expect(leftovers(dir)).toEqual([]);
  }, 180_000);

  it('a planted ledger edit fails its own testcase, naming the invariant and STAN, with the journal and ledger lines', async () => {
    requireDist();
    const dir = tmpDir('bench-planted');
    const junit = path.join(dir, 'junit.xml');
    const r = await benchRun([path.join(PLANTED, 'plain-sale.yaml'), path.join(PLANTED, 'planted-ledger-edit.yaml'), '--junit', junit, '--dir', path.join(dir, 'bench')]);
    expect(r.status, r.stdout.slice(-4000) + r.stderr).toBe(1);
    const { cases } = readJunit(junit);
    expect(cases.map((c) => [c.name, Boolean(c.failure)])).toEqual([
      ['plain-sale', false],
      ['planted-ledger-edit', true],
    ]);
    const failure = cases[1]!.failure!;
    const stan = /FAILED sale stan=(\d+)/.exec(r.stdout)![1]!;
    expect(failure.message).toMatch(/^line 16: invariant no-phantom-debit: acquirer holds sale 000000007770 \(ledger seq \d+\) that the journal reversed \(cleared\)/);
    // The evidence: the journal's intent and its cleared reversal, and the ledger's authorization still live.
    expect(failure['#text']).toMatch(new RegExp(`journal seq \\d+ auth\\.intent \\{"stan":${Number(stan)},`));
    expect(failure['#text']).toMatch(new RegExp(`journal seq \\d+ reversal\\.cleared \\{"stan":${Number(stan)},`));
    expect(failure['#text']).toMatch(new RegExp(`ledger  seq \\d+ \\{.*"kind":"authorization".*"stan":"${stan}"`));
    expect(failure['#text']).toMatch(/no-failed-debit: the cashier was told .* failed; the acquirer holds sale 000000007770 live/);
    expect(r.stdout).toMatch(/1 passed, 1 failed \(planted-ledger-edit\)/);
    expect(leftovers(dir)).toEqual([]);
  }, 60_000);

  it('a flash that should have been refused, and one that should have resumed, fail their testcase saying what the terminal did', async () => {
    requireDist();
    const dir = tmpDir('bench-planted-flash');
    const junit = path.join(dir, 'junit.xml');
    const r = await benchRun([path.join(PLANTED, 'planted-flash-mistakes.yaml'), '--junit', junit, '--dir', path.join(dir, 'bench')]);
    expect(r.status, r.stdout.slice(-4000) + r.stderr).toBe(1);
    const { cases } = readJunit(junit);
    expect(cases.map((c) => c.name)).toEqual(['planted-flash-mistakes']);
    expect(cases[0]!.failure!.message).toMatch(/^line 6: the terminal refuses the flash \(bad-signature\): the flash went through into slot b \(want FLASH_BAD_SIGNATURE\)/);
    // The accepted flash rebooted the terminal into slot b: "still runs what it ran" fails with both hellos.
    expect(r.stdout).toMatch(/✗ the terminal still runs the firmware it ran: it ran slot a running .*; now slot b running/);
    expect(r.stdout).toMatch(/\| hello before: \{.*"runningSlot":"a"/);
    expect(r.stdout).toMatch(/✗ the flash report: resumed is false, expected true/);
    expect(r.stdout).toMatch(/✓ the terminal runs the new firmware from the new slot, confirmed: slot a running/);
    expect(leftovers(dir)).toEqual([]);
  }, 90_000);
});
