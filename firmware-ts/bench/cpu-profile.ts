// Where the journal's CPU goes per sale, from a V8 CPU profile (`node --cpu-prof`) of the journal subject
// alone: only samples under the subject's timed sale() count, each put in the category of the nearest
// frame (leaf first) that a rule names — PCI scan, MAC chain, CRC, JSON encoding, record framing, the
// fold (JSON.parse of the payload and the state's apply), segment rotation (checkpoint, seal, new segment),
// the write and sync system calls — and everything else of the journal or the promise machinery as "other".
// The fold includes the private copy of each payload it is given (json-copy.ts). V8's profile has no frame
// for JSON.stringify or JSON.parse (a builtin's time is its caller's): the stringify of a payload shows as
// "encode (buffers)" (encodePayload), a checkpoint's as rotation, a fallback parse in the journal's frame.
// Neither are its samples CPU time: under load a sample's interval stretches (us_per_sample), and GC and
// compiler threads are not sampled — process.cpuUsage() (the sale line's figure) counts both.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount: number;
  children?: number[];
}

export interface CpuBreakdown {
  /** Samples under the journal's sale(), and their share of every category, in percent. */
  samples: number;
  us_per_sample: number;
  /** Microseconds per sale by category (samples × interval / sales). */
  us_per_sale: Record<string, number>;
  percent: Record<string, number>;
}

type Rule = [category: string, test: (fn: string, url: string) => boolean];

// Leaf first: the first frame of a sample's stack that matches a rule decides its category; rotation
// is checked on the whole stack before, so a checkpoint's JSON counts as rotation, not as encoding.
const RULES: Rule[] = [
  ['pci scan', (_f, u) => u.includes('/pci/')],
  ['mac chain', (_f, u) => u.endsWith('/journal/chain.js')],
  ['crc', (f) => f === 'crc32'],
  ['write syscall', (f) => f === 'writeSync' || f === 'writeBuffer'],
  ['sync syscall', (f) => f === 'fdatasyncSync' || f === 'fsyncSync' || f === 'fdatasync'],
  ['json encode', (f) => f === 'stringify'],
  ['fold', (f, u) => f === 'parse' || u.endsWith('/journal/json-copy.js') || u.includes('/txn/terminal-state.js') || u.includes('/txn/terminal-fold.js') || u.includes('/txn/txn-snapshot.js') || (f === 'apply' && u.endsWith('/journal/recovery.js'))],
  ['record framing', (_f, u) => u.endsWith('/protocol/journal/format.js')],
  ['encode (buffers)', (f) => f === 'encodePayload'],
];
const ROTATION = new Set(['rotate', 'createSegment', 'checkpointJson', 'appendCheckpoint', 'sealRecord']);

export function journalCpuBreakdown(profileJson: string, sales: number): CpuBreakdown {
  const p = JSON.parse(profileJson) as { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const usPerSample = (p.endTime - p.startTime) / p.samples.length;
  const counts = new Map<string, number>();
  let samples = 0;
  for (const n of p.nodes) {
    if (n.hitCount === 0) continue;
    const stack: ProfileNode[] = [];
    let underSale = false;
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!;
      if (frame.callFrame.functionName === 'sale' && frame.callFrame.url.endsWith('/bench/journal-subject.js')) {
        underSale = true;
        break;
      }
      stack.push(frame);
    }
    if (!underSale) continue;
    samples += n.hitCount;
    let category = stack.some((f) => ROTATION.has(f.callFrame.functionName)) ? 'segment rotation' : 'other';
    if (category === 'other') {
      for (const f of stack) {
        const rule = RULES.find(([, test]) => test(f.callFrame.functionName, f.callFrame.url));
        if (rule) {
          category = rule[0];
          break;
        }
      }
    }
    counts.set(category, (counts.get(category) ?? 0) + n.hitCount);
  }
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const r = (x: number) => Number(x.toFixed(2));
  return {
    samples,
    us_per_sample: r(usPerSample),
    us_per_sale: Object.fromEntries(sorted.map(([k, v]) => [k, r((v * usPerSample) / sales)])),
    percent: Object.fromEntries(sorted.map(([k, v]) => [k, r((100 * v) / Math.max(1, samples))])),
  };
}

/** Runs `posj bench journal` for the journal subject alone under --cpu-prof and breaks its sale() CPU down. */
export async function profileJournal(opts: { posj: string; dir: string; sales: number }): Promise<CpuBreakdown> {
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posj-prof-'));
  try {
    const args = ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100', opts.posj, 'bench', 'journal', '--json', '--only', 'journal', '--sales', String(opts.sales), '--rounds', '1', '--no-boot', '--dir', opts.dir];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`the profiled bench exited ${code}`);
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the profiled bench wrote no .cpuprofile');
    // The runner's warm-up sales (up to 200) run under sale() too.
    return journalCpuBreakdown(fs.readFileSync(path.join(profDir, file), 'utf8'), opts.sales + Math.min(200, opts.sales));
  } finally {
    fs.rmSync(profDir, { recursive: true, force: true });
  }
}
