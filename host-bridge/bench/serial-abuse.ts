// `posj-bridge bench serial-abuse`: the terminal daemon (`posj run --config`, its own process) with its card
// reader and printer on socat pty pairs, and on the reader's device end, instead of a reader, a device that
// sends megabytes of garbage — once while never reading what the terminal writes back ("stops reading"),
// once while reading it. Measured from outside, as a field engineer would: the daemon's RSS (VmRSS from
// /proc), how long `status` takes over the control socket while the garbage flows, what a sale does
// meanwhile, how many bytes the daemon logs, the reader line's health at the end, and how long after a sane
// reader is attached (same pty, no replug) a sale is approved again. Prints one JSON object.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import type { ControlResponse } from '../../firmware-ts/daemon/control-protocol.js';
import { systemClock } from '../../protocol/io/clock.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { SecretKey } from '../../protocol/iso8583/index.js';
import { AcquirerHost, defaultRules, startAcquirerServer } from '../acquirer/index.js';
import { ReaderSimulator } from '../sim/reader-simulator.js';
import { PrinterSimulator } from '../sim/printer-simulator.js';
import { createPtyPair, type PtyPair } from './pty-pair.js';

export interface SerialAbuseOptions {
  /** Megabytes of garbage per run. */
  megabytes: number;
  /** The built terminal CLI to run as the daemon. */
  posj: string;
  /** Runs: the garbage device reads what the terminal sends, or never does. */
  modes: Array<'not-reading' | 'reading'>;
  /** Where the runs keep their journals, configs and logs (kept for inspection). */
  dir?: string;
}

export interface LatencySummary {
  calls: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface AbuseRun {
  mode: 'not-reading' | 'reading';
  garbageBytes: number;
  floodMs: number;
  rssBaselineMB: number;
  rssPeakMB: number;
  rssGrowthMB: number;
  rssAfterMB: number;
  status: LatencySummary;
  /** The daemon's stdout + stderr bytes during the flood. */
  logBytesDuringFlood: number;
  /** A sale started during the flood: how it ended and how long it took. */
  saleDuringFlood: { ms: number; outcome: string };
  /** The reader's health as `status` reported it at the end of the flood. */
  readerAtEndOfFlood: unknown;
  /** From attaching a sane reader on the same pty (no replug) to the first approved sale; null if none in 30 s. */
  recoverMs: number | null;
}

const TMK = '0123456789ABCDEFFEDCBA9876543210';
const MB = 1024 * 1024;

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number) => Math.round(n * 10) / 10;

function summarize(ms: number[], failed: number): LatencySummary {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN);
  return { calls: ms.length + failed, failed, p50Ms: at(0.5), p95Ms: at(0.95), maxMs: round(s.at(-1) ?? NaN) };
}

function describe(r: ControlResponse | Error): string {
  if (r instanceof Error) return `no answer: ${r.message}`;
  if (!r.ok) return `error ${r.error.code}: ${r.error.message}`;
  const result = r.result as { kind?: string; reason?: string; detail?: string };
  return [result.kind, result.reason, result.detail].filter(Boolean).join(' ');
}

/**
 * The garbage device, in its own process as a real one would be: random bytes (a line end every 256 on
 * average) written into the pty end, and what the terminal sends either read and thrown away or never read.
 */
const GARBAGE_DEVICE = `
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { randomBytes } from 'node:crypto';
const [path, total, mode] = process.argv.slice(1);
const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
if (mode === 'reading') new tty.ReadStream(fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY)).on('data', () => {});
const chunk = randomBytes(64 * 1024);
const h = await fs.promises.open(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
for (let sent = 0; sent < Number(total); sent += chunk.length) await h.write(chunk, 0, Math.min(chunk.length, Number(total) - sent));
fs.closeSync(fd);
process.exit(0);
`;

async function runOnce(mode: AbuseRun['mode'], o: SerialAbuseOptions, root: string): Promise<AbuseRun> {
  const dir = fs.mkdtempSync(path.join(root, `${mode}-`));
  const pairs: PtyPair[] = [];
  const children: ChildProcess[] = [];
  const host = AcquirerHost.open({ storage: nodeStorage, ledgerPath: path.join(dir, 'ledger.jsonl'), tmk: SecretKey.fromHex(TMK), clock: systemClock, rules: defaultRules() });
  const server = await startAcquirerServer({ host, clock: systemClock, port: 0 });
  let reader: ReaderSimulator | undefined;
  let printer: PrinterSimulator | undefined;
  try {
    const readerLine = await createPtyPair({ dir: fs.mkdtempSync(path.join(dir, 'reader-')) });
    const printerLine = await createPtyPair({ dir: fs.mkdtempSync(path.join(dir, 'printer-')) });
    pairs.push(readerLine, printerLine);
    printer = new PrinterSimulator({ path: printerLine.b, outDir: path.join(dir, 'slips') });
    await printer.start();
    const attachReader = () => {
      const r = new ReaderSimulator({ path: readerLine.b, present: 'visa-contactless' });
      r.start();
      return r;
    };
    reader = attachReader();

    const socketPath = path.join(dir, 'posj.sock');
    const config = {
      journalDir: path.join(dir, 'journal'),
      terminalId: '12345678',
      merchantId: '898310048990001',
      merchantName: 'SERIAL ABUSE BENCH',
      acquirer: { host: '127.0.0.1', port: server.port, tls: false, tmk: TMK },
      reader: { path: readerLine.a, baud: 115200 },
      printer: { path: printerLine.a, baud: 115200 },
      socketPath,
      timeouts: { connectMs: 2000, responseMs: 5000, cardMs: 60_000 },
      reversal: { attemptsPerRound: 3, refuseSalesWhileStuck: true },
    };
    const configFile = path.join(dir, 'terminal.json');
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    const logFile = path.join(dir, 'daemon.log');
    const logFd = fs.openSync(logFile, 'w');
    const daemon = spawn(process.execPath, [o.posj, 'run', '--config', configFile], { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    children.push(daemon);
    const call = (req: Parameters<typeof controlCall>[1], timeoutMs = 90_000) => controlCall(socketPath, req, timeoutMs).catch((e: Error) => e);
    for (let i = 0; ; i++) {
      const r = await call({ op: 'ping' }, 1000);
      if (!(r instanceof Error)) break;
      if (i > 300 || daemon.exitCode !== null) throw new Error(`daemon did not start: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      await sleep(100);
    }
    const warm = await call({ op: 'sale', amount: 100 });
    if (warm instanceof Error || !warm.ok || (warm.result as { kind: string }).kind !== 'approved') throw new Error(`warm-up sale not approved: ${describe(warm)}`);
    await sleep(500);
    const rssBaselineMB = rssMB(daemon.pid!);

    // The reader is replaced by the garbage device on the same pty end.
    await reader.stop();
    reader = undefined;
    const garbage = spawn(process.execPath, ['--input-type=module', '-e', GARBAGE_DEVICE, readerLine.b, String(o.megabytes * MB), mode], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(garbage);
    let garbageErr = '';
    garbage.stderr!.on('data', (c: Buffer) => (garbageErr += c.toString()));
    const flooded = new Promise<void>((resolve, reject) =>
      garbage.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`garbage device exited ${code}: ${garbageErr.slice(-500)}`)))),
    );

    const logBefore = fs.statSync(logFile).size;
    let rssPeakMB = rssBaselineMB;
    let flooding = true;
    const latencies: number[] = [];
    let statusFailed = 0;
    let readerAtEndOfFlood: unknown;
    const sampler = (async () => {
      while (flooding) {
        rssPeakMB = Math.max(rssPeakMB, rssMB(daemon.pid!));
        await sleep(100);
      }
    })();
    const prober = (async () => {
      while (flooding) {
        const t0 = performance.now();
        const r = await call({ op: 'status' }, 10_000);
        if (r instanceof Error || !r.ok) statusFailed++;
        else {
          latencies.push(performance.now() - t0);
          readerAtEndOfFlood = (r.result as { devices?: { reader?: unknown } }).devices?.reader;
        }
        await sleep(200);
      }
    })();
    const t0 = performance.now();
    await sleep(300);
    const s0 = performance.now();
    const sale = await call({ op: 'sale', amount: 100 });
    const saleDuringFlood = { ms: Math.round(performance.now() - s0), outcome: describe(sale) };
    await flooded;
    const floodMs = Math.round(performance.now() - t0);
    // Let the daemon work through what is still in the pty buffers, then one last status.
    await sleep(1000);
    flooding = false;
    await Promise.all([sampler, prober]);
    const last = await call({ op: 'status' }, 10_000);
    if (!(last instanceof Error) && last.ok) readerAtEndOfFlood = (last.result as { devices?: { reader?: unknown } }).devices?.reader;
    const logBytesDuringFlood = fs.statSync(logFile).size - logBefore;

    // A sane reader on the same pty end: no replug, no restart.
    const back = performance.now();
    reader = attachReader();
    let recoverMs: number | null = null;
    while (performance.now() - back < 30_000) {
      const r = await call({ op: 'sale', amount: 100 });
      if (!(r instanceof Error) && r.ok && (r.result as { kind: string }).kind === 'approved') {
        recoverMs = Math.round(performance.now() - back);
        break;
      }
      await sleep(200);
    }
    const rssAfterMB = rssMB(daemon.pid!);
    return {
      mode,
      garbageBytes: o.megabytes * MB,
      floodMs,
      rssBaselineMB: round(rssBaselineMB),
      rssPeakMB: round(rssPeakMB),
      rssGrowthMB: round(rssPeakMB - rssBaselineMB),
      rssAfterMB: round(rssAfterMB),
      status: summarize(latencies, statusFailed),
      logBytesDuringFlood,
      saleDuringFlood,
      readerAtEndOfFlood,
      recoverMs,
    };
  } finally {
    await reader?.stop();
    await printer?.close();
    for (const c of children) {
      if (c.exitCode === null) {
        c.kill('SIGKILL');
        await new Promise((r) => c.once('exit', r));
      }
    }
    for (const p of pairs) await p.close();
    await server.close();
    host.close();
  }
}

export async function runSerialAbuse(o: SerialAbuseOptions): Promise<{ runs: AbuseRun[]; dir: string }> {
  const root = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'posj-serial-abuse-'));
  fs.mkdirSync(root, { recursive: true });
  const runs: AbuseRun[] = [];
  for (const mode of o.modes) runs.push(await runOnce(mode, o, root));
  return { runs, dir: root };
}
