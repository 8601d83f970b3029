// `posj run` (the terminal daemon) and its clients: sale, void, refund, settle, status, reversals, reprint,
// supervisor. Clients send one JSON line to the daemon's socket. Exit codes: 0 approved / done, 1 the
// operation ran and did not succeed (declined, reversed, refused, unbalanced), 2 usage, a bad config key,
// an error reply or no daemon.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { action, ExitCode } from './exit-codes.js';
import { positiveInt } from './journal-commands.js';
import { controlCall } from '../daemon/control-client.js';
import type { ControlRequest } from '../daemon/control-protocol.js';
import { ConfigError, loadConfig, type TerminalConfig } from '../daemon/config.js';
import { startDaemon, type RunningDaemon } from '../daemon/daemon.js';
import { lineLog, type DaemonLog } from '../daemon/daemon-log.js';
import { systemClock } from '../../protocol/io/clock.js';
import { formatMinor } from '../receipts/money.js';

const DEFAULT_SOCKET = path.join('var', 'posj.sock');

/** "12.34" or "1234" fen → fen; whole yuan need the decimals ("12.00"), so "12" means 12 fen only with --fen. */
function amountArg(value: string): number {
  if (!/^\d{1,7}\.\d{2}$/.test(value)) throw new InvalidArgumentError('amount in yuan with two decimals, e.g. 12.50');
  const [y, f] = value.split('.');
  return Number(y) * 100 + Number(f);
}

interface ClientOpts {
  socket: string;
  json?: boolean;
}

type Printer = (result: Record<string, unknown>) => string;

/** Sends a request, prints the answer, and maps it to an exit code. */
async function call(o: ClientOpts, req: ControlRequest, human: Printer, succeeded: (r: Record<string, unknown>) => boolean = () => true): Promise<number> {
  const res = await controlCall(o.socket, req);
  if (!res.ok) {
    if (o.json) process.stdout.write(JSON.stringify(res) + '\n');
    else process.stderr.write(`posj ${req.op}: ${res.error.code}: ${res.error.message}\n`);
    return res.error.code === 'BAD_REQUEST' || res.error.code === 'UNKNOWN_OP' ? ExitCode.usage : ExitCode.failed;
  }
  const r = res.result as Record<string, unknown>;
  process.stdout.write((o.json ? JSON.stringify(r) : human(r)) + '\n');
  return succeeded(r) ? ExitCode.ok : ExitCode.failed;
}

const stan6 = (n: unknown) => String(n).padStart(6, '0');

export function describeTxn(r: Record<string, unknown>): string {
  switch (r.kind) {
    case 'approved':
      return `APPROVED ${r.txn} stan=${stan6(r.stan)} batch=${stan6(r.batch)} amount=${formatMinor(Number(r.amount))} card=${r.maskedPan} rrn=${r.rrn} receipt=${r.receipt}`;
    case 'declined':
      return `DECLINED ${r.txn} stan=${stan6(r.stan)} response=${r.responseCode}`;
    case 'reversed':
      return `FAILED ${r.txn} stan=${stan6(r.stan)}: reversed (reason ${r.reason}), reversal ${r.reversal} — the cardholder is not left debited`;
    case 'not-sent':
      return `NOT SENT ${r.txn} stan=${stan6(r.stan)}: ${r.detail}`;
    case 'refused':
      return `REFUSED ${r.txn}: ${r.reason} (${r.detail})`;
    default:
      return JSON.stringify(r);
  }
}

const approved = (r: Record<string, unknown>) => r.kind === 'approved';

export function describeStatus(r: Record<string, unknown>): string {
  const t = r.totals as { saleCount: number; saleAmount: number; voidCount: number; voidAmount: number; refundCount: number; refundAmount: number };
  const list = (v: unknown) => ((v as number[]).length ? (v as number[]).join(', ') : 'none');
  const sup = r.supervisor as { set: boolean; lockedForMs: number };
  return [
    `terminal ${r.terminalId}  stan ${stan6(r.stan)}  batch ${stan6(r.batch)}  ${r.signedOn ? 'signed on' : 'NOT signed on'}`,
    `reversals pending: ${list(r.pendingReversals)}  stuck: ${list(r.stuckReversals)}  receipts pending: ${list(r.pendingReceipts)}`,
    `batch totals: ${t.saleCount} sales ${formatMinor(t.saleAmount)}, ${t.voidCount} voids ${formatMinor(t.voidAmount)}, ${t.refundCount} refunds ${formatMinor(t.refundAmount)}`,
    `supervisor password: ${sup.set ? 'set' : 'NOT SET (posj supervisor set)'}${sup.lockedForMs > 0 ? `, locked ${Math.ceil(sup.lockedForMs / 1000)} s` : ''}`,
    `settlement: ${r.settlement ? `batch ${(r.settlement as { batch: number }).batch} stopped at ${(r.settlement as { step: string }).step}` : 'none under way'}`,
    `devices: ${JSON.stringify(r.devices)}`,
    ...(r.journalFailure ? [`JOURNAL FAILED: ${r.journalFailure}`] : []),
  ].join('\n');
}

export function describeSettlement(r: Record<string, unknown>): string {
  const rep = r.report as { byCardType: { domestic: { terminal: Record<string, number>; acquirer: Record<string, number> } } };
  const side = (s: Record<string, number>) => `debits ${s.debitCount} / ${formatMinor(s.debitAmount!)}  credits ${s.creditCount} / ${formatMinor(s.creditAmount!)}`;
  return [
    `SETTLED batch ${stan6(r.batch)} → next batch ${stan6(r.nextBatch)}: ${r.balanced ? 'BALANCED (对账平)' : `UNBALANCED (对账不平), ${r.uploaded} transactions uploaded`}`,
    `  terminal: ${side(rep.byCardType.domestic.terminal)}`,
    `  acquirer: ${side(rep.byCardType.domestic.acquirer)}`,
  ].join('\n');
}

/**
 * What the bench build (host-bridge/cli/posj-bench.ts) adds to `posj run`: the embedded simulated default
 * and the scripted session `npm start` shows. The terminal's own build has neither: it runs a config file.
 */
export interface BenchRun {
  embeddedConfig(varDir: string): TerminalConfig;
  start(config: TerminalConfig, log: DaemonLog): Promise<{ daemon: RunningDaemon; session(print: (line: string) => void): Promise<number> }>;
}

function client(cmd: Command): Command {
  return cmd.option('--socket <path>', 'the daemon control socket', DEFAULT_SOCKET).option('--json', 'print the JSON answer');
}

export function registerTerminalCommands(program: Command, bench?: BenchRun): void {
  const run = program.command('run').description('run the terminal daemon: journal, engine (reversals first), control API on a Unix socket');
  if (bench) {
    // --simulated and --var describe the embedded default; with --config they would be silently ignored.
    run
      .option('--config <file>', 'terminal config JSON (without it: the embedded simulated default)')
      .addOption(new Option('--simulated', 'embedded default: in-process acquirer simulator, simulated reader and printer, state under --var').conflicts('config'))
      .addOption(new Option('--var <dir>', 'state directory of the embedded default (default ./var)').conflicts('config'))
      .option('--session', 'run a short scripted session against the daemon, print it, and exit (what npm start does)');
  } else run.requiredOption('--config <file>', 'terminal config JSON');
  run.action(
    action(async (o: { config?: string; simulated?: boolean; var?: string; session?: boolean }) => {
      const config = o.config ? loadConfig(o.config) : bench!.embeddedConfig(o.var ?? './var');
      // In a session the log goes to a file, so the printed session stays readable.
      const logFile = o.session ? path.join(path.dirname(config.socketPath), 'posj.log') : null;
      if (logFile) fs.mkdirSync(path.dirname(logFile), { recursive: true });
      const log = lineLog((line) => (logFile ? fs.appendFileSync(logFile, line) : process.stderr.write(line)), systemClock);
      const boot = async () => (bench ? bench.start(config, log) : { daemon: await startDaemon({ config, log, slot: process.env.POSJ_SLOT ?? null }), session: null });
      // A path problem found at boot is still the config file's: name it.
      const started = await boot().catch((e: unknown) => {
        throw e instanceof ConfigError && !e.file && o.config ? new ConfigError(e.key, e.reason, o.config) : e;
      });
      if (o.session && started.session) {
        try {
          process.stdout.write(`terminal daemon up: control socket ${config.socketPath}, log ${logFile}\n`);
          return await started.session((line) => process.stdout.write(line + '\n'));
        } finally {
          await started.daemon.stop();
        }
      }
      const signal = await new Promise<NodeJS.Signals | 'reboot'>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
        // A bench asked for a reboot over the service port: stop as for a signal, then exit 75 for posj boot.
        void started.daemon.rebootRequested.then(() => resolve('reboot'));
      });
      // A second signal while the operation in flight finishes: exit at once (the journal makes it safe).
      const now = (second: NodeJS.Signals) => {
        log.event('shutdown-forced', { signal: second, detail: 'second signal: exiting at once' });
        process.exit(ExitCode.failed);
      };
      process.once('SIGINT', () => now('SIGINT'));
      process.once('SIGTERM', () => now('SIGTERM'));
      const report = await started.daemon.shutdown(signal);
      if (!report.graceful) process.exit(ExitCode.failed);
      return signal === 'reboot' ? ExitCode.reboot : ExitCode.ok;
    }),
  );

  client(program.command('sale').description('消费: a sale of AMOUNT (yuan, e.g. 12.50)').argument('<amount>', 'amount', amountArg)).action(
    action((amount: number, o: ClientOpts) => call(o, { op: 'sale', amount }, describeTxn, approved)),
  );

  client(program.command('void').description('撤销: void a sale of the open batch (supervisor password)').requiredOption('--stan <n>', 'STAN of the sale', positiveInt).requiredOption('--password <pw>', 'supervisor password')).action(
    action((o: ClientOpts & { stan: number; password: string }) => call(o, { op: 'void', stan: o.stan, password: o.password }, describeTxn, approved)),
  );

  client(
    program
      .command('refund')
      .description('退货: refund up to AMOUNT of a sale from any batch (supervisor password)')
      .argument('<amount>', 'amount', amountArg)
      .requiredOption('--rrn <rrn>', 'retrieval reference number of the sale')
      .requiredOption('--date <MMDD>', 'date of the sale')
      .requiredOption('--password <pw>', 'supervisor password'),
  ).action(action((amount: number, o: ClientOpts & { rrn: string; date: string; password: string }) => call(o, { op: 'refund', amount, rrn: o.rrn, date: o.date, password: o.password }, describeTxn, approved)));

  client(program.command('settle').description('结算: settle the open batch with the acquirer')).action(
    action((o: ClientOpts) => call(o, { op: 'settle' }, describeSettlement)),
  );

  client(
    program
      .command('status')
      .description('the terminal (stan, batch, reversals, receipts, totals, devices), or one transaction: did it go through?')
      .option('--stan <n>', 'one transaction by STAN', positiveInt)
      .option('--rrn <rrn>', 'one transaction by RRN'),
  ).action(
    action((o: ClientOpts & { stan?: number; rrn?: string }) => {
      const req: ControlRequest = { op: 'status', ...(o.stan !== undefined ? { stan: o.stan } : {}), ...(o.rrn !== undefined ? { rrn: o.rrn } : {}) };
      const one = o.stan !== undefined || o.rrn !== undefined;
      return call(o, req, one ? (r) => (r.found ? `stan=${stan6(r.stan)} ${r.txn} ${formatMinor(Number(r.amount))} ${r.state} receipt=${r.receipt}` : 'not found') : describeStatus, (r) => !one || r.found === true);
    }),
  );

  client(program.command('reversals').description('冲正: reversals owed, with attempts and stuck ones')).action(
    action((o: ClientOpts) =>
      call(o, { op: 'reversals' }, (r) => {
        const list = r as unknown as Array<Record<string, unknown>>;
        return list.length === 0 ? 'no reversals owed' : list.map((v) => `stan=${stan6(v.stan)} ${v.txn} ${formatMinor(Number(v.amount))} ${v.maskedPan} reason=${v.reason} attempts=${v.attempts}${v.stuck ? ' STUCK' : ''}`).join('\n');
      }),
    ),
  );

  client(program.command('reprint').description('重打印: reprint the last slip, or one by STAN, marked duplicate').option('--stan <n>', 'STAN', positiveInt)).action(
    action((o: ClientOpts & { stan?: number }) => call(o, { op: 'reprint', ...(o.stan !== undefined ? { stan: o.stan } : {}) }, (r) => `${r.kind}${r.stan !== undefined ? ` stan=${stan6(r.stan)}` : ''}${r.reason ? `: ${r.reason}` : ''}`, (r) => r.kind === 'printed')),
  );

  const supervisor = program.command('supervisor').description('the supervisor password and what needs it');
  client(supervisor.command('set').description('set the supervisor password (first run), or change it with --current').requiredOption('--password <pw>', 'new password').option('--current <pw>', 'the current password')).action(
    action((o: ClientOpts & { password: string; current?: string }) => call(o, { op: 'supervisor-set', password: o.password, ...(o.current !== undefined ? { current: o.current } : {}) }, () => 'supervisor password set')),
  );
  client(
    supervisor
      .command('close-reversal')
      .description('take a stuck reversal out of the open set, with the password and a recorded reason')
      .requiredOption('--stan <n>', 'STAN of the stuck reversal', positiveInt)
      .requiredOption('--password <pw>', 'supervisor password')
      .requiredOption('--reason <text>', 'why (recorded in the journal)'),
  ).action(action((o: ClientOpts & { stan: number; password: string; reason: string }) => call(o, { op: 'close-reversal', stan: o.stan, password: o.password, reason: o.reason }, (r) => `${r.closed ? 'closed' : 'NOT closed'}: ${r.detail}`, (r) => r.closed === true)));
}
