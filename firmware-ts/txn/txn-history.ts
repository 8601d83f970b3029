// Reads the journal's records back, for what the fold deliberately does not keep (it must fit in one
// checkpoint even for a batch of thousands of sales): each transaction's intent with its reversal image,
// how it ended, and whether its receipt printed. Status, reprint, void and the reversal sender ask here.
import type { Storage } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { readRecordsFrom, type ReadableJournal } from '../journal/record-reader.js';
import { RecordTypes } from '../journal/record-types.js';
import type { JournalRecord } from '../journal/state-machine.js';
import {
  TerminalRecord,
  type AuthIntent,
  type AuthOutcome,
  type ReversalCleared,
  type ReversalAttempt,
  type ReversalClosed,
  type ReversalNotSent,
  type ReversalRequired,
  type ReversalStuck,
  type ReceiptPrinted,
} from './records.js';

export interface TxnView {
  /** Seq of the intent record. */
  seq: number;
  intent: AuthIntent;
  outcome?: AuthOutcome;
  reversal?: {
    reason: ReversalRequired['reason'];
    state: 'owed' | 'stuck' | 'cleared' | 'closed';
    /** Sends that left the terminal (0400 and 0401 repeats). */
    attempts: number;
    /** The 0410's response code, once cleared. */
    responseCode?: string;
    /** The supervisor's recorded reason, once closed. */
    closedReason?: string;
  };
  printed: boolean;
  /** STAN of an approved void / pre-auth void / completion (not reversed) that used this transaction up. */
  consumedBy?: number;
}

/** Every terminal record still in the journal's segments, in order (the journal's own records left out). */
export function readTerminalRecords(journal: ReadableJournal, storage: Storage = nodeStorage): JournalRecord[] {
  const names = new Set<string>(Object.values(TerminalRecord).map((t) => t.name));
  const types = new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]);
  const records: JournalRecord[] = [];
  for (const r of readRecordsFrom({ journal, storage, types }, 1)) if (names.has(r.type)) records.push(r);
  return records;
}

/** One view per authorization, keyed by batch and STAN, in journal order. */
export function txnViews(records: readonly JournalRecord[]): Map<string, TxnView> {
  const views = new Map<string, TxnView>();
  // STAN → key of its newest intent: later records name only the STAN.
  const byStan = new Map<number, TxnView>();
  for (const r of records) {
    switch (r.type) {
      case TerminalRecord.authIntent.name: {
        const intent = r.payload as AuthIntent;
        const v: TxnView = { seq: r.seq, intent, printed: false };
        views.set(txnKey(intent.batch, intent.stan), v);
        byStan.set(intent.stan, v);
        break;
      }
      case TerminalRecord.authOutcome.name: {
        const p = r.payload as AuthOutcome;
        const v = byStan.get(p.stan);
        // As in the fold: an outcome after a reversal was raised never turns it back into a sale.
        if (!v || v.outcome || v.reversal) break;
        v.outcome = p;
        if (p.result === 'approved') consume(byStan, v, true);
        break;
      }
      case TerminalRecord.reversalRequired.name: {
        const p = r.payload as ReversalRequired;
        const v = byStan.get(p.stan);
        if (!v || v.reversal) break;
        v.reversal = { reason: p.reason, state: 'owed', attempts: 0 };
        if (v.outcome?.result === 'approved') consume(byStan, v, false);
        break;
      }
      case TerminalRecord.reversalAttempt.name: {
        const v = byStan.get((r.payload as ReversalAttempt).stan);
        if (v?.reversal) v.reversal.attempts++;
        break;
      }
      case TerminalRecord.reversalNotSent.name: {
        const v = byStan.get((r.payload as ReversalNotSent).stan);
        if (v?.reversal && v.reversal.attempts > 0) v.reversal.attempts--;
        break;
      }
      case TerminalRecord.reversalStuck.name: {
        const v = byStan.get((r.payload as ReversalStuck).stan);
        if (v?.reversal?.state === 'owed') v.reversal.state = 'stuck';
        break;
      }
      case TerminalRecord.reversalCleared.name: {
        const p = r.payload as ReversalCleared;
        const v = byStan.get(p.stan);
        if (v?.reversal && (v.reversal.state === 'owed' || v.reversal.state === 'stuck')) v.reversal = { ...v.reversal, state: 'cleared', responseCode: p.responseCode };
        break;
      }
      case TerminalRecord.reversalClosed.name: {
        const p = r.payload as ReversalClosed;
        const v = byStan.get(p.stan);
        if (v?.reversal && (v.reversal.state === 'owed' || v.reversal.state === 'stuck')) v.reversal = { ...v.reversal, state: 'closed', closedReason: p.reason };
        break;
      }
      case TerminalRecord.receiptPrinted.name: {
        const v = byStan.get((r.payload as ReceiptPrinted).stan);
        if (v) v.printed = true;
        break;
      }
    }
  }
  return views;
}

export const txnKey = (batch: number, stan: number) => `${batch}|${stan}`;

/** The transaction a client's request id started, if any (the newest, should a key ever be reused). */
export function viewByRequestId(views: Map<string, TxnView>, requestId: string): TxnView | undefined {
  let found: TxnView | undefined;
  for (const v of views.values()) if (v.intent.requestId === requestId) found = v;
  return found;
}

/** A void, pre-auth void or completion uses up its original while it stands; its reversal gives it back. */
function consume(byStan: Map<number, TxnView>, v: TxnView, on: boolean): void {
  const kind = v.intent.kind;
  const originalStan = v.intent.original?.stan;
  if (originalStan === undefined || !(kind === 'void' || kind === 'preauth-void' || kind === 'preauth-completion')) return;
  const original = byStan.get(originalStan);
  if (!original) return;
  if (on) original.consumedBy = v.intent.stan;
  else if (original.consumedBy === v.intent.stan) delete original.consumedBy;
}
