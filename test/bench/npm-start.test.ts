// `npm start`: the narrated day on a simulated bench of separate processes, run twice in the same ./var — once
// with the reader and printer on socat ptys, once as on a machine without socat (the same drivers over
// in-process byte links, said in the first line). Both days pass, the journal carries on (STAN and batch move
// forward, the supervisor password is kept), the verdict is printed, and the receipts listed are SVG files
// under var/receipts.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireDist } from '../helpers/kill-rig.js';
import { tmpDir } from '../helpers/tmp.js';

/** The command `npm start` runs after its build, with ./var moved to `varDir`. */
function startCommand(varDir: string): string[] {
  const script = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^npm run build --silent && node (.+)$/.exec(script);
  expect(m, `package.json start: ${script}`).not.toBeNull();
  return m![1]!.split(' ').map((a) => a.replace(/^\.\/var/, varDir));
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const settled = (out: string) => {
  const m = /SETTLED batch (\d+) → next batch (\d+): BALANCED/.exec(out);
  expect(m, out.slice(-3000)).not.toBeNull();
  return Number(m![1]);
};
const firstStan = (out: string) => Number(/APPROVED sale stan=(\d+)/.exec(out)![1]);

describe('npm start', () => {
  it('tells the day twice in the same var (ptys, then in-process links): both verdicts pass and the journal carries on', async () => {
    requireDist();
    const varDir = path.join(tmpDir('npm-start'), 'var');
    const args = startCommand(varDir);

    const first = await run(args, {});
    expect(first.status, first.stdout.slice(-4000) + first.stderr).toBe(0);
    expect(first.stdout.split('\n')[0]).toMatch(/^simulated bench, reader and printer on socat pty pairs, every part its own process/);
    const second = await run(args, { SOCAT: '/nonexistent/socat' });
    expect(second.status, second.stdout.slice(-4000) + second.stderr).toBe(0);
    expect(second.stdout.split('\n')[0]).toMatch(/^simulated bench, reader and printer over in-process byte links \(socat not found at \/nonexistent\/socat\)/);

    for (const out of [first.stdout, second.stdout]) {
      for (const story of ['the terminal reverses it (冲正)', 'before serving anyone, the terminal reverses what was in flight', 'reversed with reason 06', '撤销', 'the pending receipt prints by itself', '重打印', 'settlement (结算)']) expect(out).toContain(story);
      expect(out).toMatch(/VERDICT: the journal and the acquirer's ledger agree — 11 money invariant checks held, the journal verifies clean/);
      expect(out).toMatch(/✓ invariant journal-reopens: [2-9]\d* boots, each came up by itself/);
      const receipts = out.split('\n').flatMap((l) => /^ {2}(\S+receipt-\d{4}\.svg) {2}\S/.exec(l)?.slice(1) ?? []);
      expect(receipts.length, out.slice(-2500)).toBeGreaterThanOrEqual(10);
      expect(out).toMatch(/receipt-\d{4}\.svg {2}重打印 消费\(SALE\) 12\.50元 商户存根/);
      expect(out).toMatch(/receipt-\d{4}\.svg {2}结算单/);
      for (const r of receipts) {
        expect(path.resolve(r).startsWith(path.join(varDir, 'receipts'))).toBe(true);
        expect(fs.readFileSync(r, 'utf8')).toMatch(/^<svg /);
      }
    }
    expect(second.stdout).toContain('already set (the journal carries on)');
    expect(firstStan(second.stdout)).toBeGreaterThan(firstStan(first.stdout));
    expect(settled(second.stdout)).toBe(settled(first.stdout) + 1);
  }, 120_000);
});
