// `posj bench daemon`: the daemon's own cost per sale (issue 13, items 0 and 5). A real `posj run --config`
// process with simulated reader and printer, an acquirer on loopback TCP that answers at once (its handler
// time is measured and taken out), sales and lookups over one persistent control connection.
//   - terminal-added time per sale = control round trip − the acquirer's service time (its bytes in to its
//     reply written, instant-acquirer.ts) − the two fdatasyncs, the syncs taken as twice the median pwrite +
//     fdatasync of one sector on the same filesystem, probed between the timed sales of the same run (a
//     shared disk's sync cost drifts over minutes); also on tmpfs, where a sync costs nothing;
//   - sale, status, reprint, void and a repeated request id with 1k and with 1M records of history: the
//     ratio of medians must stay ≤ 1.2 (lookups flat in history);
//   - RSS of the daemon after N sales against its RSS after the first 10,000 (flat), and the daemon's own
//     CPU per sale (/proc/PID/stat), which a machine shared with other work does not inflate.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../protocol/io/clock.js';
import { filesystemOf } from '../../firmware-ts/bench/disk-stats.js';
import { fillHistory } from '../../firmware-ts/bench/journal-subject.js';
import { median } from '../../firmware-ts/bench/runner.js';
import { SIMULATOR_TMK } from '../terminal/simulated-parts.js';
import { ControlSession } from './control-session.js';
import { startInstantAcquirer, type InstantAcquirer } from './instant-acquirer.js';

/** The bench build of posj beside this module once compiled. */
const POSJ = fileURLToPath(new URL('../cli/posj-bench.js', import.meta.url));
const PASSWORD = 'Bench-739164';
/** Sync probes between the timed sales: SYNC_PROBES of them before every SYNC_PROBE_EVERY-th sale. */
const SYNC_PROBE_EVERY = 250;
const SYNC_PROBES = 8;

export interface DaemonBenchOptions {
  dir: string;
  /** Timed sales per history size (after a warm-up). */
  sales: number;
  /** Sales of the RSS run. */
  rssSales: number;
  histories: number[];
  /** Also run the timed sales with the journal on this tmpfs directory (null: skip). */
  tmpfsDir: string | null;
  progress: (m: string) => void;
  /** The posj (bench build) to run; the compiled one beside this module by default. */
  posj?: string;
  /** Run each `posj run` under `node --cpu-prof`, its profile written into this directory when it stops. */
  cpuProfDir?: string;
}

export interface DaemonBenchLine {
  bench: 'daemon';
  [field: string]: unknown;
}

const round = (x: number, d = 3) => Number(x.toFixed(d));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** µs of pwrite + fdatasync of one sector at successive sectors of a preallocated file (the floor's sync), each probe. */
export function syncProbesUs(dir: string, n: number): number[] {
  const file = path.join(dir, 'sync-probe.bin');
  const fd = fs.openSync(file, 'w+');
  try {
    fs.writeSync(fd, Buffer.alloc(n * 512));
    fs.fdatasyncSync(fd);
    const sector = Buffer.alloc(512, 0x5a);
    const us: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      fs.writeSync(fd, sector, 0, 512, i * 512);
      fs.fdatasyncSync(fd);
      us.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    return us;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

interface RunningTerminal {
  child: ChildProcess;
  session: ControlSession;
  acquirer: InstantAcquirer;
  stderr: () => string;
}

/** Median µs of the floor's sync (syncProbesUs). */
export function syncCostUs(dir: string, n = 2000): number {
  return median(syncProbesUs(dir, n));
}

async function startTerminal(posj: string, dir: string, journalDir: string, budgetBytes: number, cpuProfDir?: string): Promise<RunningTerminal> {
  const acquirer = await startInstantAcquirer(SIMULATOR_TMK, systemClock);
  const socketPath = path.join(dir, 'posj.sock');
  const config = {
    journalDir,
    deviceKeyFile: `${journalDir}.key`,
    terminalId: '12345678',
    merchantId: '898310048990001',
    merchantName: 'POSJ BENCH',
    acquirer: { host: '127.0.0.1', port: acquirer.port, tls: false, tmk: SIMULATOR_TMK },
    reader: 'simulated',
    printer: 'simulated',
    socketPath,
    journalSpace: { budgetBytes, reserveBytes: 0 },
    batch: { limit: 999, autoSettle: true },
    log: { file: path.join(dir, 'log', 'posj') },
  };
  const cfg = path.join(dir, 'posj.json');
  fs.writeFileSync(cfg, JSON.stringify(config));
  const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const child = spawn(process.execPath, [...profile, posj, 'run', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`posj run exited ${child.exitCode}: ${err}`);
    try {
      const session = await ControlSession.connect(socketPath);
      await session.call({ op: 'ping' });
      return { child, session, acquirer, stderr: () => err };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`posj run did not answer on ${socketPath}: ${err}`);
}

async function stopTerminal(t: RunningTerminal): Promise<void> {
  t.session.close();
  const exited = new Promise((r) => t.child.once('exit', r));
  t.child.kill('SIGTERM');
  await exited;
  await t.acquirer.close();
}

/** User + system CPU of a process so far, µs (from /proc: clock ticks of 10 ms, so meaningful over thousands of sales). */
function cpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** One approved sale: control round trip and the acquirer's service time, in µs. */
async function timedSale(t: RunningTerminal, amount: number, requestId: string): Promise<{ rttUs: number; acquirerUs: number; stan: number }> {
  const a0 = t.acquirer.serviceNs();
  const t0 = process.hrtime.bigint();
  const r = await t.session.call({ op: 'sale', amount, requestId });
  const rttUs = Number(process.hrtime.bigint() - t0) / 1000;
  if (r.kind !== 'approved') throw new Error(`bench sale not approved: ${JSON.stringify(r)}\n${t.acquirer.failures.join('\n')}\n${t.stderr()}`);
  return { rttUs, acquirerUs: (t.acquirer.serviceNs() - a0) / 1000, stan: r.stan };
}

/**
 * A filled history may end with reversals owed (synthetic-sales.ts leaves some open until its batch ends);
 * their images are synthetic, so no acquirer can answer them: a supervisor closes them before the clock starts.
 */
async function closeSyntheticReversals(t: RunningTerminal): Promise<void> {
  const owed = (await t.session.call({ op: 'reversals' })) as { stan: number }[];
  for (const r of owed) await t.session.call({ op: 'close-reversal', stan: r.stan, password: PASSWORD, reason: 'bench: synthetic history' });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1000;
}

interface OpFigures {
  sale: number[];
  /** Round trip minus the acquirer's service time. */
  saleTerminal: number[];
  status: number[];
  reprint: number[];
  void: number[];
  replay: number[];
}

/** Warm-up, then `sales` timed sales and the lookups on the sales just made (all in the open batch). */
async function measureOps(t: RunningTerminal, sales: number, tag: string): Promise<OpFigures> {
  const f: OpFigures = { sale: [], saleTerminal: [], status: [], reprint: [], void: [], replay: [] };
  for (let i = 0; i < 200; i++) await timedSale(t, 100 + i, `${tag}-w${i}`);
  const stans: number[] = [];
  for (let i = 0; i < sales; i++) {
    const s = await timedSale(t, 1_000 + i, `${tag}-${i}`);
    f.sale.push(s.rttUs);
    f.saleTerminal.push(s.rttUs - s.acquirerUs);
    stans.push(s.stan);
    // Lookups on the batch just made: every 10th sale, so the open batch stays under its limit.
    if (i % 10 === 9) {
      const stan = stans[stans.length - 5]!;
      f.status.push(await timed(() => t.session.call({ op: 'status', stan })));
      f.reprint.push(await timed(() => t.session.call({ op: 'reprint', stan })));
      f.replay.push(await timed(() => t.session.call({ op: 'sale', amount: 1_000 + i - 4, requestId: `${tag}-${i - 4}` })));
    }
    if (i % 50 === 49 || i === sales - 1) f.void.push(await timed(() => t.session.call({ op: 'void', stan: stans[Math.max(0, stans.length - 20)]!, password: PASSWORD })));
  }
  return f;
}

const summary = (xs: number[]) => ({ p50_us: round(pct(xs, 50), 1), p99_us: round(pct(xs, 99), 1), n: xs.length });

export async function runDaemonBench(opts: DaemonBenchOptions): Promise<DaemonBenchLine[]> {
  const lines: DaemonBenchLine[] = [];
  const posj = opts.posj ?? POSJ;
  fs.mkdirSync(opts.dir, { recursive: true });
  const root = fs.mkdtempSync(path.join(opts.dir, 'daemon-'));
  try {
    const syncUs = syncCostUs(root);
    lines.push({ bench: 'daemon', figure: 'fdatasync', us_median: round(syncUs, 1), detail: 'pwrite + fdatasync of one sector, same filesystem, at the start of the run' });
    opts.progress(`fdatasync ${syncUs.toFixed(1)} us`);

    // Sale and lookups with little and with much history.
    const byHistory = new Map<number, OpFigures>();
    for (const h of opts.histories) {
      const dir = path.join(root, `history-${h}`);
      const journalDir = path.join(dir, 'journal');
      fs.mkdirSync(dir, { recursive: true });
      opts.progress(`filling ${h} records of history`);
      await fillHistory(journalDir, `${journalDir}.key`, h);
      const t = await startTerminal(posj, dir, journalDir, 2 ** 40, opts.cpuProfDir);
      try {
        await t.session.call({ op: 'supervisor-set', password: PASSWORD });
        await closeSyntheticReversals(t);
        const f = await measureOps(t, opts.sales, `h${h}`);
        byHistory.set(h, f);
        lines.push({ bench: 'daemon', figure: 'ops', history_records: h, sale: summary(f.sale), status: summary(f.status), reprint: summary(f.reprint), void: summary(f.void), repeated_request_id: summary(f.replay) });
        opts.progress(`history ${h}: sale p50 ${pct(f.sale, 50).toFixed(0)} us, status ${pct(f.status, 50).toFixed(0)}, reprint ${pct(f.reprint, 50).toFixed(0)}, void ${pct(f.void, 50).toFixed(0)}`);
      } finally {
        await stopTerminal(t);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    const [low, high] = [Math.min(...opts.histories), Math.max(...opts.histories)];
    if (opts.histories.length > 1 && low !== high) {
      const a = byHistory.get(low)!;
      const b = byHistory.get(high)!;
      for (const op of ['sale', 'status', 'reprint', 'void', 'replay'] as const) {
        const ratio = median(b[op]) / median(a[op]);
        lines.push({ bench: 'daemon', ratio: `${op === 'replay' ? 'repeated_request_id' : op} ${high} / ${low} records of history (median)`, measured: round(ratio), target: '<= 1.2', met: ratio <= 1.2 });
      }
    }

    // The terminal's added time, on the disk and on tmpfs; RSS over a long run.
    const run = async (where: string, journalRoot: string, sales: number, sampleRss: boolean) => {
      const dir = path.join(root, `run-${where}`);
      const journalDir = path.join(journalRoot, `journal-${where}`);
      fs.mkdirSync(dir, { recursive: true });
      await fillHistory(journalDir, `${journalDir}.key`, 1_000);
      const t = await startTerminal(posj, dir, journalDir, 64 << 20, opts.cpuProfDir);
      await t.session.call({ op: 'supervisor-set', password: PASSWORD });
      await closeSyntheticReversals(t);
      const added: number[] = [];
      const rtt: number[] = [];
      const acquirer: number[] = [];
      const syncProbes: number[] = [];
      const rss: { sales: number; rss_mb: number }[] = [];
      let cpuPerSale = NaN;
      try {
        for (let i = 0; i < 200; i++) await timedSale(t, 100 + i, `${where}-w${i}`);
        const cpu0 = cpuUs(t.child.pid!);
        for (let i = 0; i < sales; i++) {
          const s = await timedSale(t, 1_000 + (i % 50_000), `${where}-${i}`);
          added.push(s.rttUs - s.acquirerUs);
          rtt.push(s.rttUs);
          acquirer.push(s.acquirerUs);
          // The floor's sync, probed between sales (the daemon idle) so it is this stretch's cost of a sync.
          if (i % SYNC_PROBE_EVERY === 0) syncProbes.push(...syncProbesUs(root, SYNC_PROBES));
          if (sampleRss && ((i + 1) % 10_000 === 0 || i + 1 === sales)) {
            rss.push({ sales: i + 1, rss_mb: round(rssKb(t.child.pid!) / 1024, 1) });
            opts.progress(`${where}: ${i + 1} sales, RSS ${rss.at(-1)!.rss_mb} MB`);
          }
        }
        cpuPerSale = (cpuUs(t.child.pid!) - cpu0) / sales;
      } finally {
        await stopTerminal(t);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(journalDir, { recursive: true, force: true });
        fs.rmSync(`${journalDir}.key`, { force: true });
      }
      return { added, rtt, acquirer, syncProbes, rss, cpuPerSale };
    };

    const disk = await run('disk', root, opts.rssSales, true);
    // Named from statfs: `--dir` on tmpfs makes this the CPU-only run, and its lines must say so.
    const where = filesystemOf(root);
    const syncs = 2 * median(disk.syncProbes);
    const addedDisk = disk.added.map((x) => x - syncs);
    const p50 = pct(addedDisk, 50) / 1000;
    const p99 = pct(addedDisk, 99) / 1000;
    lines.push({
      bench: 'daemon',
      figure: `terminal-added per sale (${where})`,
      fs: where,
      sales: disk.added.length,
      p50_ms: round(p50),
      p99_ms: round(p99),
      daemon_cpu_us_per_sale: round(disk.cpuPerSale, 1),
      round_trip_p50_ms: round(pct(disk.rtt, 50) / 1000),
      acquirer_service_p50_ms: round(pct(disk.acquirer, 50) / 1000),
      two_syncs_ms: round(syncs / 1000),
      sync_probes: disk.syncProbes.length,
      // Only the median sync is taken out: a slow sync inside a sale lands in the terminal-added tail, so
      // the probes' own tail is shown beside it.
      sync_probe_p99_ms: round(pct(disk.syncProbes, 99) / 1000),
      detail: 'control round trip − acquirer service time (bytes in to reply written) − 2 × median fdatasync probed between the sales',
    });
    lines.push({ bench: 'daemon', ratio: `terminal-added p50 (${where})`, measured: round(p50), target: '<= 1 ms', met: p50 <= 1 });
    lines.push({ bench: 'daemon', ratio: `terminal-added p99 (${where})`, measured: round(p99), target: '<= 3 ms', met: p99 <= 3 });
    const first = disk.rss.find((r) => r.sales >= 10_000) ?? disk.rss[0]!;
    const last = disk.rss.at(-1)!;
    lines.push({ bench: 'daemon', figure: 'rss', samples: disk.rss });
    lines.push({ bench: 'daemon', ratio: `rss after ${last.sales} / after ${first.sales} sales`, measured: round(last.rss_mb / first.rss_mb), rss_mb: last.rss_mb, target: '<= 1.1 (flat)', met: last.rss_mb / first.rss_mb <= 1.1 });

    if (opts.tmpfsDir) {
      fs.mkdirSync(opts.tmpfsDir, { recursive: true });
      const shm = await run('tmpfs', opts.tmpfsDir, opts.sales, false);
      lines.push({ bench: 'daemon', figure: 'terminal-added per sale (tmpfs journal: syncs free, CPU and IPC only)', sales: shm.added.length, daemon_cpu_us_per_sale: round(shm.cpuPerSale, 1), p50_ms: round(pct(shm.added, 50) / 1000), p99_ms: round(pct(shm.added, 99) / 1000), round_trip_p50_ms: round(pct(shm.rtt, 50) / 1000), acquirer_service_p50_ms: round(pct(shm.acquirer, 50) / 1000) });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return lines;
}
