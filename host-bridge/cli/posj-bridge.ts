#!/usr/bin/env node
import { Command } from 'commander';
import { withUsageExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { registerAcquirerCommand } from './acquirer-command.js';
import { registerBenchSerialCommand } from './bench-serial-command.js';
import { registerBundleCommand } from './bundle-command.js';
import { registerJournalPullCommand } from './journal-pull-command.js';
import { registerFlashCommand, registerHelloCommand } from './flash-command.js';
import { registerRebootCommand } from './reboot-command.js';
import { registerBenchFlashCommand } from './bench-flash-command.js';
import { registerBenchRunCommand } from './bench-run-command.js';
import { registerLedgerCommand } from './ledger-command.js';
import { registerSimReaderCommand } from './sim-reader-command.js';
import { registerSimPrinterCommand } from './sim-printer-command.js';

const program = withUsageExitCode(
  new Command('posj-bridge')
    .description('pos-journal bench bridge: acquirer and device simulators, firmware bundle and flashing over the service port, bench figures')
    .version('0.1.0'),
);
registerAcquirerCommand(program);
registerLedgerCommand(program);
registerSimReaderCommand(program);
registerSimPrinterCommand(program);
registerBenchSerialCommand(program);
registerBundleCommand(program);
registerJournalPullCommand(program);
registerFlashCommand(program);
registerHelloCommand(program);
registerRebootCommand(program);
const bench = program.command('bench').description('bench runs and figures: scenarios against a terminal, flash figures');
registerBenchRunCommand(bench);
registerBenchFlashCommand(bench);

await program.parseAsync(process.argv);
