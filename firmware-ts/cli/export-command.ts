// `posj journal export DIR --stan N [--batch B] | --rrn R | --from T --to T --format ndjson|csv|html`:
// dispute evidence (交易凭证) from the journal, with each receipt as printed when the merchant identity is given. Exit 0 with at least one transaction, 1 when none matches,
// 3 when the journal is corrupt or tampered (the export is still written, and each transaction's journalCheck says so), 2 usage.
import * as fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { systemClock } from '../../protocol/io/clock.js';
import { loadConfig } from '../daemon/config.js';
import { noneFound, queryOf } from '../evidence/evidence.js';
import { exportEvidence } from '../evidence/evidence-export.js';
import type { EvidenceFormat } from '../evidence/evidence-format.js';
import { action, ExitCode } from './exit-codes.js';
import { positiveInt } from './journal-commands.js';

interface ExportOptions {
  stan?: number;
  batch?: number;
  rrn?: string;
  from?: string;
  to?: string;
  format: EvidenceFormat;
  out?: string;
  keyFile?: string;
  config?: string;
  terminalId?: string;
  merchantName?: string;
  merchantId?: string;
}

const isoTime = (v: string) => {
  if (Number.isNaN(Date.parse(v))) throw new InvalidArgumentError('an ISO time, e.g. 2026-12-01T09:00:00Z');
  return v;
};

export function registerExportCommand(journal: Command): void {
  journal
    .command('export')
    .description('dispute evidence (交易凭证) for a transaction: times, STAN, RRN, masked card, amount, every message and reversal attempt, receipts printed')
    .argument('<dir>', 'journal directory')
    .option('--stan <n>', 'by STAN (add --batch when the STAN repeats across batches)', positiveInt)
    .option('--batch <n>', 'with --stan: the batch', positiveInt)
    .option('--rrn <rrn>', 'by retrieval reference number')
    .option('--from <time>', 'requested at or after (ISO time)', isoTime)
    .option('--to <time>', 'requested at or before (ISO time)', isoTime)
    .option('--format <f>', 'ndjson, csv or html (a printable 交易凭证 in Chinese and English)', (v: string) => {
      if (v !== 'ndjson' && v !== 'csv' && v !== 'html') throw new InvalidArgumentError('ndjson, csv or html');
      return v;
    }, 'ndjson')
    .option('--out <file>', 'write here instead of stdout')
    .option('--key-file <path>', 'device key file (default <dir>.key): checks the MAC chain of what is exported')
    .option('--config <file>', "the terminal's config: its merchant name and IDs head the export and re-render each receipt as printed")
    .option('--terminal-id <id>', 'terminal ID (field 41), instead of or over --config')
    .option('--merchant-name <name>', 'merchant name as printed, instead of or over --config')
    .option('--merchant-id <id>', 'merchant ID (field 42), instead of or over --config')
    .action(
      action(async (dir: string, o: ExportOptions) => {
        if (!fs.existsSync(dir)) throw Object.assign(new Error(`no journal directory ${dir}`), { code: 'USAGE' });
        const c = o.config ? loadConfig(o.config) : undefined;
        const merchant = { ...(c ? { terminalId: c.terminalId, merchantName: c.merchantName, merchantId: c.merchantId } : {}), ...(o.terminalId ? { terminalId: o.terminalId } : {}), ...(o.merchantName ? { merchantName: o.merchantName } : {}), ...(o.merchantId ? { merchantId: o.merchantId } : {}) };
        const query = queryOf(o);
        const r = exportEvidence({ dir, query, format: o.format, ...(o.keyFile ? { keyFile: o.keyFile } : {}), now: new Date(systemClock.now()), merchant });
        if (o.out) fs.writeFileSync(o.out, r.text);
        else process.stdout.write(r.text);
        if (r.verify.corrupt || r.verify.tampered) {
          process.stderr.write(`posj journal export: the journal is ${r.verify.corrupt ? 'corrupt' : 'tampered with'}; every exported transaction says so (journalCheck)\n`);
          return ExitCode.corrupt;
        }
        if (r.transactions.length) return ExitCode.ok;
        process.stderr.write(`posj journal export: ${noneFound(query)}\n`);
        return ExitCode.failed;
      }),
    );
}
