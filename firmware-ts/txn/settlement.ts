// Settlement (结算): the 0500 with the open batch's totals; balanced → batch end; unbalanced → upload every
// approved transaction of the batch (0320) and then the batch end. Each message is written ahead with its
// STAN and confirmed by the next record (settlement-records.ts), so a power cut anywhere resumes with the
// message that was in flight; the batch number moves (settlement.done) only after the acquirer confirmed
// the batch end.
import type { AcquirerLink } from '../acquirer/link.js';
import { AcquirerLinkError } from '../acquirer/exchange-result.js';
import type { Clock } from '../../protocol/io/clock.js';
import type { Storage } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { readRecordsFrom } from '../journal/record-reader.js';
import { RecordTypes } from '../journal/record-types.js';
import {
  batchEndRequest,
  batchUploadRequest,
  KINDS,
  parseField48Totals,
  settlementRequest,
  textField,
  type BatchTotals as WireTotals,
  type IsoMessage,
  type TerminalIdentity,
} from '../../protocol/iso8583/index.js';
import { TerminalRecord, type AuthIntent, type AuthOutcome, type SettlementDone } from './records.js';
import { reconciliation, terminalSide, type ReconciliationReport } from './settlement-reconciliation.js';
import type { SettlementRun, SettlementStepRecord, TotalsSide } from './settlement-records.js';
import type { TerminalJournal } from './terminal-journal.js';

export const MAX_STAN = 999_999;
export const MAX_BATCH = 999_999;

/** The STAN after `stan` (1..999999, wrapping past 999999 to 1). */
export const nextStan = (stan: number): number => (stan >= MAX_STAN ? 1 : stan + 1);
const nextBatch = (batch: number): number => (batch >= MAX_BATCH ? 1 : batch + 1);
const six = (n: number) => String(n).padStart(6, '0');
const twelve = (n: number) => String(n).padStart(12, '0');

export type SettlementErrorCode = 'SETTLEMENT_REVERSALS_OWED' | 'SETTLEMENT_IN_FLIGHT' | 'SETTLEMENT_NOT_SIGNED_ON' | 'SETTLEMENT_NO_ANSWER' | 'SETTLEMENT_DECLINED';

/** Settlement stopped; what was confirmed stays journaled and the next `settle()` resumes from there. */
export class SettlementError extends Error {
  constructor(
    readonly code: SettlementErrorCode,
    message: string,
    readonly step?: SettlementRun['step'],
  ) {
    super(message);
    this.name = 'SettlementError';
  }
}

export interface SettlementOptions {
  journal: TerminalJournal;
  /** Signed on: settlement messages carry a MAC. */
  link: AcquirerLink;
  clock: Clock;
  identity: TerminalIdentity;
  /** Where the journal's segments are read back from for the upload; the journal's own storage. */
  storage?: Storage;
}

export interface SettlementResult {
  batch: number;
  nextBatch: number;
  balanced: boolean;
  uploaded: number;
  report: ReconciliationReport;
}

/** One transaction of the batch as the upload needs it, read back from its intent and outcome records. */
interface UploadEntry {
  stan: number;
  kind: AuthIntent['kind'];
  amount: number;
  batch: number;
  rrn: string;
  authCode?: string;
  voided: boolean;
}

const toWire = (t: TotalsSide): WireTotals => ({ debitAmount: BigInt(t.debitAmount), debitCount: t.debitCount, creditAmount: BigInt(t.creditAmount), creditCount: t.creditCount });
const fromWire = (t: WireTotals): TotalsSide => ({ debitAmount: Number(t.debitAmount), debitCount: t.debitCount, creditAmount: Number(t.creditAmount), creditCount: t.creditCount });

export class Settlement {
  private readonly storage: Storage;
  private readonly types = new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);

  constructor(private readonly opts: SettlementOptions) {
    this.storage = opts.storage ?? nodeStorage;
  }

  /** The settlement under way (after a power cut or a lost answer), or null. */
  get pending(): SettlementRun | null {
    return this.opts.journal.state.settlementRun;
  }

  /** Runs (or resumes) settlement of the open batch to the end. Throws SettlementError, leaving progress journaled. */
  async settle(): Promise<SettlementResult> {
    const s = this.opts.journal.state;
    if (Object.keys(s.reversals).length > 0) {
      throw new SettlementError('SETTLEMENT_REVERSALS_OWED', `reversals owed for STAN ${Object.keys(s.reversals).join(', ')}: the acquirer's totals are not final until they clear (or a supervisor closes them)`);
    }
    if (Object.keys(s.inFlight).length > 0) throw new SettlementError('SETTLEMENT_IN_FLIGHT', 'an authorization is in flight: settle after it ends');
    const entries = this.batchEntries();
    let run = this.pending ?? (await this.start(entries));
    if (run.step === 'started') run = await this.sendTotals(run);
    if (run.balanced === false) run = await this.upload(run, entries);
    if (run.step !== 'batch-end') run = await this.writeAhead({ step: 'batch-end', batch: run.batch, stan: nextStan(s.stan), records: run.uploaded.length + (run.uploading !== null ? 1 : 0), at: this.iso() });
    await this.exchange(batchEndRequest(this.opts.identity, six(run.stan), six(run.batch), run.uploaded.length), 'batch-end');
    const done: SettlementDone = { batch: run.batch, balanced: run.balanced === true, nextBatch: nextBatch(run.batch), at: this.iso() };
    const acquirer = run.acquirer ?? run.terminal;
    const report = reconciliation(run.batch, done.balanced, run.terminal, acquirer, run.uploaded.length);
    await this.opts.journal.append([{ type: TerminalRecord.settlementDone.name, payload: done }], { durable: true });
    return { batch: done.batch, nextBatch: done.nextBatch, balanced: done.balanced, uploaded: report.uploaded, report };
  }

  private async start(entries: UploadEntry[]): Promise<SettlementRun> {
    const s = this.opts.journal.state;
    return this.writeAhead({ step: 'started', batch: s.batch, stan: nextStan(s.stan), terminal: terminalSide(entries), at: this.iso() });
  }

  private async sendTotals(run: SettlementRun): Promise<SettlementRun> {
    const res = await this.exchange(settlementRequest(this.opts.identity, six(run.stan), six(run.batch), toWire(run.terminal)), 'started');
    const { totals, result } = parseField48Totals(res);
    if (result !== '1' && result !== '2') throw new SettlementError('SETTLEMENT_DECLINED', `the acquirer answered settlement result ${result} (error)`, 'started');
    const balanced = result === '1';
    return this.record({ step: 'totals-sent', batch: run.batch, balanced, acquirer: balanced ? run.terminal : fromWire(totals), at: this.iso() });
  }

  /** Uploads every approved transaction of the batch not yet confirmed, oldest STAN first, one at a time. */
  private async upload(run: SettlementRun, entries: UploadEntry[]): Promise<SettlementRun> {
    const byStan = new Map(entries.map((e) => [e.stan, e]));
    if (run.uploading !== null) await this.sendUpload(run, byStan.get(run.uploading));
    for (const e of entries) {
      if (run.uploaded.includes(e.stan) || run.uploading === e.stan) continue;
      run = await this.writeAhead({ step: 'upload', batch: run.batch, stan: nextStan(this.opts.journal.state.stan), entryStan: e.stan, at: this.iso() });
      await this.sendUpload(run, e);
    }
    return run;
  }

  private async sendUpload(run: SettlementRun, e: UploadEntry | undefined): Promise<void> {
    // An entry that left the batch since it was written ahead (it cannot: nothing else runs during settlement).
    if (!e) return;
    await this.exchange(
      batchUploadRequest(this.opts.identity, six(run.stan), six(run.batch), {
        processingCode: KINDS[e.kind].processingCode,
        amount: twelve(e.amount),
        rrn: e.rrn,
        ...(e.authCode ? { authCode: e.authCode } : {}),
        original: { batch: six(e.batch), stan: six(e.stan) },
      }),
      'upload',
    );
  }

  /** A step that sends a message: its record carries the message's STAN, which the fold takes as allocated. */
  private async writeAhead(p: SettlementStepRecord & { stan: number }): Promise<SettlementRun> {
    return this.record(p);
  }

  private async record(p: SettlementStepRecord): Promise<SettlementRun> {
    await this.opts.journal.append([{ type: TerminalRecord.settlementStep.name, payload: p }], { durable: true });
    return this.pending!;
  }

  private async exchange(req: IsoMessage, step: SettlementRun['step']): Promise<IsoMessage> {
    let res;
    try {
      res = await this.opts.link.exchange(req);
    } catch (e) {
      if (e instanceof AcquirerLinkError && e.reason === 'no-mac-key') throw new SettlementError('SETTLEMENT_NOT_SIGNED_ON', 'not signed on: settlement messages need the MAC key', step);
      throw e;
    }
    if (res.kind !== 'response') {
      const detail = res.kind === 'timeout' ? 'no answer in time' : res.kind === 'mac-failed' ? 'the answer failed its MAC' : res.detail;
      throw new SettlementError('SETTLEMENT_NO_ANSWER', `${req.mti} (${step}): ${detail}; settle again to resume`, step);
    }
    const code = textField(res.message, 39);
    if (code !== '00') throw new SettlementError('SETTLEMENT_DECLINED', `${req.mti} (${step}) answered ${code ?? 'without a response code'}`, step);
    return res.message;
  }

  /**
   * The open batch's approved, unreversed transactions (the fold's batchEntries), each with the RRN and
   * original it needs, read back from the journal from the batch's first record.
   */
  private batchEntries(): UploadEntry[] {
    const s = this.opts.journal.state;
    const stans = new Set(Object.keys(s.batchEntries).map(Number));
    if (stans.size === 0 || s.batchStartSeq === null) return [];
    const intents = new Map<number, AuthIntent>();
    const outcomes = new Map<number, AuthOutcome>();
    for (const r of readRecordsFrom({ journal: this.opts.journal, storage: this.storage, types: this.types }, s.batchStartSeq)) {
      if (r.type === TerminalRecord.authIntent.name) {
        const p = r.payload as AuthIntent;
        if (stans.has(p.stan)) intents.set(p.stan, p);
      } else if (r.type === TerminalRecord.authOutcome.name) {
        const p = r.payload as AuthOutcome;
        if (stans.has(p.stan)) outcomes.set(p.stan, p);
      }
    }
    const voided = new Set<number>();
    for (const i of intents.values()) if (i.kind === 'void' && i.original?.stan !== undefined) voided.add(i.original.stan);
    const entries: UploadEntry[] = [];
    for (const stan of [...stans].sort((a, b) => a - b)) {
      const i = intents.get(stan);
      const o = outcomes.get(stan);
      if (!i || !o || i.kind === 'balance' || i.kind === 'preauth') continue;
      entries.push({ stan, kind: i.kind, amount: i.amount, batch: i.batch, rrn: o.rrn ?? '', voided: voided.has(stan), ...(o.authCode ? { authCode: o.authCode } : {}) });
    }
    return entries;
  }

  private iso(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }
}
