// Evidence from a damaged journal, in the two shapes without a header: every NDJSON line and every CSV row
// carries the journal's check, so a transaction read alone (grep, a spreadsheet filter) still says CORRUPT.
// (Only the HTML said so before: a tester's ndjson and csv from a corrupt journal read as clean.)
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/tmp.js';

const POSJ = path.resolve('dist/firmware-ts/cli/posj.js');
const run = (...args: string[]) => spawnSync(process.execPath, [POSJ, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('posj journal export of a corrupt journal', () => {
  it('ndjson and csv: exit 3, and each transaction names the damage; a clean journal says ok on each', () => {
    const dir = path.join(tmpDir('export-corrupt'), 'j');
    expect(run('journal', 'fill', dir, '--records', '400', '--segment-bytes', '65536').status).toBe(0);
    const range = ['--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z'];
    const clean = run('journal', 'export', dir, ...range);
    expect(clean.status).toBe(0);
    const cleanLines = clean.stdout.trim().split('\n').map((l) => JSON.parse(l) as { journalCheck: string });
    expect(cleanLines.length).toBeGreaterThan(10);
    for (const l of cleanLines) expect(l.journalCheck).toMatch(/checksums ok, MAC chain verified/);

    const listed = JSON.parse(run('journal', 'ls', dir, '--limit', '1000', '--json').stdout).records as Array<{ seq: number; segment: string; offset: number }>;
    const victim = listed[Math.floor(listed.length / 2)]!;
    const fd = fs.openSync(path.join(dir, victim.segment), 'r+');
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, victim.offset + 50);
    fs.closeSync(fd);

    const nd = run('journal', 'export', dir, ...range);
    expect(nd.status).toBe(3);
    expect(nd.stderr).toContain('every exported transaction says so (journalCheck)');
    const lines = nd.stdout.trim().split('\n').map((l) => JSON.parse(l) as { journalCheck: string });
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.journalCheck).toMatch(new RegExp(`^CORRUPT at ${victim.segment} offset ${victim.offset}: record checksum mismatch`));

    const csv = run('journal', 'export', dir, ...range, '--format', 'csv');
    expect(csv.status).toBe(3);
    const rows = csv.stdout.trim().split('\r\n');
    expect(rows[0]!.endsWith(',journalCheck')).toBe(true);
    for (const row of rows.slice(1)) expect(row).toContain(`CORRUPT at ${victim.segment} offset ${victim.offset}`);
  }, 60_000);
});
