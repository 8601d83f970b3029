// The journal CPU breakdown reads a V8 CPU profile: only samples under the journal subject's sale() count,
// each in the category of its nearest named frame, rotation taking precedence.
import { describe, expect, it } from 'vitest';
import { journalCpuBreakdown } from '../../firmware-ts/bench/cpu-profile.js';

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
