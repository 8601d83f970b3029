#!/usr/bin/env node
import { Command } from 'commander';
import { withUsageExitCode } from './exit-codes.js';
import { registerJournalCommands } from './journal-commands.js';
import { registerBenchCommands } from './bench-commands.js';
import { registerDemoCommand } from './demo-command.js';
import { registerTerminalCommands } from './terminal-commands.js';
import { registerSimCommand } from './sim-command.js';

const program = withUsageExitCode(
  new Command('posj')
    .description('pos-journal terminal CLI: the crash-safe journal of in-flight authorizations and reversals')
    .version('0.1.0'),
);
registerDemoCommand(program);
registerTerminalCommands(program);
registerJournalCommands(program);
registerBenchCommands(program);
registerSimCommand(program);

await program.parseAsync(process.argv);
