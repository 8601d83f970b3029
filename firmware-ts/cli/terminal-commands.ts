// `posj run` (the terminal daemon) and its clients: sale, preauth, completion, preauth-void, balance, void,
// refund, settle, status, reversals, reprint, supervisor. Clients send one JSON line to the daemon's socket. Exit codes: 0 approved / done, 1 the
// operation ran and did not succeed (declined, reversed, refused, unbalanced), 2 usage, a bad config key,
// an error reply or no daemon.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { action, ExitCode } from './exit-codes.js';
import { positiveInt } from './journal-commands.js';
import { AnswerLostError, controlCall } from '../daemon/control-client.js';
import type { ControlRequest } from '../daemon/control-protocol.js';
import { ConfigError, loadConfig, type TerminalConfig } from '../daemon/config.js';
import { checkConfigFiles } from '../daemon/config-files.js';
import { startDaemon, type RunningDaemon } from '../daemon/daemon.js';
import { lineLog, type DaemonLog } from '../daemon/daemon-log.js';
import { DEFAULT_LOG_BYTES, DEFAULT_LOG_KEEP, defaultLogFile, openFileLog, teeLog } from '../daemon/file-log.js';
import { deferredLog } from '../daemon/deferred-log.js';
import { FIRMWARE_VERSION } from '../firmware/build-info.js';
import { systemClock } from '../../protocol/io/clock.js';
import { formatMinor } from '../receipts/money.js';
import { describeResponseCode } from '../receipts/response-codes.js';
import { parseYuan } from './amount-arg.js';
import { readPasswords, type PasswordSource } from './password-input.js';
import { describeStatus } from './status-words.js';

export { describeStatus };
import { requestIdProblem } from '../txn/request-id.js';

const DEFAULT_SOCKET = path.join('var', 'posj.sock');

interface ClientOpts {
  socket: string;
  json?: boolean;
}

type Printer = (result: Record<string, unknown>) => string;

/** Sends a request, prints the answer, and maps it to an exit code. */
/** `succeeded` says ok/failed, or gives the exit code itself (money operations: txnExitCode). */
/** Operations whose effect on money (or on what is owed) is unknown when their answer is lost. */
const MONEY_OPS = new Set(['sale', 'preauth', 'completion', 'preauth-void', 'void', 'refund', 'settle', 'send-reversals', 'close-reversal']);

async function call(o: ClientOpts, req: ControlRequest, human: Printer, succeeded: (r: Record<string, unknown>) => boolean | number = () => true): Promise<number> {
  let res: Awaited<ReturnType<typeof controlCall>>;
  try {
    res = await controlCall(o.socket, req);
  } catch (e) {
    // Not "no daemon": it took the request, so a script must not simply try again (exit 5, outcome unknown).
    if (!(e instanceof AnswerLostError) || !MONEY_OPS.has(req.op)) throw e;
    if (o.json) process.stdout.write(JSON.stringify({ ok: false, error: { code: e.code, message: e.message } }) + '\n');
    else process.stderr.write(`posj ${req.op}: outcome unknown: ${e.message}\n`);
    return ExitCode.unsettled;
  }
  if (!res.ok) {
    if (o.json) process.stdout.write(JSON.stringify(res) + '\n');
    else process.stderr.write(`posj ${req.op}: ${res.error.code}: ${res.error.message}\n`);
    return res.error.code === 'BAD_REQUEST' || res.error.code === 'UNKNOWN_OP' ? ExitCode.usage : ExitCode.failed;
  }
  const r = res.result as Record<string, unknown>;
  process.stdout.write((o.json ? JSON.stringify(r) : human(r)) + '\n');
  const verdict = succeeded(r);
  return typeof verdict === 'number' ? verdict : verdict ? ExitCode.ok : ExitCode.failed;
}

const stan6 = (n: unknown) => String(n).padStart(6, '0');

const REVERSAL_REASONS: Record<string, string> = {
  '98': 'no trustworthy reply from the acquirer',
  A0: 'the reply failed its MAC check',
  '06': 'the card did not complete the approved transaction',
};

/**
 * What the acquirer is known to hold after a reversal, in words a cashier can act on: "reversed at the
 * acquirer" only once a 0410 cleared it; otherwise the debit may stand, and the STAN says which one.
 */
export function describeReversal(v: { state?: unknown; stan?: unknown; reason?: unknown; attempts?: unknown; responseCode?: unknown; closedReason?: unknown }): string {
  const why = `reason ${v.reason}: ${REVERSAL_REASONS[String(v.reason)] ?? 'unknown reason'}`;
  switch (v.state) {
    case 'cleared':
      return `reversed at the acquirer (0410 answered ${v.responseCode}; ${why}) — the cardholder is not debited`;
    case 'pending':
      return `reversal owed, not yet answered by the acquirer (${why}; ${v.attempts} sent) — the debit may stand until the acquirer answers STAN ${stan6(v.stan)}; the terminal keeps sending it`;
    case 'stuck':
      return `reversal STUCK after ${v.attempts} sends the acquirer did not confirm (${why}) — the cardholder may be debited until the acquirer answers STAN ${stan6(v.stan)}; a reversal slip was printed`;
    case 'closed':
      return `reversal closed by supervisor — not confirmed by the acquirer (supervisor's reason: ${v.closedReason}; ${why}) — the debit may stand for STAN ${stan6(v.stan)}`;
    default:
      return `reversal ${String(v.state)}`;
  }
}

/** What the cashier reads after a sale, void, refund, completion or balance inquiry. */
export function describeTxn(r: Record<string, unknown>): string {
  const again = r.replayed ? ' [the first answer to this request id; nothing new was sent]' : '';
  switch (r.kind) {
    case 'approved':
      if (r.txn === 'balance') return `APPROVED balance stan=${stan6(r.stan)} card=${r.maskedPan}${r.rrn ? ` rrn=${r.rrn}` : ''} balance=${typeof r.balance === 'number' ? formatMinor(r.balance) : r.replayed ? 'not kept in the journal (a new inquiry needs a new request id)' : 'not given by the acquirer'}${again}`;
      return `APPROVED ${r.txn} stan=${stan6(r.stan)} batch=${stan6(r.batch)} amount=${formatMinor(Number(r.amount))} card=${r.maskedPan} rrn=${r.rrn} receipt=${r.receipt}${r.receipt === 'pending' ? ' (prints when the printer is back; the sale stands)' : ''}${r.txn === 'preauth' ? ` — held, not yet debited: posj completion AMOUNT --stan ${r.stan} --batch ${r.batch}` : ''}${again}`;
    case 'declined':
      return `DECLINED ${r.txn} stan=${stan6(r.stan)} response=${describeResponseCode(String(r.responseCode))} — not debited${again}`;
    case 'reversed':
      return `FAILED ${r.txn} stan=${stan6(r.stan)}: ${r.detail}; ${describeReversal({ state: r.reversal, stan: r.stan, reason: r.reason, attempts: r.attempts, responseCode: r.reversalResponseCode, closedReason: r.closedReason })}${again}`;
    case 'not-sent':
      return `NOT SENT ${r.txn} stan=${stan6(r.stan)}: nothing reached the acquirer (${r.detail}) — not debited${again}`;
    case 'unknown':
      return `OUTCOME UNKNOWN ${r.txn} stan=${stan6(r.stan)}: ${r.detail} — do not charge the card again; ask with posj status${r.requestId !== undefined ? ` --request-id ${r.requestId}` : ` --stan ${r.stan}`} once the terminal is back${again}`;
    case 'refused':
      return `REFUSED ${r.txn}: ${r.reason} (${r.detail}) — nothing was sent`;
    default:
      return JSON.stringify(r);
  }
}

/** One transaction looked up (posj status --stan / --rrn / --request-id / --last). */
export function describeOneTxn(r: Record<string, unknown>): string {
  if (!r.found) return 'not found: no transaction with that key was started (nothing was authorized)';
  const head = `stan=${stan6(r.stan)} batch=${stan6(r.batch)} ${r.txn} ${formatMinor(Number(r.amount))} card=${r.maskedPan}${r.requestId !== undefined ? ` request-id=${r.requestId}` : ''}`;
  const rev = r.reversal as Record<string, unknown> | undefined;
  switch (r.state) {
    case 'approved': {
      const f = r.refunded as { amount: number; unconfirmed: number } | undefined;
      const refunds = !f ? '' : `, then refunded ${formatMinor(f.amount)}${f.amount >= Number(r.amount) ? ' (in full)' : ''}${f.unconfirmed > 0 ? ` (${formatMinor(f.unconfirmed)} of it not yet confirmed by the acquirer)` : ''}`;
      return `${head}: APPROVED rrn=${r.rrn} receipt=${r.receipt}${refunds}`;
    }
    case 'voided':
      return `${head}: APPROVED, then voided`;
    case 'declined':
      return `${head}: DECLINED response=${describeResponseCode(String(r.responseCode))} — not debited`;
    case 'not-sent':
      return `${head}: NOT SENT — not debited`;
    case 'in-flight':
      return `${head}: IN FLIGHT — decided when the terminal restarts (reversed unless approved)`;
    default:
      return `${head}: FAILED, ${rev ? describeReversal(rev) : String(r.state)}`;
  }
}

/** Exit status of a money operation: 0 approved, 1 failed and not debited, 5 failed or unknown with the debit possibly standing. */
export function txnExitCode(r: Record<string, unknown>): number {
  if (r.kind === 'approved') return ExitCode.ok;
  if (r.kind === 'unknown' || (r.kind === 'reversed' && r.reversal !== 'cleared')) return ExitCode.unsettled;
  return ExitCode.failed;
}

/** --date: the sale's MMDD (field 13), a day some year has (0229 included), checked before the card is read. */
function saleDateArg(value: string): string {
  const m = /^(\d\d)(\d\d)$/.exec(value);
  const days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 12 || Number(m[2]) < 1 || Number(m[2]) > days[Number(m[1]) - 1]!) {
    throw new InvalidArgumentError('MMDD, a day of the year (e.g. 0105 for 5 January)');
  }
  return value;
}

/** --request-id: the client's idempotency key, checked here so a bad one fails before the card is read. */
function requestIdArg(value: string): string {
  const problem = requestIdProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

const withRequestId = (o: { requestId?: string }) => (o.requestId !== undefined ? { requestId: o.requestId } : {});
const REQUEST_ID_HELP = 'idempotency key: the same id again returns the first outcome, never a second charge';

function slipLine(s: { printed: boolean; duplicate: boolean; reason?: string; mayBeOnPaper?: boolean } | undefined): string {
  if (!s) return '  settlement slip: not printed';
  if (s.printed) return `  settlement slip (结算单): printed${s.duplicate ? ' (重打印 / DUPLICATE)' : ''}`;
  return `  settlement slip (结算单): NOT printed (${s.reason}${s.mayBeOnPaper ? ', part of it may be on paper' : ''}): printed when the printer is ready${s.mayBeOnPaper ? ', marked 重打印 / DUPLICATE' : ''}; or posj reprint --settlement`;
}

export function describeSettlement(r: Record<string, unknown>): string {
  const rep = r.report as { byCardType: { domestic: { terminal: Record<string, number>; acquirer: Record<string, number> } } };
  const side = (s: Record<string, number>) => `debits ${s.debitCount} / ${formatMinor(s.debitAmount!)}  credits ${s.creditCount} / ${formatMinor(s.creditAmount!)}`;
  return [
    `SETTLED batch ${stan6(r.batch)} → next batch ${stan6(r.nextBatch)}: ${r.balanced ? 'BALANCED (对账平)' : `UNBALANCED (对账不平), ${r.uploaded} transactions uploaded`}`,
    `  terminal: ${side(rep.byCardType.domestic.terminal)}`,
    `  acquirer: ${side(rep.byCardType.domestic.acquirer)}`,
    slipLine(r.slip as { printed: boolean; duplicate: boolean; reason?: string; mayBeOnPaper?: boolean } | undefined),
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

/** The supervisor password from a no-echo prompt, stdin or a descriptor; --password only for tests. */
function withPassword(cmd: Command): Command {
  return cmd
    .option('--password-fd <n>', 'read the supervisor password from this file descriptor (scripts)', positiveIntOrZero)
    .option('--password <pw>', 'the password on the command line: visible in ps and shell history, avoid it');
}

function positiveIntOrZero(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('a file descriptor number');
  return Number(v);
}

const supervisorPassword = async (o: PasswordSource) => (await readPasswords(o, ['supervisor password: ']))[0]!;

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
      // The paths first: the log file is created beside the journal, so a wrong journalDir must be named as such.
      try {
        checkConfigFiles(config);
      } catch (e) {
        throw e instanceof ConfigError && o.config ? new ConfigError(e.key, e.reason, o.config) : e;
      }
      const logTarget = config.log ?? { file: defaultLogFile(config.journalDir), maxBytes: DEFAULT_LOG_BYTES, keep: DEFAULT_LOG_KEEP };
      const fileLog = await openFileLog(logTarget).catch((e: NodeJS.ErrnoException) => {
        throw new ConfigError('log.file', `${logTarget.file}: ${e.code ?? e.message}`, o.config);
      });
      // Deferred: a sale's log lines are built and written after its answer went out (deferred-log.ts).
      const log = deferredLog(teeLog(lineLog((line) => (logFile ? fs.appendFileSync(logFile, line) : process.stderr.write(line)), systemClock), fileLog), systemClock);
      const closeLogs = () => {
        log.flush();
        fileLog.close();
      };
      log.event('start', { version: FIRMWARE_VERSION, pid: process.pid, config: o.config ? path.resolve(o.config) : 'embedded default', terminalId: config.terminalId, journal: config.journalDir, socket: config.socketPath, logFile: `${logTarget.file}.N.log` });
      const exit = (code: number): never => {
        closeLogs();
        process.exit(code);
      };
      // Signals are caught from before the boot: one during boot stops the daemon as soon as it is up; a
      // second one, at any time, exits at once (the journal makes that safe). A session just exits.
      const signals: NodeJS.Signals[] = [];
      let wake: (() => void) | null = null;
      const onSignal = (sig: NodeJS.Signals) => {
        signals.push(sig);
        if (signals.length > 1 || o.session) {
          log.event('shutdown-forced', { signal: sig, detail: o.session ? 'session interrupted: exiting at once' : 'second signal: exiting at once' });
          exit(ExitCode.failed);
        }
        wake?.();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
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
          closeLogs();
        }
      }
      // A bench asked for a reboot over the service port: stop as for a signal, then exit 75 for posj boot.
      let reboot = false;
      void started.daemon.rebootRequested.then(() => {
        reboot = true;
        wake?.();
      });
      // A journal closed by a failed write or sync (DESIGN rule 8): stop and exit 74, so init restarts us and
      // the journal is reopened from disk.
      let journalFailed = false;
      void started.daemon.journalFailed.then(() => {
        journalFailed = true;
        wake?.();
      });
      if (signals.length === 0 && !reboot && !journalFailed) await new Promise<void>((resolve) => (wake = resolve));
      if (journalFailed) {
        await started.daemon.shutdown('journal-failed');
        closeLogs();
        return ExitCode.journalFailed;
      }
      const report = await started.daemon.shutdown(signals[0] ?? 'reboot');
      if (!report.graceful) exit(ExitCode.failed);
      closeLogs();
      return signals.length === 0 ? ExitCode.reboot : ExitCode.ok;
    }),
  );

  client(program.command('sale').description('消费: a sale of AMOUNT (yuan, e.g. 12.50)').argument('<amount>', 'amount', parseYuan).option('--request-id <id>', REQUEST_ID_HELP, requestIdArg)).action(
    action((amount: number, o: ClientOpts & { requestId?: string }) => call(o, { op: 'sale', amount, ...withRequestId(o) }, describeTxn, txnExitCode)),
  );

  client(program.command('preauth').description('预授权: hold AMOUNT (yuan) on the card; posj completion debits it, posj preauth-void releases it').argument('<amount>', 'amount', parseYuan).option('--request-id <id>', REQUEST_ID_HELP, requestIdArg)).action(
    action((amount: number, o: ClientOpts & { requestId?: string }) => call(o, { op: 'preauth', amount, ...withRequestId(o) }, describeTxn, txnExitCode)),
  );

  client(
    program
      .command('completion')
      .description('预授权完成: debit AMOUNT (yuan, up to the hold) of a pre-authorization; no card, no password')
      .argument('<amount>', 'amount', parseYuan)
      .requiredOption('--stan <n>', 'STAN of the pre-authorization', positiveInt)
      .option('--batch <n>', 'batch of the pre-authorization (default: the open batch)', positiveInt)
      .option('--request-id <id>', REQUEST_ID_HELP, requestIdArg),
  ).action(
    action((amount: number, o: ClientOpts & { stan: number; batch?: number; requestId?: string }) =>
      call(o, { op: 'completion', amount, stan: o.stan, ...(o.batch !== undefined ? { batch: o.batch } : {}), ...withRequestId(o) }, describeTxn, txnExitCode),
    ),
  );

  client(
    withPassword(
      program
        .command('preauth-void')
        .description('预授权撤销: release a pre-authorization\'s hold (asks for the supervisor password)')
        .requiredOption('--stan <n>', 'STAN of the pre-authorization', positiveInt)
        .option('--batch <n>', 'batch of the pre-authorization (default: the open batch)', positiveInt)
        .option('--request-id <id>', REQUEST_ID_HELP, requestIdArg),
    ),
  ).action(
    action(async (o: ClientOpts & PasswordSource & { stan: number; batch?: number; requestId?: string }) =>
      call(o, { op: 'preauth-void', stan: o.stan, ...(o.batch !== undefined ? { batch: o.batch } : {}), password: await supervisorPassword(o), ...withRequestId(o) }, describeTxn, txnExitCode),
    ),
  );

  client(program.command('balance').description('查询余额: the card\'s available balance (moves no money)').option('--request-id <id>', REQUEST_ID_HELP, requestIdArg)).action(
    action((o: ClientOpts & { requestId?: string }) => call(o, { op: 'balance', ...withRequestId(o) }, describeTxn, txnExitCode)),
  );

  client(
    withPassword(
      program
        .command('void')
        .description('撤销: void a sale of the open batch (asks for the supervisor password)')
        .requiredOption('--stan <n>', 'STAN of the sale', positiveInt)
        .option('--request-id <id>', REQUEST_ID_HELP, requestIdArg),
    ),
  ).action(
    action(async (o: ClientOpts & PasswordSource & { stan: number; requestId?: string }) => call(o, { op: 'void', stan: o.stan, password: await supervisorPassword(o), ...withRequestId(o) }, describeTxn, txnExitCode)),
  );

  client(
    withPassword(program
      .command('refund')
      .description('退货: refund up to AMOUNT of a sale from any batch (supervisor password)')
      .argument('<amount>', 'amount', parseYuan)
      .requiredOption('--rrn <rrn>', 'retrieval reference number of the sale')
      .requiredOption('--date <MMDD>', 'date of the sale', saleDateArg)
      .option('--request-id <id>', REQUEST_ID_HELP, requestIdArg)),
  ).action(
    action(async (amount: number, o: ClientOpts & PasswordSource & { rrn: string; date: string; requestId?: string }) =>
      call(o, { op: 'refund', amount, rrn: o.rrn, date: o.date, password: await supervisorPassword(o), ...withRequestId(o) }, describeTxn, txnExitCode),
    ),
  );

  client(program.command('settle').description('结算: settle the open batch with the acquirer')).action(
    action((o: ClientOpts) => call(o, { op: 'settle' }, describeSettlement)),
  );

  client(
    program
      .command('status')
      .description('the terminal (stan, batch, reversals, receipts, totals, devices), or one transaction: did it go through?')
      .option('--stan <n>', 'one transaction by STAN', positiveInt)
      .option('--rrn <rrn>', 'one transaction by RRN')
      .option('--request-id <id>', 'one transaction by the request id its client sent (heard nothing? ask this)', requestIdArg)
      .option('--last', 'the last transaction started'),
  ).action(
    action((o: ClientOpts & { stan?: number; rrn?: string; requestId?: string; last?: boolean }) => {
      const keys = ['stan', 'rrn', 'requestId', 'last'].filter((k) => o[k as keyof typeof o] !== undefined);
      // One key names one transaction: the daemon looks up only the first, so a second would be ignored in silence.
      if (keys.length > 1) throw Object.assign(new Error(`give one of --stan, --rrn, --request-id and --last, not ${keys.length}`), { code: 'USAGE' });
      const req: ControlRequest = { op: 'status', ...(o.stan !== undefined ? { stan: o.stan } : {}), ...(o.rrn !== undefined ? { rrn: o.rrn } : {}), ...withRequestId(o), ...(o.last ? { last: true } : {}) };
      const one = o.stan !== undefined || o.rrn !== undefined || o.requestId !== undefined || o.last === true;
      // A failed journal, or one found rolled back, is a failed terminal: exit 1, whatever else the status says.
      return call(o, req, one ? describeOneTxn : describeStatus, (r) => (one ? r.found === true : !r.journalFailure && !r.rollback));
    }),
  );

  const listReversals = (r: Record<string, unknown>) => {
    const list = r as unknown as Array<Record<string, unknown>>;
    return list.length === 0 ? 'no reversals owed' : list.map((v) => `stan=${stan6(v.stan)} ${v.txn} ${formatMinor(Number(v.amount))} ${v.maskedPan} reason=${v.reason} attempts=${v.attempts}${v.stuck ? ' STUCK' : ''}`).join('\n');
  };
  const stans = (v: unknown) => (v as number[]).map(stan6).join(' ') || 'none';
  client(program.command('reversals').description('冲正: reversals owed, with attempts and stuck ones; --send sends them now').option('--send', 'send every owed reversal now (exit 1 while any stays owed or stuck)')).action(
    action((o: ClientOpts & { send?: boolean }) =>
      o.send
        ? call(o, { op: 'send-reversals' }, (r) => `reversals sent: cleared ${stans(r.cleared)}; stuck ${stans(r.stuck)}; still owed ${stans(r.owed)}`, (r) => (r.owed as unknown[]).length === 0 && (r.stuck as unknown[]).length === 0)
        : call(o, { op: 'reversals' }, listReversals),
    ),
  );

  client(
    program
      .command('reprint')
      .description('重打印: reprint the last slip, one by STAN, or the last settlement slip (结算单), marked duplicate')
      .option('--stan <n>', 'STAN', positiveInt)
      .addOption(new Option('--settlement', 'the last settlement slip').conflicts('stan')),
  ).action(
    action((o: ClientOpts & { stan?: number; settlement?: boolean }) =>
      call(o, { op: 'reprint', ...(o.stan !== undefined ? { stan: o.stan } : {}), ...(o.settlement ? { settlement: true } : {}) }, (r) => `${r.kind}${r.stan !== undefined ? ` stan=${stan6(r.stan)}` : ''}${r.voidedBy !== undefined ? ` (已撤销 / VOIDED by the void stan=${stan6(r.voidedBy)})` : ''}${r.batch !== undefined ? ` settlement slip of batch ${stan6(r.batch)} (重打印 / DUPLICATE)` : ''}${r.reason ? `: ${r.reason}` : ''}${r.detail ? `: ${r.detail}` : ''}`, (r) => r.kind === 'printed'),
    ),
  );

  const supervisor = program.command('supervisor').description('the supervisor password and what needs it');
  client(
    withPassword(supervisor.command('set').description('set the supervisor password (first run), or change it with --change (asks for the current one first)'))
      .option('--change', 'change an existing password: the current one is asked for (or read) first')
      .option('--current <pw>', 'the current password on the command line: visible in ps, avoid it'),
  ).action(
    action(async (o: ClientOpts & PasswordSource & { change?: boolean; current?: string }) => {
      let current = o.current;
      let password = o.password;
      if (o.change && current === undefined) [current, password] = await readPasswords({ ...(o.passwordFd !== undefined ? { passwordFd: o.passwordFd } : {}) }, ['current supervisor password: ', 'new supervisor password: ']);
      if (password === undefined) password = (await readPasswords(o, ['new supervisor password: ']))[0]!;
      return call(o, { op: 'supervisor-set', password, ...(current !== undefined ? { current } : {}) }, () => 'supervisor password set');
    }),
  );
  client(
    withPassword(supervisor
      .command('close-reversal')
      .description('take a stuck reversal out of the open set, with the password and a recorded reason')
      .requiredOption('--stan <n>', 'STAN of the stuck reversal', positiveInt)
      .requiredOption('--reason <text>', 'why (recorded in the journal)')),
  ).action(action(async (o: ClientOpts & PasswordSource & { stan: number; reason: string }) => call(o, { op: 'close-reversal', stan: o.stan, password: await supervisorPassword(o), reason: o.reason }, (r) => `${r.closed ? 'closed' : 'NOT closed'}: ${r.detail}`, (r) => r.closed === true)));
  client(
    withPassword(supervisor
      .command('ack-rollback')
      .description('end the rollback alarm (journal behind the acquirer) once the acquirer\'s ledger is checked, with a recorded reason')
      .requiredOption('--reason <text>', 'what was checked (recorded in the journal)')),
  ).action(action(async (o: ClientOpts & PasswordSource & { reason: string }) => call(o, { op: 'acknowledge-rollback', password: await supervisorPassword(o), reason: o.reason }, (r) => `${r.acknowledged ? 'acknowledged' : 'NOT acknowledged'}: ${r.detail}`, (r) => r.acknowledged === true)));
}
