// Reads a journal directory for evidence (the whole history, checked like `posj journal verify`) and
// renders the transactions a query picks; with the terminal's merchant name and IDs, the receipts as printed. Used by `posj journal export` and by the service port.
import * as fs from 'node:fs';
import type { Storage } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { defaultKeyPath, readDeviceKey } from '../journal/device-key.js';
import { INTERNAL_TYPES } from '../journal/internal-types.js';
import { RecordTypes } from '../journal/record-types.js';
import type { JournalRecord } from '../journal/state-machine.js';
import { verifyJournal, type VerifyReport } from '../journal/verify.js';
import { TerminalRecord } from '../txn/records.js';
import { buildEvidence, renderPrintedCopies, selectEvidence, type EvidenceQuery, type TxnEvidence } from './evidence.js';
import { toCsv, toHtml, toNdjson, type EvidenceFormat, type HtmlContext } from './evidence-format.js';

export interface EvidenceExport {
  text: string;
  transactions: TxnEvidence[];
  verify: VerifyReport;
}

export function journalCheckLine(v: VerifyReport): string {
  if (v.corrupt) return `CORRUPT at ${v.corrupt.segment} offset ${v.corrupt.offset}: ${v.corrupt.reason}`;
  if (v.tampered) return `TAMPERED at seq ${v.tampered.seq}: ${v.tampered.reason}`;
  return `${v.records} records, checksums ok${v.chainChecked ? ', MAC chain verified under the device key' : ' (MAC chain not checked: no device key)'}`;
}

export function exportEvidence(o: { dir: string; query: EvidenceQuery; format: EvidenceFormat; keyFile?: string; storage?: Storage; now: Date; merchant?: Omit<HtmlContext, 'exportedAt' | 'journalCheck'> }): EvidenceExport {
  const keyFile = o.keyFile ?? defaultKeyPath(o.dir);
  const records: JournalRecord[] = [];
  const verify = verifyJournal(o.dir, {
    storage: o.storage ?? nodeStorage,
    deviceKey: fs.existsSync(keyFile) ? readDeviceKey(keyFile) : null,
    types: new RecordTypes([...INTERNAL_TYPES, ...Object.values(TerminalRecord)]),
    onRecord: (r) => {
      try {
        records.push({ seq: r.seq, type: r.type, payload: JSON.parse(r.payload.toString('utf8')) });
      } catch {
        // a payload that is not JSON is no terminal record: nothing to export from it
      }
    },
  });
  const transactions = selectEvidence(buildEvidence(records), o.query);
  const m = o.merchant;
  if (m?.merchantName && m.merchantId && m.terminalId) renderPrintedCopies(transactions, { name: m.merchantName, merchantId: m.merchantId, terminalId: m.terminalId });
  const journalCheck = journalCheckLine(verify);
  const text = o.format === 'ndjson' ? toNdjson(transactions, journalCheck) : o.format === 'csv' ? toCsv(transactions, journalCheck) : toHtml(transactions, { ...o.merchant, exportedAt: o.now.toISOString(), journalCheck });
  return { text, transactions, verify };
}
