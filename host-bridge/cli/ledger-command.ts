// `posj-bridge ledger FILE [--json]`: the acquirer simulator's net position per card and per terminal.
import type { Command } from 'commander';
import { action } from '../../firmware-ts/cli/exit-codes.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { formatLedgerReport, ledgerReport, readLedgerFile } from '../acquirer/index.js';

export function registerLedgerCommand(program: Command): void {
  program
    .command('ledger')
    .description("print the acquirer simulator ledger's net position per card (masked PAN) and per terminal")
    .argument('<file>', 'ledger file written by `posj-bridge acquirer --ledger`')
    .option('--json', 'machine-readable output')
    .action(
      action((file: string, opts: { json?: boolean }) => {
        if (!nodeStorage.exists(file)) throw new Error(`no ledger at ${file}`);
        const report = ledgerReport(readLedgerFile(nodeStorage, file));
        process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : formatLedgerReport(report));
      }),
    );
}
