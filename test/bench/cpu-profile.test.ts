// The journal CPU breakdown reads a V8 CPU profile: only samples under the journal subject's sale() count,
// each in the category of its nearest named frame, rotation taking precedence.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { journalCpuBreakdown, measuredBreakdown } from '../../firmware-ts/bench/cpu-profile.js';
import { JOURNAL_WITHOUT_IO, journalSubject } from '../../firmware-ts/bench/journal-subject.js';
import { tmpDir } from '../helpers/tmp.js';

const DIST = 'file:///x/dist';
let nextId = 1;
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number; scriptId: string };
  hitCount: number;
  children: number[];
}
function node(functionName: string, url: string, hitCount: number, children: Node[] = [], all: Node[] = []): Node {
  const n: Node = { id: nextId++, callFrame: { functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '0' }, hitCount, children: children.map((c) => c.id) };
  all.push(n);
  return n;
}

describe('journal CPU breakdown', () => {
  it('counts only what runs under sale() and names each sample by its nearest rule', () => {
    const all: Node[] = [];
    const mac = node('recordMac', `${DIST}/firmware-ts/journal/chain.js`, 0, [node('digest', 'node:internal/crypto/hash', 4, [], all)], all);
    const pci = node('findSensitive', `${DIST}/firmware-ts/pci/card-data.js`, 2, [], all);
    const ckpt = node('rotate', `${DIST}/firmware-ts/journal/journal.js`, 0, [node('stringify', '', 3, [], all)], all);
    const encode = node('encodePayload', `${DIST}/firmware-ts/journal/journal.js`, 1, [], all);
    const misc = node('append', `${DIST}/firmware-ts/journal/journal.js`, 2, [], all);
    const sale = node('sale', `${DIST}/firmware-ts/bench/journal-subject.js`, 0, [mac, pci, ckpt, encode, misc], all);
    const elsewhere = node('open', `${DIST}/firmware-ts/bench/journal-subject.js`, 50, [], all);
    const root = node('(root)', '', 0, [sale, elsewhere], all);
    const samples = Array.from({ length: 62 }, () => root.id);
    const profile = { nodes: all, startTime: 0, endTime: 62 * 100, samples, timeDeltas: samples.map(() => 100) };
    const b = journalCpuBreakdown(JSON.stringify(profile), 1);
    expect(b.samples).toBe(12);
    expect(b.percent).toEqual({ 'mac chain': 33.33, 'segment rotation': 25, 'pci scan': 16.67, other: 16.67, 'encode (buffers)': 8.33 });
    expect(b.us_per_sale['mac chain']).toBe(400);
  });

  it("counts the journal's copy of a payload for the fold as fold", () => {
    const all: Node[] = [];
    const copy = node('copyContainer', `${DIST}/firmware-ts/journal/json-copy.js`, 3, [], all);
    const encode = node('encodePayload', `${DIST}/firmware-ts/journal/journal.js`, 1, [copy], all);
    const sale = node('sale', `${DIST}/firmware-ts/bench/journal-subject.js`, 0, [encode], all);
    const root = node('(root)', '', 0, [sale], all);
    const samples = Array.from({ length: 4 }, () => root.id);
    const b = journalCpuBreakdown(JSON.stringify({ nodes: all, startTime: 0, endTime: 400, samples, timeDeltas: samples.map(() => 100) }), 1);
    expect(b.percent).toEqual({ fold: 75, 'encode (buffers)': 25 });
  });
});

describe('the measured breakdown', () => {
  it('puts the file I/O at the difference of the two measured figures and the profile shares on the rest', () => {
    const b = { samples: 100, us_per_sample: 250, us_per_sale: { 'mac chain': 99, other: 99 }, percent: { 'mac chain': 25, other: 75 } };
    const m = measuredBreakdown(b, 20, 16);
    expect(m.cpu_us_per_sale).toBe(20);
    expect(m.us_per_sale).toEqual({ 'file I/O (by difference)': 4, 'mac chain': 4, other: 12 });
    expect(m.percent_of_javascript).toEqual(b.percent);
    const parts = Object.values(m.us_per_sale).reduce((a, x) => a + x, 0);
    expect(parts).toBeCloseTo(20, 6);
  });
});

describe('the journal subject without file I/O', () => {
  it('sells through the real journal and leaves its segment files without a byte written', async () => {
    const dir = tmpDir('no-io');
    const s = journalSubject({ fileIo: false });
    expect(s.name).toBe(JOURNAL_WITHOUT_IO);
    await s.open(dir, { sales: 1200 });
    for (let i = 0; i < 1200; i++) await s.sale(i);
    await s.close();
    const jdir = path.join(dir, 'journal');
    const segments = fs.readdirSync(jdir).filter((n) => n.endsWith('.wal'));
    // 1,200 sales pass a 1 MiB segment: the rotation ran too, and wrote nothing either.
    expect(segments.length).toBeGreaterThan(1);
    for (const n of segments) expect(fs.statSync(path.join(jdir, n)).size).toBe(0);
    const real = journalSubject();
    expect(real.name).toBe('journal');
  });
});
