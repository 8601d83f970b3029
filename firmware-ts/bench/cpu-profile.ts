// Where the journal's CPU goes per sale, from a V8 CPU profile (`node --cpu-prof`) of the journal subject
// alone, without its file I/O (no-io-storage.ts; the I/O is measured by difference): only samples under the subject's timed sale() count, each put in the category of the nearest
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

/**
 * The profile's shares of the JavaScript, in microseconds of the subject without file I/O as process.cpuUsage()
 * measured it (unprofiled, in the bench's own run), plus the file I/O as the difference from the journal's
 * figure in the same run. The sampler's own microseconds are left out: they count its overhead and stretch
 * under load.
 */
export function measuredBreakdown(b: CpuBreakdown, journalCpuUsPerSale: number, withoutIoCpuUsPerSale: number): { cpu_us_per_sale: number; us_per_sale: Record<string, number>; percent_of_javascript: Record<string, number>; samples: number } {
  const r = (x: number) => Number(x.toFixed(2));
  const us: Record<string, number> = { 'file I/O (by difference)': r(journalCpuUsPerSale - withoutIoCpuUsPerSale) };
  for (const [k, pct] of Object.entries(b.percent)) us[k] = r((pct * withoutIoCpuUsPerSale) / 100);
  return { cpu_us_per_sale: journalCpuUsPerSale, us_per_sale: us, percent_of_javascript: b.percent, samples: b.samples };
}

const PROFILE_SALES = 20_000;

/** Runs `posj bench journal` for one journal subject alone under --cpu-prof and breaks its sale() CPU down. */
export async function profileJournal(opts: { posj: string; dir: string; sales: number; subject: string }): Promise<CpuBreakdown> {
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posj-prof-'));
  try {
    // Enough sales for a few thousand samples: the shares are what counts, not the sampler's microseconds.
    const sales = Math.max(opts.sales, PROFILE_SALES);
    const args = ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100', opts.posj, 'bench', 'journal', '--json', '--only', opts.subject, '--sales', String(sales), '--rounds', '1', '--no-boot', '--dir', opts.dir];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`the profiled bench exited ${code}`);
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the profiled bench wrote no .cpuprofile');
    // The runner's warm-up sales (up to 200) run under sale() too.
    return journalCpuBreakdown(fs.readFileSync(path.join(profDir, file), 'utf8'), sales + Math.min(200, sales));
  } finally {
    fs.rmSync(profDir, { recursive: true, force: true });
  }
}
