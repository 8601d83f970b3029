// `posj journal …`: fill, verify, ls, show, stat, repair, retain. Human output by default, one JSON object
// with --json; exit codes from exit-codes.ts (0 clean or torn tail only, 3 corruption, 2 usage or I/O).
import * as fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { action, ExitCode } from './exit-codes.js';
import { defaultKeyPath, journalExists, loadOrCreateDeviceKey, readDeviceKey } from '../journal/device-key.js';
import { RecordChain } from '../journal/chain.js';
import { JournalCorruptionError } from '../journal/errors.js';
import { listSegments, recoverJournal } from '../journal/recovery.js';
import { nodeStorage } from '../io/node-storage.js';
import { terminalFold, type TerminalJournalState } from '../txn/terminal-fold.js';
import { syntheticSteps } from '../journal/synthetic-sales.js';
import { verifyJournal, type VerifiedRecord } from '../journal/verify.js';
import { repairJournal, type RepairPlan } from '../journal/repair.js';
import { hasRepairIntent, unfinishedRepairError } from '../journal/repair-intent.js';
import { terminalSalvage, type SalvagedObligations } from '../txn/terminal-salvage.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { RecordTypes } from '../journal/record-types.js';
import { DEFAULT_SEGMENT_BYTES } from '../journal/journal.js';
import { openTerminalJournal } from '../txn/terminal-journal.js';
import { TerminalRecord } from '../txn/records.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

const allTypes = () => new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);

function keyFor(dir: string, keyFile?: string): { path: string; key: Buffer | null } {
  const p = keyFile ?? defaultKeyPath(dir);
  return { path: p, key: readDeviceKey(p) };
}

/** A directory without a segment (live or archived) is no journal: exit 2, never "ok". */
function requireJournalDir(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory() || !journalExists(dir)) {
    throw Object.assign(new Error(`no journal here: ${dir} holds no journal segments`), { code: 'NO_JOURNAL' });
  }
}

/** The state exactly as the daemon would boot it: the journal's own recovery with the terminal's fold. */
function recoveredState(dir: string, key: Buffer | null): { state: TerminalJournalState | null; error: JournalCorruptionError | null } {
  try {
    const r = recoverJournal({ storage: nodeStorage, dir, fold: terminalFold, types: allTypes(), chain: key ? new RecordChain(key) : null, segments: listSegments(nodeStorage, dir) });
    return { state: r.runner.state, error: null };
  } catch (e) {
    if (e instanceof JournalCorruptionError) return { state: null, error: e };
    throw e;
  }
}

function print(json: boolean, obj: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(obj) + '\n' : human() + '\n');
}

function describeRecord(r: VerifiedRecord): Record<string, unknown> {
  let payload: unknown;
  try {
    payload = JSON.parse(r.payload.toString('utf8'));
  } catch {
    payload = { unreadable: r.payload.length };
  }
  return { seq: r.seq, type: r.type, version: r.version, segment: r.segment, offset: r.offset, payload };
}

function summary(r: Record<string, unknown>): string {
  const p = r.payload as Record<string, unknown> | null;
  if (!p || typeof p !== 'object') return '';
  const bits: string[] = [];
  for (const k of ['stan', 'kind', 'amount', 'result', 'responseCode', 'reason', 'maskedPan', 'batch', 'step', 'throughSeq', 'at']) {
    if (p[k] !== undefined) bits.push(`${k}=${typeof p[k] === 'object' ? JSON.stringify(p[k]) : String(p[k])}`);
  }
  return bits.join(' ');
}

/** The repair plan as a field engineer reads it: what moves, what is salvaged, how the counters move, what stays owed. */
function describeRepair(p: RepairPlan<SalvagedObligations>, applied: boolean): string {
  const ob = p.obligations;
  const list = (xs: unknown[]) => (xs.length ? xs.join(', ') : 'none');
  const where = p.cut.segment ? `${p.cut.segment} from offset ${p.cut.offset} (seq ${p.cut.seq} on)` : 'every segment (the journal restarts at seq 1)';
  return [
    `damage: segment ${p.segment} offset ${p.offset}: ${p.reason}`,
    `${applied ? 'moved' : 'would move'} ${where}: ${p.bytesMoved} bytes and ${p.segmentsMoved.length} later segments, to ${p.movedTo}`,
    `records salvaged ${p.recordsSalvaged} (${p.recordsUnverified} without a checkable MAC: they may add, never clear), lost at most ${p.recordsLostAtMost}; ${p.recordsReappended} written back`,
    `STAN   before ${p.stan.before}  evidenced ${p.stan.evidenced}  after ${p.stan.after}`,
    `batch  before ${p.batch.before}  evidenced ${p.batch.evidenced}  after ${p.batch.after}`,
    `obligations kept: reversals owed ${list(ob.reversalsOwed.map((r) => `${r.stan} (${r.reason}${r.stuck ? ', stuck' : ''})`))}; in flight, reversed at boot ${list(ob.inFlight)}; receipts pending ${list(ob.receiptsPending)}; settlement ${ob.settlement ? `batch ${ob.settlement.batch} at ${ob.settlement.step}` : 'none'}`,
    `reversals cleared or closed in the salvaged records stay closed: ${ob.reversalsClosed}`,
    applied ? 'a journal.repair record holds all of this; the next open resumes from it' : 'run again with --yes-move-damaged to do it',
  ].join('\n');
}

export function registerJournalCommands(program: Command): void {
  const journal = program.command('journal').description('inspect, check, repair and fill a journal directory');

  journal
    .command('fill')
    .description('append N synthetic, realistic sale records (intent, outcome, printed, reversals, settlements)')
    .argument('<dir>', 'journal directory (created if missing)')
    .requiredOption('--records <n>', 'how many records to write (at least)', positiveInt)
    .option('--segment-bytes <n>', 'segment size for a new journal', positiveInt, DEFAULT_SEGMENT_BYTES)
    .option('--batch-size <n>', 'sales per settlement batch', positiveInt, 500)
    .option('--key-file <path>', 'device key file (created if missing; default <dir>.key)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (dir: string, o: { records: number; segmentBytes: number; batchSize: number; keyFile?: string; json?: boolean }) => {
        const key = loadOrCreateDeviceKey(o.keyFile ?? defaultKeyPath(dir), dir);
        const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: o.segmentBytes });
        const start = j.nextSeq;
        const target = start + o.records;
        const bar = !o.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'fill [{bar}] {value}/{total} records', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
        bar?.start(o.records, 0);
        const t0 = performance.now();
        const firstSale = j.state.stan + 1;
        try {
          for (const step of syntheticSteps(firstSale, Number.MAX_SAFE_INTEGER, o.batchSize)) {
            if (j.nextSeq >= target) break;
            await j.append(step.records, { durable: step.durable });
            if (bar && j.nextSeq % 1000 === 0) bar.update(j.nextSeq - start);
          }
        } finally {
          bar?.stop();
          await j.close();
        }
        const ms = performance.now() - t0;
        const written = j.nextSeq - start;
        print(Boolean(o.json), { dir, records: written, lastSeq: j.nextSeq - 1, segments: j.segmentNames().length, ms: Math.round(ms) }, () => `wrote ${written} records to ${dir} in ${(ms / 1000).toFixed(1)} s (last seq ${j.nextSeq - 1}, ${j.segmentNames().length} segments)`);
      }),
    );

  journal
    .command('verify')
    .description('check every segment, checksum, sequence and the MAC chain; exit 0 clean or torn tail only, 3 corrupt, 2 usage/I-O')
    .argument('<dir>', 'journal directory')
    .option('--key-file <path>', 'device key file (default <dir>.key); without it the MAC chain is not checked')
    .option('--json', 'print one JSON object')
    .action(
      action(async (dir: string, o: { keyFile?: string; json?: boolean }) => {
        requireJournalDir(dir);
        const { path: keyPath, key } = keyFor(dir, o.keyFile);
        const r = verifyJournal(dir, { deviceKey: key, types: allTypes() });
        const repairUnfinished = hasRepairIntent(nodeStorage, dir);
        const bad = r.corrupt !== null || r.tampered !== null || repairUnfinished;
        print(Boolean(o.json), { ...r, repairUnfinished }, () => {
          const lines = [`${dir}: ${r.records} records in ${r.segments} segments, seq ${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}`];
          if (repairUnfinished) lines.push(`REPAIR UNFINISHED: ${unfinishedRepairError(dir).message}`);
          if (r.tornTail) lines.push(`torn tail: ${r.tornTailBytes} bytes at ${r.tornTail.segment} offset ${r.tornTail.offset} (${r.tornTail.reason}); the next open cuts it`);
          if (r.corrupt) lines.push(`CORRUPT: segment ${r.corrupt.segment} offset ${r.corrupt.offset}: ${r.corrupt.reason}`);
          if (r.tampered) lines.push(`TAMPERED: segment ${r.tampered.segment} offset ${r.tampered.offset} seq ${r.tampered.seq}: ${r.tampered.reason}`);
          if (!r.chainChecked) lines.push(`warning: no device key at ${keyPath}; MAC chain not checked`);
          if (!bad) lines.push(r.tornTail ? 'ok (torn tail only)' : 'ok');
          return lines.join('\n');
        });
        return bad ? ExitCode.corrupt : ExitCode.ok;
      }),
    );

  journal
    .command('ls')
    .description('list records, oldest first')
    .argument('<dir>', 'journal directory')
    .option('--from <seq>', 'first seq to list', positiveInt)
    .option('--limit <n>', 'at most this many records', positiveInt, 50)
    .option('--type <name>', 'only records of this type (e.g. auth.intent)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (dir: string, o: { from?: number; limit: number; type?: string; json?: boolean }) => {
        requireJournalDir(dir);
        const rows: Record<string, unknown>[] = [];
        const r = verifyJournal(dir, {
          types: allTypes(),
          onRecord: (rec) => {
            if (rows.length >= o.limit || (o.from && rec.seq < o.from) || (o.type && rec.type !== o.type)) return;
            rows.push(describeRecord(rec));
          },
        });
        print(Boolean(o.json), { records: rows, total: r.records }, () =>
          rows.map((x) => `${String(x.seq).padStart(8)}  ${String(x.type).padEnd(20)} ${summary(x)}`).join('\n') + `\n(${rows.length} of ${r.records} records)`,
        );
        return r.corrupt ? ExitCode.corrupt : ExitCode.ok;
      }),
    );

  journal
    .command('show')
    .description('show one record in full')
    .argument('<dir>', 'journal directory')
    .requiredOption('--seq <n>', 'record sequence number', positiveInt)
    .option('--json', 'print one JSON object')
    .action(
      action(async (dir: string, o: { seq: number; json?: boolean }) => {
        requireJournalDir(dir);
        let found: Record<string, unknown> | null = null;
        verifyJournal(dir, { types: allTypes(), onRecord: (rec) => void (rec.seq === o.seq && (found = describeRecord(rec))) });
        if (!found) throw Object.assign(new Error(`no record with seq ${o.seq} in ${dir}`), { code: 'NO_RECORD' });
        const rec: Record<string, unknown> = found;
        print(Boolean(o.json), rec, () => `seq ${rec.seq}  ${rec.type} v${rec.version}  (${rec.segment} @ ${rec.offset})\n${JSON.stringify(rec.payload, null, 2)}`);
      }),
    );

  journal
    .command('stat')
    .description('segments, records, size, and the open state as the daemon boots it: STAN, batch, totals, reversals and receipts owed; exit 3 corrupt or tampered')
    .argument('<dir>', 'journal directory')
    .option('--key-file <path>', 'device key file (default <dir>.key)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (dir: string, o: { keyFile?: string; json?: boolean }) => {
        requireJournalDir(dir);
        const { path: keyPath, key } = keyFor(dir, o.keyFile);
        const r = verifyJournal(dir, { deviceKey: key, types: allTypes() });
        const repairUnfinished = hasRepairIntent(nodeStorage, dir);
        const { state: s, error } = recoveredState(dir, key);
        const open = s && {
          stan: s.stan,
          batch: s.batch,
          inFlight: Object.keys(s.inFlight).length,
          pendingReversals: Object.values(s.reversals).filter((x) => !x.stuck).length,
          stuckReversals: Object.values(s.reversals).filter((x) => x.stuck).length,
          pendingReceipts: Object.keys(s.pendingReceipts).length,
          totals: s.totals,
          settlement: s.settlement,
          oldestOpenSeq: terminalFold.oldestOpenSeq(s),
        };
        const recovery = error && { segment: error.segment, offset: error.offset, reason: error.reason };
        const out = { segments: r.segments, records: r.records, bytes: r.bytes, firstSeq: r.firstSeq, lastSeq: r.lastSeq, tornTailBytes: r.tornTailBytes, corrupt: r.corrupt, tampered: r.tampered, chainChecked: r.chainChecked, recovery, repairUnfinished, recordTypes: r.recordTypes, state: repairUnfinished ? null : open };
        print(Boolean(o.json), out, () =>
          [
            `${dir}: ${r.records} records, ${r.segments} segments, ${(r.bytes / 1048576).toFixed(1)} MiB, seq ${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}`,
            repairUnfinished ? `REPAIR UNFINISHED: ${unfinishedRepairError(dir).message}` : '',
            open && !repairUnfinished
              ? `STAN ${open.stan}  batch ${open.batch}  in flight ${open.inFlight}  reversals owed ${open.pendingReversals} (stuck ${open.stuckReversals})  receipts pending ${open.pendingReceipts}`
              : 'state: the daemon would refuse to open this journal (below)',
            open && !repairUnfinished ? `batch totals: sales ${open.totals.saleCount} / ${(open.totals.saleAmount / 100).toFixed(2)}  refunds ${open.totals.refundCount} / ${(open.totals.refundAmount / 100).toFixed(2)}  voids ${open.totals.voidCount} / ${(open.totals.voidAmount / 100).toFixed(2)}` : '',
            ...Object.entries(r.recordTypes).map(([t, n]) => `  ${t.padEnd(20)} ${n}`),
            r.corrupt ? `CORRUPT: segment ${r.corrupt.segment} offset ${r.corrupt.offset}: ${r.corrupt.reason}` : '',
            r.tampered ? `TAMPERED: segment ${r.tampered.segment} offset ${r.tampered.offset} seq ${r.tampered.seq}: ${r.tampered.reason}` : '',
            error && !r.corrupt ? `CORRUPT: ${error.message}` : '',
            r.chainChecked ? '' : `warning: no device key at ${keyPath}; MAC chain not checked`,
          ]
            .filter(Boolean)
            .join('\n'),
        );
        return r.corrupt || r.tampered || error || repairUnfinished ? ExitCode.corrupt : ExitCode.ok;
      }),
    );

  journal
    .command('repair')
    .description('salvage what still verifies, move the rest aside (never deleted), carry STAN and batch forward; dry run without --yes-move-damaged')
    .argument('<dir>', 'journal directory')
    .option('--yes-move-damaged', 'really move the damaged part aside and write the repair')
    .option('--key-file <path>', 'device key file (default <dir>.key)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (dir: string, o: { yesMoveDamaged?: boolean; keyFile?: string; json?: boolean }) => {
        requireJournalDir(dir);
        const r = await repairJournal(dir, { deviceKey: keyFor(dir, o.keyFile).key, confirm: Boolean(o.yesMoveDamaged), policy: terminalSalvage, now: () => new Date().toISOString() });
        print(Boolean(o.json), { applied: r.applied, resumed: r.resumed, plan: r.plan, corrupt: r.verify.corrupt, tampered: r.verify.tampered }, () => {
          if (!r.plan) return 'nothing to repair (a torn tail is cut by the next open)';
          const resumed = r.resumed ? [`an earlier repair of ${dir} was interrupted after it began; ${r.applied ? 'finished it' : 'it is to be finished'} as it was planned:`] : [];
          return [...resumed, describeRepair(r.plan, r.applied)].join('\n');
        });
        return r.plan && !r.applied ? ExitCode.failed : ExitCode.ok;
      }),
    );

  journal
    .command('retain')
    .description('archive (or delete) old segments whose records are all closed; open obligations are never removed')
    .argument('<dir>', 'journal directory')
    .option('--delete', 'delete instead of moving to <dir>/archive')
    .option('--key-file <path>', 'device key file (default <dir>.key)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (dir: string, o: { delete?: boolean; keyFile?: string; json?: boolean }) => {
        requireJournalDir(dir);
        const { path: keyPath, key } = keyFor(dir, o.keyFile);
        if (!key) throw Object.assign(new Error(`no device key at ${keyPath}`), { code: 'NO_KEY' });
        const j = await openTerminalJournal({ dir, deviceKey: key });
        try {
          const r = await j.retain({ mode: o.delete ? 'delete' : 'archive' });
          print(Boolean(o.json), { retained: r }, () => (r ? `${r.mode === 'delete' ? 'deleted' : 'archived'} ${r.segments.length} segments (through seq ${r.throughSeq})` : 'nothing to retire: every older segment still holds an open obligation or there is only one'));
        } finally {
          await j.close();
        }
      }),
    );
}
