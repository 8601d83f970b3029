// The power-cut drill used by the SIGKILL test and by `posj demo`: run the crash probe in a child process,
// SIGKILL it at a random moment, then read the journal back and check every batch the child began.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { batchDigest } from './batch-digest.js';
import { verifyJournal, type VerifyReport } from './verify.js';
import { readDeviceKey } from './device-key.js';
import { RecordTypes } from './record-types.js';
import { CHECKPOINT, INTERNAL_TYPES, SEAL } from './internal-types.js';
import { TerminalRecord } from '../txn/records.js';

export const CRASH_PROBE = fileURLToPath(new URL('./crash-probe.js', import.meta.url));

interface Begun {
  first: number;
  count: number;
  digest: string;
  acked: boolean;
}

export interface DrillResult {
  /** Batches the child began before it was killed. */
  begun: number;
  /** Batches that had to survive (acknowledged, or written before an acknowledged one) and did. */
  survivedAcked: number;
  /** Unacknowledged batches that were lost whole (allowed). */
  lostUnacked: number;
  /** Unacknowledged batches that made it to disk whole anyway (allowed). */
  keptUnacked: number;
  /** Torn bytes the child's own open cut, reported by it at start. */
  tornTailBytesAtOpen: number;
  /** Statements that failed; empty when the journal kept every promise. */
  violations: string[];
  verify: VerifyReport;
}

function runAndKill(probe: string, dir: string, keyPath: string, afterBatches: number, seed: number, segmentBytes: number): Promise<{ begun: Begun[]; torn: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [probe, dir, keyPath, String(segmentBytes), String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const begun: Begun[] = [];
    let torn = 0;
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [kind, a, b, , digest] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (kind === 'open') torn = Number(b);
        if (kind === 'begin') begun.push({ first: Number(a), count: Number(b), digest: digest!, acked: false });
        if (kind === 'ack') {
          const x = begun.find((g) => g.first === Number(a));
          if (x) x.acked = true;
        }
      }
      if (!killed && begun.length >= afterBatches) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`crash probe exited with ${code} before it was killed: ${stderr.trim()}`));
      else resolve({ begun, torn });
    });
  });
}

/** One drill: start the probe, kill it after `afterBatches` batches began, check what is on disk. */
export async function killDrill(opts: { dir: string; keyPath: string; afterBatches: number; seed: number; segmentBytes: number; probe?: string }): Promise<DrillResult> {
  const { begun, torn } = await runAndKill(opts.probe ?? CRASH_PROBE, opts.dir, opts.keyPath, opts.afterBatches, opts.seed, opts.segmentBytes);
  const payloads = new Map<number, { type: string; payload: unknown }>();
  const verify = verifyJournal(opts.dir, {
    deviceKey: readDeviceKey(opts.keyPath),
    types: new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]),
    onRecord: (r) => payloads.set(r.seq, { type: r.type, payload: JSON.parse(r.payload.toString('utf8')) }),
  });
  const violations: string[] = [];
  if (verify.corrupt) violations.push(`journal corrupt at ${verify.corrupt.segment}:${verify.corrupt.offset}: ${verify.corrupt.reason}`);
  if (verify.tampered) violations.push(`chain broken at seq ${verify.tampered.seq}: ${verify.tampered.reason}`);
  const lastAcked = Math.max(-1, ...begun.filter((b) => b.acked).map((b) => b.first));
  let survivedAcked = 0;
  let lostUnacked = 0;
  let keptUnacked = 0;
  for (const b of begun) {
    // A batch that started a new segment sits behind the old segment's seal and the new one's checkpoint.
    let first = b.first;
    while (payloads.get(first)?.type === SEAL.name || payloads.get(first)?.type === CHECKPOINT.name) first++;
    const got = Array.from({ length: b.count }, (_, i) => payloads.get(first + i)?.payload);
    const whole = got.every((p) => p !== undefined) && batchDigest(got) === b.digest;
    // A durable append syncs everything before it, so a batch written before an acknowledged one must survive.
    if (b.acked || b.first < lastAcked) {
      if (whole) survivedAcked++;
      else violations.push(`acknowledged batch at seq ${b.first} (${b.count} records) is missing or altered`);
    } else if (whole) {
      keptUnacked++;
    } else if (got.some((p) => p !== undefined)) {
      violations.push(`unacknowledged batch at seq ${b.first} is partly visible`);
    } else {
      lostUnacked++;
    }
  }
  return { begun: begun.length, survivedAcked, lostUnacked, keptUnacked, tornTailBytesAtOpen: torn, violations, verify };
}
