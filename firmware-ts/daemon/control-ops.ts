// What each control API request does. Requests and answers are JSON; amounts are integer fen. The same
// requests are what the CLI clients (`posj sale`, `posj status`, ...) send.
import type { Clock } from '../../protocol/io/clock.js';
import type { TerminalEngineApi } from '../txn/engine-api.js';
import { requestIdProblem } from '../txn/request-id.js';
import { Settlement, SettlementError } from '../txn/settlement.js';
import { settlementReceipt } from '../txn/settlement-reconciliation.js';
import type { Supervisor } from '../txn/supervisor.js';
import type { TerminalJournal } from '../txn/terminal-journal.js';
import { localTime } from '../txn/txn-receipts.js';
import type { TerminalConfig } from './config.js';
import { ControlRequestError, intField, strField, type ControlRequest } from './control-protocol.js';
import type { DaemonLog, LogFields } from './daemon-log.js';
import { formatMinor } from '../receipts/money.js';
import type { DaemonDevices } from './devices.js';
import type { OperationQueue } from './operation-queue.js';
import type { LinkWatch } from './link-watch.js';
import type { SettlementSlips } from './settlement-slip.js';

/** The supervisor as the control API uses it: its state for status, and setting the password. */
export type SupervisorControl = Pick<Supervisor, 'status' | 'setPassword'>;

/** What the operations read of the config: who the terminal is (slips) and how long a sale waits for a card. */
export type ControlConfig = Pick<TerminalConfig, 'terminalId' | 'merchantId' | 'merchantName'> & { timeouts: Pick<TerminalConfig['timeouts'], 'cardMs'> };

/**
 * What the control operations run on: the terminal built in terminal/build-terminal.ts (buildControl) and
 * what its host supplies — the daemon its real devices and config, the simulator its simulated ones.
 */
export interface ControlParts {
  journal: TerminalJournal;
  engine: TerminalEngineApi;
  supervisor: SupervisorControl;
  settlement: Settlement;
  devices: Pick<DaemonDevices, 'health'>;
  config: ControlConfig;
  log: DaemonLog;
  clock: Clock;
  /** Money operations, one at a time; read-only ops report what it is running. */
  queue: OperationQueue;
  linkWatch: LinkWatch;
  slips: SettlementSlips;
}

/** The daemon's parts: the service port also reads the firmware and service port config. */
export interface DaemonParts extends ControlParts {
  supervisor: Supervisor;
  devices: DaemonDevices;
  config: TerminalConfig;
}

/** Largest amount one request may carry: 9,999,999.99 CNY, under field 4's twelve digits. */
export const MAX_AMOUNT = 999_999_999;

export const CONTROL_OPS = ['ping', 'status', 'health', 'sale', 'preauth', 'completion', 'preauth-void', 'balance', 'void', 'refund', 'settle', 'reversals', 'send-reversals', 'reprint', 'sign-on', 'supervisor-set', 'close-reversal', 'acknowledge-rollback'] as const;

/** A STAN as the control API takes it (field 11, six digits, never 0). */
const stanField = (req: ControlRequest) => intField(req, 'stan', 1, 999_999);

/** The batch an original lives in (field 60.2, six digits); absent: the open batch. */
function batchOf(req: ControlRequest): { batch?: number } {
  return req.batch === undefined ? {} : { batch: intField(req, 'batch', 1, 999_999) };
}

/** The client's optional idempotency key (txn/request-id.ts). */
function requestIdOf(req: ControlRequest): { requestId?: string } {
  if (req.requestId === undefined) return {};
  const id = strField(req, 'requestId');
  const problem = requestIdProblem(id);
  if (problem) throw new ControlRequestError('BAD_REQUEST', `"requestId": ${problem}`);
  return { requestId: id };
}

/** A new transaction would land in a batch whose settlement is half done: finish it first. A repeated request id only reads its first outcome. */
function refuseDuringSettlement(p: ControlParts, id: { requestId?: string } = {}): void {
  const run = p.settlement.pending;
  // The request-id lookup only when it matters: it is a search of the open batch, on every sale.
  if (!run || (id.requestId !== undefined && p.engine.status({ requestId: id.requestId }).found)) return;
  throw new SettlementError('SETTLEMENT_IN_FLIGHT', `settlement of batch ${run.batch} stopped at "${run.step}": run posj settle to finish it first`, run.step);
}

/** Operations that only read the journal's folded state and the devices' health. */
export const READ_ONLY_OPS: ReadonlySet<string> = new Set(['ping', 'status', 'reversals', 'health']);

/**
 * One parsed request as the control socket, the service port and the simulator run it: read-only ops at
 * once, money operations in turn through the queue. Errors are thrown as the operation raised them.
 */
export function runControlRequest(p: ControlParts, req: ControlRequest): Promise<unknown> {
  return READ_ONLY_OPS.has(req.op) ? dispatch(p, req) : p.queue.run(req.op, () => dispatch(p, req));
}

export async function dispatch(p: ControlParts, req: ControlRequest): Promise<unknown> {
  switch (req.op) {
    case 'ping':
      return { pong: true };
    case 'status': {
      if (req.stan !== undefined) return p.engine.status({ stan: stanField(req) });
      if (req.rrn !== undefined) return p.engine.status({ rrn: strField(req, 'rrn', /^[0-9A-Za-z]{12}$/) });
      if (req.requestId !== undefined) return p.engine.status({ requestId: requestIdOf(req).requestId! });
      if (req.last === true) return p.engine.status({ last: true });
      const s = p.journal.state;
      return {
        ...p.engine.health(),
        supervisor: p.supervisor.status(),
        settlement: s.settlementRun ? { batch: s.settlementRun.batch, step: s.settlementRun.step } : null,
        lastSettlement: s.lastSettlement,
        devices: p.devices.health(),
        terminalId: p.config.terminalId,
        acquirerLink: p.linkWatch.health(),
        busy: busy(p),
        journal: p.journal.diskUsage(),
      };
    }
    case 'health': {
      const h = p.engine.health();
      return { journal: h.journalFailure === null ? 'ok' : 'failed', journalFailure: h.journalFailure, signedOn: h.signedOn, acquirerLink: p.linkWatch.health(), stuckReversals: h.stuckReversals, rollback: h.rollback, devices: p.devices.health(), busy: busy(p) };
    }
    case 'sale': {
      const amount = intField(req, 'amount', 1, MAX_AMOUNT);
      const id = requestIdOf(req);
      refuseDuringSettlement(p, id);
      const r = await p.engine.sale(amount, { cardTimeoutMs: p.config.timeouts.cardMs, ...id });
      p.log.event('sale', txnLogFields(r));
      return r;
    }
    case 'preauth': {
      const amount = intField(req, 'amount', 1, MAX_AMOUNT);
      const id = requestIdOf(req);
      refuseDuringSettlement(p, id);
      const r = await p.engine.preauth(amount, { cardTimeoutMs: p.config.timeouts.cardMs, ...id });
      p.log.event('preauth', txnLogFields(r));
      return r;
    }
    case 'completion': {
      // 预授权完成: no card and no password, as at the till; the engine checks the amount against the hold.
      const q = { stan: stanField(req), ...batchOf(req), amount: intField(req, 'amount', 1, MAX_AMOUNT), ...requestIdOf(req) };
      refuseDuringSettlement(p, q);
      const r = await p.engine.completion(q);
      p.log.event('completion', txnLogFields(r));
      return r;
    }
    case 'preauth-void': {
      // 预授权撤销 releases the hold: a supervisor's decision, as for a void.
      const q = { stan: stanField(req), ...batchOf(req), password: strField(req, 'password'), ...requestIdOf(req) };
      refuseDuringSettlement(p, q);
      const r = await p.engine.preauthVoid(q);
      p.log.event('preauth-void', txnLogFields(r));
      return r;
    }
    case 'balance': {
      // 查询余额 moves no money and is not in the batch's totals: a half-done settlement does not block it.
      const r = await p.engine.balance({ cardTimeoutMs: p.config.timeouts.cardMs, ...requestIdOf(req) });
      p.log.event('balance', txnLogFields(r));
      return r;
    }
    case 'void': {
      const stan = stanField(req);
      const password = strField(req, 'password');
      const id = requestIdOf(req);
      refuseDuringSettlement(p, id);
      const r = await p.engine.void({ stan, password, ...id });
      p.log.event('void', txnLogFields(r));
      return r;
    }
    case 'refund': {
      const q = { rrn: strField(req, 'rrn', /^[0-9A-Za-z]{12}$/), date: strField(req, 'date', /^(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/), amount: intField(req, 'amount', 1, MAX_AMOUNT), password: strField(req, 'password'), ...requestIdOf(req) };
      refuseDuringSettlement(p, q);
      const r = await p.engine.refund(q);
      p.log.event('refund', txnLogFields(r));
      return r;
    }
    case 'settle': {
      // Owed reversals change the acquirer's totals: send them first. Settlement messages carry a MAC, so a
      // terminal that lost its keys (booted with the acquirer down) signs on first, as a sale would.
      await p.engine.sendReversals();
      if (!p.engine.health().signedOn) await p.engine.signOn();
      const r = await p.settlement.settle();
      p.log.event('settled', { batch: r.batch, balanced: r.balanced, uploaded: r.uploaded, nextBatch: r.nextBatch });
      const receipt = settlementReceipt(r.report, merchantOf(p), localTime(p.clock.now()));
      const slip = await p.slips.printNew(r.batch);
      return { ...r, receipt, slip };
    }
    case 'reversals':
      return p.engine.reversals();
    case 'send-reversals': {
      // A round now, besides the background ones: the cashier's 冲正 key, or before closing the shop.
      const r = await p.engine.sendReversals();
      p.log.event('reversals-sent', { cleared: r.cleared.join(','), stuck: r.stuck.join(','), owed: r.owed.join(',') });
      return r;
    }
    case 'reprint': {
      if (req.settlement === true) {
        // The last settlement's slip, rebuilt from the journal; a reprint is always marked duplicate.
        const slip = await p.slips.reprint();
        if (!slip) return { kind: 'not-found', detail: 'no batch has been settled yet' };
        return slip.printed ? { kind: 'printed', batch: slip.batch, duplicate: true } : { kind: 'not-printed', batch: slip.batch, reason: `${slip.reason}: ${slip.detail}` };
      }
      return p.engine.reprint(req.stan === undefined ? { last: true } : { stan: stanField(req) });
    }
    case 'sign-on':
      return { signedOn: await p.engine.signOn() };
    case 'supervisor-set': {
      const password = strField(req, 'password');
      const current = req.current === undefined ? undefined : strField(req, 'current');
      await p.supervisor.setPassword(password, current);
      p.log.event('supervisor-password-set');
      return { set: true };
    }
    case 'close-reversal': {
      const r = await p.engine.closeReversal({ stan: stanField(req), password: strField(req, 'password'), reason: strField(req, 'reason') });
      p.log.event('reversal-close', { ...r });
      return r;
    }
    case 'acknowledge-rollback': {
      const r = await p.engine.acknowledgeRollback({ password: strField(req, 'password'), reason: strField(req, 'reason') });
      p.log.event('rollback-acknowledge', { ...r });
      return r;
    }
    default:
      throw new ControlRequestError('UNKNOWN_OP', `unknown op "${req.op}" (known: ${CONTROL_OPS.join(', ')})`);
  }
}

/** A transaction result for the log: amounts in yuan ("12.50 CNY"), as the CLI and the slips speak. */
function txnLogFields(r: object): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(r)) {
    if ((k === 'amount' || k === 'balance') && typeof v === 'number') out[k] = `${formatMinor(v)} CNY`;
    else if (v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v)) out[k] = v as LogFields[string];
  }
  return out;
}

function merchantOf(p: ControlParts) {
  return { name: p.config.merchantName, merchantId: p.config.merchantId, terminalId: p.config.terminalId };
}

/** The money operation running now (and how many wait behind it), or null. */
function busy(p: ControlParts): { op: string; forMs: number; waiting: number } | null {
  const c = p.queue.current;
  return c ? { op: c.op, forMs: p.clock.now() - c.since, waiting: p.queue.waitingCount } : null;
}
