// What each scenario step does on a bench, and what it records: the cashier's answer (and the ToldCashier
// entry invariant 8 judges), the STAN and batch a label names, and the judgements of `expect:` and check
// steps with the journal and ledger lines they read.
import * as fs from 'node:fs';
import { describeSettlement, describeTxn } from '../../firmware-ts/cli/terminal-commands.js';
import type { ControlRequest } from '../../firmware-ts/daemon/control-protocol.js';
import type { ToldCashier } from '../../firmware-ts/txn/money-invariants.js';
import { TerminalRecord, type AuthIntent } from '../../firmware-ts/txn/records.js';
import { formatMinor } from '../../firmware-ts/receipts/money.js';
import { judgeFields, judgeInvariants, judgeJournal, judgeLedger, judgeReceipts, txnEvidence, ledgerLine, type Judgement } from './bench-checks.js';
import type { Scenario, Step } from './scenario.js';
import type { Bench } from './sim-bench.js';
import { debitOnlyTheAcquirerSaw, injectedSeqs } from './acquirer-debit.js';
import { runFlashStep } from './flash-step.js';

export interface StepResult {
  line: number;
  /** The scenario's own words for the step, when it gave some (the narration's heading). */
  title?: string;
  what: string;
  /** What the cashier (or the field engineer) was told, in the CLI's words. */
  said?: string;
  judgements: Judgement[];
  /** The step itself could not be carried out. */
  error?: string;
  evidence: string[];
  ok: boolean;
  ms: number;
}

export interface Labelled {
  stan: number;
  batch: number;
  amount: number;
  rrn?: string;
}

export interface RunContext {
  bench: Bench;
  scenario: Scenario;
  labels: Map<string, Labelled>;
  /** Everything the cashier was told in this run (invariant 8 judges it at every check). */
  told: ToldCashier[];
  /** Receipts already torn off when the scenario started: receipt checks count from here. */
  receiptsFrom: number;
  /** Makes request ids unique per run, so a bench reused (npm start's ./var) never replays an earlier answer. */
  nonce: string;
  /** Judgements that need the journal of a terminal whose power is off: made at the next power restore. */
  afterRestore: Array<() => Promise<Judgement>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pad6 = (n: number) => String(n).padStart(6, '0');

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined, stepMs = 20): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** What the cashier heard from one answer (money-invariants.ts ToldCashier). */
function heard(r: Record<string, unknown>, requestId: string): ToldCashier {
  const said = r.kind === 'approved' ? 'approved' : r.kind === 'unknown' ? 'unknown' : 'failed';
  return { said, requestId, ...(typeof r.batch === 'number' && typeof r.stan === 'number' ? { batch: r.batch, stan: r.stan } : {}) };
}

function describe(step: Step): string {
  switch (step.do) {
    case 'sale':
      return `sale ${formatMinor(step.amount)}${step.cut ? `, power cut ${step.cut}` : ''}`;
    case 'void':
      return `void (撤销) of ${step.of} with the supervisor password`;
    case 'refund':
      return `refund (退货) of ${step.of}${step.amount ? ` ${formatMinor(step.amount)}` : ''}`;
    case 'settle':
      return 'settlement (结算)';
    case 'reprint':
      return `reprint (重打印) of ${step.of}`;
    case 'supervisor-password':
      return 'supervisor password';
    case 'power-cut':
      return 'power cut';
    case 'power-restore':
      return 'power restored';
    case 'network':
      return `network ${step.action.kind === 'delay' ? `delay ${step.action.ms} ms` : step.action.kind}`;
    case 'acquirer':
      return `acquirer rules ${JSON.stringify(step.rules)}`;
    case 'reader':
    case 'printer':
      return `${step.do} ${step.action.kind === 'control' ? [...new Set(step.action.lines)].join(', ') + (step.action.lines.length > 1 ? ` (×${step.action.lines.length})` : '') : step.action.kind}`;
    case 'card':
      return `card ${step.name} presented`;
    case 'wait':
      return step.until ? `wait until ${step.until}` : `wait ${step.ms} ms`;
    case 'acquirer-debit':
      return `a debit of ${formatMinor(step.amount)} only the acquirer saw (the bench sends it under the terminal's ID)`;
    case 'flash': {
      const b = step.bundle;
      const what = b.source === 'build' ? `this checkout's build${b.version ? ` re-signed as version ${b.version}` : ''}${b.signedBy ? ' signed by a key the terminal does not trust' : ''}` : `bundle ${b.source.dir}`;
      return `flash ${what} over the service port${step.cut ? ', power cut mid-upload' : step.refused ? `, must be refused (${step.refused})` : ''}`;
    }
    case 'tamper-ledger':
      return `PLANTED FAULT: delete the acquirer's reversal of ${step.deleteReversalOf} from its ledger`;
    case 'check':
      return `check ${Object.keys(step.checks).join(', ')}`;
  }
}

function label(ctx: RunContext, name: string): Labelled {
  const l = ctx.labels.get(name);
  if (!l) throw new Error(`"${name}" names no transaction: its step did not reach the acquirer`);
  return l;
}

async function call(ctx: RunContext, req: ControlRequest): Promise<Record<string, unknown>> {
  const res = await ctx.bench.terminal.call(req, 90_000);
  if (!res.ok) throw new Error(`${req.op}: ${res.error.code}: ${res.error.message}`);
  return res.result as Record<string, unknown>;
}

async function intentOf(ctx: RunContext, requestId: string): Promise<AuthIntent | undefined> {
  return (await ctx.bench.terminal.records()).find((r) => r.type === TerminalRecord.authIntent.name && (r.payload as AuthIntent).requestId === requestId)?.payload as AuthIntent | undefined;
}

/** A sale the power relay cuts: once its intent is durable, or once the acquirer's ledger holds its debit. */
async function cutSale(ctx: RunContext, step: Step & { do: 'sale' }, requestId: string, out: StepResult): Promise<void> {
  const t = ctx.bench.terminal;
  const ledgerBefore = ctx.bench.acquirer.ledger().length;
  const answer = t.call({ op: 'sale', amount: step.amount, requestId }, 60_000).catch((e: Error) => e);
  let intent: { stan: number; batch: number };
  if (step.cut === 'after-debit') {
    // The ledger is the bench's own file: watching it cuts within milliseconds of the debit, well before the
    // terminal gives up on the reply (the scenario makes the acquirer answer slowly).
    const debit = await until(`the acquirer's debit of ${formatMinor(step.amount)}`, 15_000, () =>
      ctx.bench.acquirer
        .ledger()
        .slice(ledgerBefore)
        .find((e) => e.kind === 'authorization' && (e as { terminalId?: string }).terminalId === t.terminalId && Number((e as { amount?: string }).amount) === step.amount),
    ) as { stan: string; batch: string };
    intent = { stan: Number(debit.stan), batch: Number(debit.batch) };
  } else {
    const i = await until('the sale intent in the journal', 15_000, () => intentOf(ctx, requestId));
    intent = { stan: i.stan, batch: i.batch };
  }
  await t.powerCut();
  await answer;
  ctx.labels.set(step.as ?? `line-${step.line}`, { stan: intent.stan, batch: intent.batch, amount: step.amount });
  out.said = `nothing: the terminal lost power with STAN ${pad6(intent.stan)} in flight`;
  // The cut must have landed before the outcome, or the step did not test what it says. A boot never writes
  // an outcome for an intent it finds open (it owes a reversal instead), so this can wait for the power.
  const judge = async (): Promise<Judgement> => {
    const records = await t.records();
    const outcome = records.find((r) => r.type === TerminalRecord.authOutcome.name && (r.payload as { stan: number }).stan === intent.stan);
    return {
      what: `power cut ${step.cut} (line ${step.line})`,
      ok: outcome === undefined,
      detail: outcome ? `the outcome of STAN ${pad6(intent.stan)} was already durable: the cut came too late` : `intent of STAN ${pad6(intent.stan)} durable, no outcome`,
      evidence: outcome ? txnEvidence(records, ctx.bench.acquirer.ledger(), t.terminalId, intent.batch, intent.stan) : [],
    };
  };
  if (t.readableWhileOff) out.judgements.push(await judge());
  else ctx.afterRestore.push(judge);
}

/** A money answer: what the cashier heard, the label, and the `expect:` judgement with its evidence. */
async function answered(ctx: RunContext, step: Step, requestId: string, r: Record<string, unknown>, out: StepResult): Promise<void> {
  ctx.told.push(heard(r, requestId));
  out.said = describeTxn(r);
  if (step.as && typeof r.stan === 'number' && typeof r.batch === 'number') {
    ctx.labels.set(step.as, { stan: r.stan, batch: r.batch, amount: Number(r.amount ?? 0), ...(typeof r.rrn === 'string' ? { rrn: r.rrn } : {}) });
  }
  if (!step.expect) return;
  const j = judgeFields('the cashier was told', r, step.expect);
  if (!j.ok && typeof r.stan === 'number') j.evidence.push(...txnEvidence(await ctx.bench.terminal.records(), ctx.bench.acquirer.ledger(), ctx.bench.terminal.terminalId, r.batch as number | undefined, r.stan));
  out.judgements.push(j);
}

function requestIdFor(ctx: RunContext, step: Step): string {
  return `${ctx.nonce}-${ctx.scenario.name.slice(0, 40)}-${step.line}`;
}

/** MMDD of the original transaction, as a refund names it (from the terminal's own record of it). */
async function originalDate(ctx: RunContext, stan: number): Promise<string> {
  const s = await call(ctx, { op: 'status', stan });
  const at = new Date(String(s.at));
  return `${String(at.getMonth() + 1).padStart(2, '0')}${String(at.getDate()).padStart(2, '0')}`;
}

async function run(ctx: RunContext, step: Step, out: StepResult): Promise<void> {
  const b = ctx.bench;
  const t = b.terminal;
  const requestId = requestIdFor(ctx, step);
  switch (step.do) {
    case 'sale':
      if (step.cut) return cutSale(ctx, step, requestId, out);
      return answered(ctx, step, requestId, await call(ctx, { op: 'sale', amount: step.amount, requestId }), out);
    case 'void':
      return answered(ctx, step, requestId, await call(ctx, { op: 'void', stan: label(ctx, step.of).stan, password: step.password, requestId }), out);
    case 'refund': {
      const of = label(ctx, step.of);
      if (!of.rrn) throw new Error(`${step.of} has no RRN to refund (it was not approved)`);
      const r = await call(ctx, { op: 'refund', rrn: of.rrn, date: await originalDate(ctx, of.stan), amount: step.amount ?? of.amount, password: step.password, requestId });
      return answered(ctx, step, requestId, r, out);
    }
    case 'settle': {
      const r = await call(ctx, { op: 'settle' });
      out.said = describeSettlement(r);
      if (step.expect) out.judgements.push(judgeFields('settlement', r, step.expect));
      return;
    }
    case 'reprint': {
      const req: ControlRequest = step.of === 'last' ? { op: 'reprint' } : step.of === 'settlement' ? { op: 'reprint', settlement: true } : { op: 'reprint', stan: label(ctx, step.of).stan };
      const r = await call(ctx, req);
      out.said = `reprint: ${r.kind}${r.reason ? ` (${r.reason})` : ''}`;
      if (step.expect) out.judgements.push(judgeFields('reprint', r, step.expect));
      return;
    }
    case 'supervisor-password': {
      const s = await call(ctx, { op: 'status' });
      if ((s.supervisor as { set?: boolean } | undefined)?.set) {
        out.said = 'already set (the journal carries on)';
        return;
      }
      await call(ctx, { op: 'supervisor-set', password: step.password });
      out.said = 'set (a salted scrypt hash in the journal)';
      return;
    }
    case 'power-cut':
      await t.powerCut();
      out.said = 'the terminal is off';
      return;
    case 'power-restore': {
      await t.powerRestore();
      out.said = `booted: ${t.boots.at(-1)?.detail ?? ''}`;
      for (const judge of ctx.afterRestore.splice(0)) out.judgements.push(await judge());
      return;
    }
    case 'network':
      return b.gate.apply(step.action);
    case 'acquirer':
      return b.acquirer.rules(step.rules);
    case 'reader':
      return b.reader.apply(step.action);
    case 'printer':
      return b.printer.apply(step.action);
    case 'card':
      return b.reader.apply({ kind: 'control', lines: [`card ${step.name}`] });
    case 'wait': {
      if (step.ms !== undefined) {
        await sleep(step.ms);
        return;
      }
      const fields = step.until === 'receipts-printed' ? ['pendingReceipts'] : ['pendingReversals', 'stuckReversals'];
      const s = await until(`${fields.join(' and ')} to empty`, step.timeoutMs, async () => {
        const st = await call(ctx, { op: 'status' });
        return fields.every((f) => (st[f] as unknown[]).length === 0) ? st : undefined;
      }, 100);
      out.said = fields.map((f) => `${f}: ${JSON.stringify(s[f])}`).join(', ');
      return;
    }
    case 'acquirer-debit': {
      const st = await call(ctx, { op: 'status' });
      const e = await debitOnlyTheAcquirerSaw({ port: b.acquirer.port, ledgerFile: b.acquirer.ledgerFile, ledger: () => b.acquirer.ledger(), terminalId: t.terminalId, batch: Number(st.batch), amount: step.amount });
      out.said = `the acquirer holds ledger seq ${e.seq} (STAN ${(e as { stan?: string }).stan}, batch ${(e as { batch?: string }).batch}); the journal knows nothing of it, and the money checks leave it out as the bench's own`;
      return;
    }
    case 'tamper-ledger': {
      const of = label(ctx, step.deleteReversalOf);
      const file = b.acquirer.ledgerFile;
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      const isIt = (l: string) => {
        if (!l.trim()) return false;
        const e = JSON.parse(l) as { kind?: string; terminalId?: string; batch?: string; stan?: string };
        return e.kind === 'reversal' && e.terminalId === t.terminalId && e.batch === pad6(of.batch) && e.stan === pad6(of.stan);
      };
      const gone = lines.filter(isIt);
      fs.writeFileSync(file, lines.filter((l) => !isIt(l)).join('\n'));
      out.said = `removed ${gone.length} ledger line(s) from ${file}`;
      out.evidence.push(...gone.map((l) => `removed: ${l}`));
      return;
    }
    case 'flash':
      return runFlashStep(ctx, step, out);
    case 'check':
      return check(ctx, step, out);
  }
}

async function check(ctx: RunContext, step: Step & { do: 'check' }, out: StepResult): Promise<void> {
  const c = step.checks;
  const b = ctx.bench;
  const t = b.terminal;
  const records = await t.records();
  const ledger = b.acquirer.ledger();
  if (c.invariants) out.judgements.push(...judgeInvariants(c.invariants, { records, ledger, injected: injectedSeqs(b.acquirer.ledgerFile), terminalId: t.terminalId, told: ctx.told, boots: t.boots, journalDir: t.journalDir }));
  if (c.journalClean) out.judgements.push(judgeJournal(await t.verify()));
  if (c.receipts) out.judgements.push(judgeReceipts(c.receipts, b.printer.receiptsSeen().slice(ctx.receiptsFrom)));
  if (c.status) out.judgements.push(judgeFields('status', await call(ctx, { op: 'status' }), c.status));
  if (c.lookup) {
    const of = label(ctx, c.lookup.of);
    const j = judgeFields(`lookup of ${c.lookup.of} (posj status --stan ${of.stan})`, await call(ctx, { op: 'status', stan: of.stan }), c.lookup.fields);
    if (!j.ok) j.evidence.push(...txnEvidence(records, ledger, t.terminalId, of.batch, of.stan));
    out.judgements.push(j);
  }
  if (c.ledger) {
    const of = label(ctx, c.ledger.of);
    out.judgements.push(judgeLedger(c.ledger.of, c.ledger.live, ledger, records, t.terminalId, of.batch, of.stan));
  }
  if (out.judgements.some((j) => !j.ok) && ledger.length > 0) out.evidence.push(`last ledger line: ${ledgerLine(ledger.at(-1)!)}`);
}

export async function runStep(ctx: RunContext, step: Step): Promise<StepResult> {
  const out: StepResult = { line: step.line, ...(step.title ? { title: step.title } : {}), what: describe(step), judgements: [], evidence: [], ok: true, ms: 0 };
  const t0 = Date.now();
  try {
    await run(ctx, step, out);
  } catch (e) {
    out.error = (e as Error).message;
  }
  out.ms = Date.now() - t0;
  out.ok = out.error === undefined && out.judgements.every((j) => j.ok);
  return out;
}
